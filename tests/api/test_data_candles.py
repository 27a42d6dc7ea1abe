"""GET /api/data/candles over a database the project's own store filled with real BTC candles (Bitfinex 1h):
the endpoint must hand back exactly the stored OHLCV rows, oldest first, cut by limit and end_ms."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.fake_client import FakeSystemClient
from radar.data.store import CandleStore
from radar.exchange.emulator import load_csv_candles
from radar.models import CandleArrays

SYMBOL = "BTC/USDT:USDT"
# Two disjoint slices of the real file: one stored as the default exchange's series, one as another
# exchange's, so a query that ignored `exchange` would return the wrong prices.
BITGET_ROWS = (12_000, 12_200)
OTHER_ROWS = (15_000, 15_040)


@pytest.fixture(scope="module")
def real_candles(shared_data: Path) -> CandleArrays:
    return load_csv_candles(shared_data / "BTC-USD_1h_bitfinex.csv")


@pytest.fixture(scope="module")
def candle_db(tmp_path_factory: pytest.TempPathFactory, real_candles: CandleArrays) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('candles-db') / 'radar.db'}"
    with CandleStore(url) as store:
        assert store.upsert_candles("bitget", SYMBOL, "1h", real_candles.slice(*BITGET_ROWS)) == 200
        assert store.upsert_candles("bitfinex", SYMBOL, "1h", real_candles.slice(*OTHER_ROWS)) == 40
    return url


@pytest.fixture
def candles_api(make_client: Callable[..., TestClient], fake: FakeSystemClient, candle_db: str) -> TestClient:
    return make_client(fake, database_url=candle_db)


def _expected(candles: CandleArrays, start: int, stop: int) -> list[dict[str, Any]]:
    return [{"time_ms": int(candles.timestamp[i]), "open": float(candles.open[i]), "high": float(candles.high[i]),
             "low": float(candles.low[i]), "close": float(candles.close[i]), "volume": float(candles.volume[i])}
            for i in range(start, stop)]


def test_returns_every_stored_candle_with_its_exact_ohlcv_oldest_first(candles_api: TestClient,
                                                                       real_candles: CandleArrays) -> None:
    r = candles_api.get("/api/data/candles", params={"symbol": SYMBOL, "timeframe": "1h"})

    assert r.status_code == 200
    body = r.json()
    assert (body["exchange"], body["symbol"], body["timeframe"]) == ("bitget", SYMBOL, "1h")
    assert body["candles"] == _expected(real_candles, *BITGET_ROWS)
    # 2018-11-13 11:00 UTC .. 2018-11-21 18:00 UTC: the November 2018 slide from 6285.68 to 4427.45
    assert body["candles"][0]["time_ms"] == 1_542_106_800_000 and body["candles"][0]["close"] == 6285.68
    assert body["candles"][-1]["time_ms"] == 1_542_823_200_000 and body["candles"][-1]["close"] == 4427.45
    assert all(a["time_ms"] < b["time_ms"] for a, b in zip(body["candles"], body["candles"][1:]))


def test_limit_keeps_the_newest_candles(candles_api: TestClient, real_candles: CandleArrays) -> None:
    body = candles_api.get("/api/data/candles", params={"symbol": SYMBOL, "limit": 50}).json()

    assert body["candles"] == _expected(real_candles, 12_150, 12_200)


def test_end_ms_includes_the_candle_opening_at_it_and_limit_counts_back_from_there(
        candles_api: TestClient, real_candles: CandleArrays) -> None:
    end = int(real_candles.timestamp[12_120])

    at_open = candles_api.get("/api/data/candles", params={"symbol": SYMBOL, "end_ms": end, "limit": 30}).json()
    mid_candle = candles_api.get("/api/data/candles",
                                 params={"symbol": SYMBOL, "end_ms": end + 1_800_000, "limit": 30}).json()

    assert at_open["candles"] == _expected(real_candles, 12_091, 12_121)
    assert mid_candle["candles"] == at_open["candles"]  # half an hour in: still that candle, not the next


def test_end_ms_before_the_first_stored_candle_is_an_empty_series(candles_api: TestClient,
                                                                  real_candles: CandleArrays) -> None:
    end = int(real_candles.timestamp[12_000]) - 1

    body = candles_api.get("/api/data/candles", params={"symbol": SYMBOL, "end_ms": end}).json()

    assert body == {"exchange": "bitget", "symbol": SYMBOL, "timeframe": "1h", "candles": []}


def test_exchange_timeframe_and_symbol_select_the_series(candles_api: TestClient, real_candles: CandleArrays) -> None:
    other = candles_api.get("/api/data/candles", params={"symbol": SYMBOL, "exchange": "bitfinex"}).json()
    four_hour = candles_api.get("/api/data/candles", params={"symbol": SYMBOL, "timeframe": "4h"}).json()
    eth = candles_api.get("/api/data/candles", params={"symbol": "ETH/USDT:USDT"}).json()

    assert other["exchange"] == "bitfinex" and other["candles"] == _expected(real_candles, *OTHER_ROWS)
    assert four_hour["timeframe"] == "4h" and four_hour["candles"] == []
    assert eth["symbol"] == "ETH/USDT:USDT" and eth["candles"] == []


@pytest.mark.parametrize(("params", "parameter"), [
    ({"symbol": SYMBOL, "limit": 0}, "limit"),
    ({"symbol": SYMBOL, "limit": 5001}, "limit"),
    ({"symbol": SYMBOL, "limit": "many"}, "limit"),
    ({"symbol": "btc/usdt"}, "symbol"),
    ({"symbol": "BTCUSDT"}, "symbol"),
    ({}, "symbol"),
    ({"symbol": SYMBOL, "timeframe": "2h"}, "timeframe"),
    ({"symbol": SYMBOL, "exchange": "Bitget!"}, "exchange"),
    ({"symbol": SYMBOL, "end_ms": -1}, "end_ms"),
])
def test_bad_query_parameters_are_422_naming_the_parameter(candles_api: TestClient, params: dict[str, Any],
                                                          parameter: str) -> None:
    r = candles_api.get("/api/data/candles", params=params)

    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", parameter]


def test_the_largest_limit_is_accepted(candles_api: TestClient) -> None:
    body = candles_api.get("/api/data/candles", params={"symbol": SYMBOL, "limit": 5000}).json()

    assert len(body["candles"]) == 200


def test_without_a_database_is_503_with_the_reason(make_client: Callable[..., TestClient],
                                                   fake: FakeSystemClient) -> None:
    api = make_client(fake, database_url=None)

    r = api.get("/api/data/candles", params={"symbol": SYMBOL})

    assert r.status_code == 503 and "no database configured" in r.json()["detail"]


def test_reading_needs_no_api_key(make_client: Callable[..., TestClient], fake: FakeSystemClient,
                                  candle_db: str) -> None:
    api = make_client(fake, database_url=candle_db, api_key=None)  # a server with writes disabled still reads

    r = api.get("/api/data/candles", params={"symbol": SYMBOL, "limit": 1})

    assert r.status_code == 200 and len(r.json()["candles"]) == 1
