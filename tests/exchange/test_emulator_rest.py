"""The Bitget emulator speaks enough v2 REST for the unmodified ccxt bitget client."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import ccxt
import numpy as np
import pytest

from radar.errors import DataError
from radar.exchange.bitget import from_bitget_id, make_bitget_client, to_bitget_id
from radar.exchange.emulator import (
    BitgetEmulator, Clock, ContractSpec, EmulatorThread, MarketData, load_csv_candles, synthetic_candles,
)

H = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
N = 3000
SYMBOL = "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def candles():
    return synthetic_candles(N, T0, "1h", seed=11)


def _market(candles) -> MarketData:
    spec = ContractSpec(base="BTC", funding_rate=0.00012, open_interest=5432.1)
    return MarketData().add("BTCUSDT", "1h", candles, spec).add("ETHUSDT", "1h", synthetic_candles(10, T0, seed=3, start_price=2000.0))


@pytest.fixture()
def emulator(candles):
    emu = BitgetEmulator(_market(candles), Clock.fixed(T0 + N * H))  # every candle has closed
    with EmulatorThread(emu) as url:
        yield emu, url


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _post(url: str, body: dict) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status


def test_symbol_conversion_round_trips_and_rejects_non_usdt_swaps():
    assert to_bitget_id("BTC/USDT:USDT") == "BTCUSDT"
    assert from_bitget_id("DOGEUSDT") == "DOGE/USDT:USDT"
    with pytest.raises(DataError, match="BTC/USD"):
        to_bitget_id("BTC/USD")
    with pytest.raises(DataError, match="ETHBTC"):
        from_bitget_id("ETHBTC")


def test_client_points_every_api_family_at_the_base_url():
    client = make_bitget_client("http://127.0.0.1:9/")
    assert client.urls["api"] and set(client.urls["api"].values()) == {"http://127.0.0.1:9"}
    assert make_bitget_client().urls["api"]["mix"].startswith("https://api.")


def test_unmodified_ccxt_load_markets_finds_the_usdt_swap(emulator):
    emu, url = emulator
    client = make_bitget_client(url)

    markets = client.load_markets()

    assert sorted(markets) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    btc = markets[SYMBOL]
    assert (btc["id"], btc["type"], btc["linear"], btc["settle"]) == ("BTCUSDT", "swap", True, "USDT")
    assert btc["limits"]["leverage"]["max"] == 125
    assert client.fetch_time() == T0 + N * H


def test_fetch_ohlcv_returns_the_served_candles_exactly(emulator, candles):
    emu, url = emulator
    client = make_bitget_client(url)
    since = T0 + 500 * H

    # 200 = the history endpoint's cap, which ccxt uses for data this old.
    rows = client.fetch_ohlcv(SYMBOL, "1h", since=since, limit=200, params={"until": since + 200 * H - 1})

    expected = candles.slice(500, 700)
    got = np.array(rows, dtype=np.float64)
    assert got.shape == (200, 6)
    np.testing.assert_array_equal(got[:, 0].astype(np.int64), expected.timestamp)
    for col, arr in enumerate((expected.open, expected.high, expected.low, expected.close, expected.volume), start=1):
        np.testing.assert_array_equal(got[:, col], arr)
    request = emu.candle_requests()[-1]
    assert request.path == "/api/v2/mix/market/history-candles"
    assert request.params["granularity"] == "1H" and request.params["productType"] == "USDT-FUTURES"


def test_async_ccxt_client_loads_markets_and_candles(emulator, candles):
    emu, url = emulator

    async def run():
        client = make_bitget_client(url, async_=True)
        try:
            markets = await client.load_markets()
            rows = await client.fetch_ohlcv(SYMBOL, "1h", limit=5)
        finally:
            await client.close()
        return markets, rows

    markets, rows = asyncio.run(run())

    assert SYMBOL in markets
    assert [r[0] for r in rows] == candles.timestamp[-5:].tolist()


def test_clock_hides_candles_that_have_not_closed(candles):
    clock = Clock.fixed(T0 + 1500 * H + 30 * 60_000)  # half way through candle #1500
    emu = BitgetEmulator(_market(candles), clock)
    with EmulatorThread(emu) as url:
        client = make_bitget_client(url)
        newest = client.fetch_ohlcv(SYMBOL, "1h", limit=3)
        clock.advance(H)
        after_an_hour = client.fetch_ohlcv(SYMBOL, "1h", limit=3)

    assert [r[0] for r in newest] == [T0 + 1497 * H, T0 + 1498 * H, T0 + 1499 * H]
    assert after_an_hour[-1][0] == T0 + 1500 * H


def test_unknown_symbol_gets_bitget_error_envelope(emulator):
    emu, url = emulator

    status, body = _get(f"{url}/api/v2/mix/market/candles?symbol=NOPEUSDT&productType=USDT-FUTURES&granularity=1H")

    assert status == 400
    assert body["code"] == "40034" and "NOPEUSDT" in body["msg"] and body["data"] is None
    assert body["requestTime"] == T0 + N * H


def test_history_candles_reject_limit_above_200_like_bitget(emulator):
    emu, url = emulator

    status, body = _get(f"{url}/api/v2/mix/market/history-candles?symbol=BTCUSDT&productType=USDT-FUTURES"
                        f"&granularity=1H&limit=201")

    assert status == 400 and body["code"] == "40017" and "200" in body["msg"]


def test_candles_window_is_filled_from_its_end(emulator, candles):
    emu, url = emulator
    start, end = T0 + 10 * H, T0 + 19 * H  # 10 open times, inclusive bounds

    status, body = _get(f"{url}/api/v2/mix/market/candles?symbol=BTCUSDT&productType=USDT-FUTURES&granularity=1H"
                        f"&startTime={start}&endTime={end}&limit=4")

    assert status == 200 and body["code"] == "00000" and body["msg"] == "success"
    assert [int(r[0]) for r in body["data"]] == [T0 + 16 * H, T0 + 17 * H, T0 + 18 * H, T0 + 19 * H]
    row = body["data"][0]
    assert len(row) == 7 and all(isinstance(x, str) for x in row)
    assert float(row[6]) == pytest.approx(candles.volume[16] * candles.close[16])


def test_rate_limit_fault_set_over_http_answers_429_then_recovers(emulator):
    emu, url = emulator
    client = make_bitget_client(url)
    client.load_markets()

    assert _post(f"{url}/_emulator/faults", {"rate_limit": 1, "match": "candles"}) == 200
    with pytest.raises(ccxt.DDoSProtection):
        client.fetch_ohlcv(SYMBOL, "1h", limit=2)
    rows = client.fetch_ohlcv(SYMBOL, "1h", limit=2)

    assert len(rows) == 2
    statuses = [r.status for r in emu.candle_requests()]
    assert statuses == [429, 200]
    status, body = _get(f"{url}/api/v2/public/time")  # unmatched paths were never limited
    assert status == 200


def test_429_body_uses_bitget_format(emulator):
    emu, url = emulator
    emu.faults.rate_limit(1)

    status, body = _get(f"{url}/api/v2/public/time")

    assert status == 429 and body["code"] == "429" and body["data"] is None


def test_server_error_and_dropped_connection_surface_as_ccxt_network_errors(emulator):
    emu, url = emulator
    client = make_bitget_client(url)
    client.load_markets()
    emu.faults.server_error(1, status=503, match="candles")

    with pytest.raises(ccxt.ExchangeNotAvailable):
        client.fetch_ohlcv(SYMBOL, "1h", limit=2)
    assert len(client.fetch_ohlcv(SYMBOL, "1h", limit=2)) == 2  # one served candle request
    emu.faults.die_after_candle_requests(1)
    with pytest.raises(ccxt.NetworkError):
        client.fetch_ohlcv(SYMBOL, "1h", limit=2)
    assert [r.fault for r in emu.requests][-1] == "die"


def test_stall_fault_delays_the_answer(emulator):
    emu, url = emulator
    emu.faults.stall(1, seconds=0.4)

    t = time.monotonic()
    status, _ = _get(f"{url}/api/v2/public/time")
    stalled = time.monotonic() - t
    t = time.monotonic()
    _get(f"{url}/api/v2/public/time")
    normal = time.monotonic() - t

    assert status == 200 and stalled >= 0.4 and normal < 0.4


def test_ticker_funding_and_open_interest_parse_in_ccxt(emulator, candles):
    emu, url = emulator
    client = make_bitget_client(url)

    ticker = client.fetch_ticker(SYMBOL)
    funding = client.fetch_funding_rate(SYMBOL)
    oi = client.fetch_open_interest(SYMBOL)
    tickers = client.fetch_tickers()

    assert ticker["last"] == float(candles.close[-1])
    assert funding["fundingRate"] == 0.00012
    assert funding["fundingTimestamp"] == T0 + N * H + 8 * H - (T0 + N * H) % (8 * H)
    assert oi["openInterestAmount"] == 5432.1
    assert sorted(tickers) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def test_csv_loader_reads_candles_and_names_bad_row(tmp_path: Path):
    good = tmp_path / "BTCUSDT_1h.csv"
    good.write_text("timestamp,open,high,low,close,volume\n1000,1,2,0.5,1.5,10\n3601000,1.5,2,1,1.2,3\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,open,high,low,close,volume\n1000,1,2,0.5,1.5,10\n2000,x,2,1,1,1\n")

    arrays = load_csv_candles(good)

    assert arrays.timestamp.tolist() == [1000, 3601000] and arrays.close.tolist() == [1.5, 1.2]
    with pytest.raises(DataError, match=r"bad.csv: row 3"):
        load_csv_candles(bad)


def test_synthetic_candles_are_deterministic_and_valid():
    a, b = synthetic_candles(500, T0, seed=5), synthetic_candles(500, T0, seed=5)

    np.testing.assert_array_equal(a.close, b.close)
    assert np.all(a.low <= np.minimum(a.open, a.close)) and np.all(a.high >= np.maximum(a.open, a.close))
    assert np.all(np.diff(a.timestamp) == H) and np.all(a.volume > 0)
