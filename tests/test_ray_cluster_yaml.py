"""ray_cluster.yaml is a valid cluster-launcher config, checked with Ray's own validation."""
from __future__ import annotations

import copy

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

from tests.conftest import REPO_ROOT


def _docs() -> list[dict]:
    return list(yaml.safe_load_all((REPO_ROOT / "ray_cluster.yaml").read_text()))


def test_both_documents_are_present():
    assert [d["provider"]["type"] for d in _docs()] == ["local", "aws"]


@pytest.mark.parametrize("index", [0, 1], ids=["on-premise", "aws"])
def test_cluster_config_passes_ray_validation(index):
    doc = _docs()[index]
    prepared = prepare_config(copy.deepcopy(doc))
    validate_config(prepared)  # raises on any schema error
    assert prepared["cluster_name"].startswith("scalp-radar")
    assert all(isinstance(c, str) for c in prepared["head_start_ray_commands"])


def test_on_premise_head_carries_the_head_resource_for_file_writers():
    head_cmd = " ".join(_docs()[0]["head_start_ray_commands"])
    assert '--resources=\'{"head": 1}\'' in head_cmd


def test_validation_catches_a_broken_document():
    broken = copy.deepcopy(_docs()[0])
    broken["head_start_ray_commands"] = [{"not": "a string"}]
    with pytest.raises(Exception):
        validate_config(prepare_config(broken))
