"""API test fixtures: the app over `FakeSystemClient` and a real SQLite database filled by production code
(runners trading real BTC candles -> TradeJournal, run_portfolio -> portfolio_backtests; see api/demo_db.py)."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")  # starlette's own deprecation notice

from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from api.demo_db import DemoDb, seed_demo_db  # noqa: E402
from api.fake_client import FakeSystemClient  # noqa: E402
from api.settings import ApiSettings  # noqa: E402

KEY = "k3y-for-tests-9d1f"
AUTH = {"X-API-Key": KEY}


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> DemoDb:
    path = tmp_path_factory.mktemp("api-db") / "radar.db"
    return seed_demo_db(f"sqlite:///{path}", shared_data / "BTC-USD_1h_bitfinex.csv", candles=2000)


@pytest.fixture
def fake() -> FakeSystemClient:
    return FakeSystemClient(seed=7)


@pytest.fixture
def make_client(demo_db: DemoDb) -> Iterator[Callable[..., TestClient]]:
    """`make_client(fake, **settings)` -> a started TestClient (lifespan run); closed after the test."""
    opened: list[TestClient] = []

    def make(fake: FakeSystemClient | None = None, **overrides: Any) -> TestClient:
        values: dict[str, Any] = {"api_key": KEY, "database_url": demo_db.url, "ws_update_interval_s": 0.2,
                                  "dashboard_dir": Path("/nonexistent")}
        values.update(overrides)
        client = TestClient(create_app(fake or FakeSystemClient(seed=7), ApiSettings(**values)))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture
def api(make_client: Callable[..., TestClient], fake: FakeSystemClient) -> TestClient:
    return make_client(fake)
