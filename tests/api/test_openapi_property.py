"""Property test against the OpenAPI schema (schemathesis): for every operation, requests generated from the
schema — valid ones and ones that break it (negative mode) — sent with the API key. No response may be a
500, and every response must match its documented schema and status codes. (schemathesis' pytest loader
does not run on pytest 9, so each operation's hypothesis strategy is driven here directly.)"""
from __future__ import annotations

import collections

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from tests.api.conftest import AUTH

EXAMPLES = 20  # per operation, positive and negative cases mixed


def _cases(operation):
    modes = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            modes.append(operation.as_strategy(generation_mode=mode))
        except Exception:  # an operation without parameters has no negative cases
            continue
    return st.one_of(modes)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_no_server_error_and_responses_match_the_schema(make_client, fake):
    schema = schemathesis.openapi.from_asgi("/openapi.json", make_client(fake).app)
    statuses: collections.Counter = collections.Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        @given(case=_cases(operation))
        def run(case):
            response = case.call(headers=AUTH)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                                     status_code_conformance])

        run()

    documented = {f"{m.upper()} {p}" for p, ops in schema.raw_schema["paths"].items() for m in ops}
    assert {f"{o.method.upper()} {o.path}" for o in operations} == documented and len(documented) == 36
    assert statuses[500] == 0
    assert statuses[200] > 0 and statuses[422] > 0 and statuses[202] > 0  # valid, invalid and accepted writes ran
