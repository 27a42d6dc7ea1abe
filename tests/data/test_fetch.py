"""fetch_history against the loopback Bitget emulator: pagination, resume, interruption, rate limits."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from radar.data.fetch import fetch_history
from radar.data.store import CandleStore
from radar.errors import DataError
from radar.exchange.bitget import make_bitget_client
from radar.exchange.emulator import BitgetEmulator, Clock, EmulatorThread, MarketData, synthetic_candles

H = 3_600_000
DAY = 24 * H
N = 3000
SYMBOL = "BTC/USDT:USDT"
# The exchange "now": the current hour, so the newest candles are served by Bitget's recent endpoint
# and the oldest (> 59 days back) by its 200-row history endpoint, as ccxt chooses on the real exchange.
NOW = int(time.time() * 1000) // H * H
T0 = NOW - N * H
CANDLES = synthetic_candles(N, T0, "1h", seed=21)
NO_SLEEP = {"sleep": lambda s: None}


def _emulator(candles=CANDLES) -> BitgetEmulator:
    return BitgetEmulator(MarketData().add("BTCUSDT", "1h", candles), Clock.fixed(NOW))


@pytest.fixture()
def store(tmp_path: Path):
    with CandleStore(f"sqlite:///{tmp_path / 'candles.db'}") as s:
        yield s


def _assert_store_equals_source(store: CandleStore, source) -> None:
    got = store.load_candles("bitget", SYMBOL, "1h")
    np.testing.assert_array_equal(got.timestamp, source.timestamp)
    np.testing.assert_array_equal(got.close, source.close)
    np.testing.assert_array_equal(got.volume, source.volume)


def test_fetch_stores_all_3000_candles_in_pages_each_endpoint_can_serve(store):
    emu = _emulator()
    with EmulatorThread(emu) as url:
        result = fetch_history(store, make_bitget_client(url), SYMBOL, "1h", T0, progress=False)

    assert (result.fetched, result.stored, result.retries, result.rejected) == (N, N, 0, {})
    assert store.count("bitget", SYMBOL, "1h") == N
    _assert_store_equals_source(store, CANDLES)
    requests = emu.candle_requests()
    assert result.pages == len(requests)
    assert sum(r.candles_served for r in requests) == N  # no candle was asked for twice
    history = [r for r in requests if r.path.endswith("history-candles")]
    recent = [r for r in requests if r.path.endswith("/candles")]
    assert history and all(int(r.params["limit"]) <= 200 for r in history)
    assert recent and all(int(r.params["limit"]) == 1000 for r in recent)
    assert max(r.candles_served for r in recent) == 1000


def test_recent_history_is_fetched_in_pages_of_1000(store):
    n = 1100  # 46 days of 1h candles: all within the recent endpoint's reach
    candles = synthetic_candles(n, NOW - n * H, "1h", seed=4)
    emu = _emulator(candles)
    with EmulatorThread(emu) as url:
        result = fetch_history(store, make_bitget_client(url), SYMBOL, "1h", NOW - n * H, progress=False)

    assert result.stored == n and result.pages == 2
    assert [r.candles_served for r in emu.candle_requests()] == [1000, 100]
    assert {r.path for r in emu.candle_requests()} == {"/api/v2/mix/market/candles"}


def test_interrupted_fetch_fails_clearly_keeps_its_pages_and_a_rerun_resumes(store):
    dying = _emulator()
    dying.faults.die_after_candle_requests(6)
    with EmulatorThread(dying) as url:
        with pytest.raises(DataError, match=r"giving up .* after 2 retries .*run the fetch again to resume") as err:
            fetch_history(store, make_bitget_client(url, timeout_ms=2000), SYMBOL, "1h", T0,
                          progress=False, max_retries=2, base_delay=0.01)

    served = sum(r.candles_served for r in dying.candle_requests())
    kept = store.count("bitget", SYMBOL, "1h")
    assert 0 < kept == served < N
    assert f"{kept} new candles were stored" in str(err.value)
    assert [r.fault for r in dying.candle_requests()][-3:] == ["die", "die", "die"]  # 1 try + 2 retries
    resume_at = store.last_timestamp("bitget", SYMBOL, "1h") + H

    fresh = _emulator()
    with EmulatorThread(fresh) as url:
        result = fetch_history(store, make_bitget_client(url), SYMBOL, "1h", T0, progress=False)

    first = fresh.candle_requests()[0]
    assert result.resumed_from_ms == resume_at and result.start_ms == resume_at
    assert first.first_ts == resume_at
    # The history endpoint's window starts 1 ms before the first wanted open time, the recent one at it.
    assert resume_at - 1 <= int(first.params["startTime"]) <= resume_at
    assert result.stored == N - kept
    assert store.count("bitget", SYMBOL, "1h") == N
    _assert_store_equals_source(store, CANDLES)  # exactly the source: no duplicate, no hole


def test_rate_limited_pages_are_retried_until_complete(store):
    emu = _emulator()
    emu.faults.rate_limit(2, match="candles")
    sleeps: list[float] = []
    with EmulatorThread(emu) as url:
        result = fetch_history(store, make_bitget_client(url), SYMBOL, "1h", T0, progress=False,
                               base_delay=0.5, sleep=sleeps.append)

    assert result.retries == 2
    assert sleeps == [0.5, 1.0]  # exponential backoff: base * 2**k
    assert result.stored == N and store.count("bitget", SYMBOL, "1h") == N
    assert [r.status for r in emu.candle_requests()][:3] == [429, 429, 200]


def test_gives_up_after_max_retries_of_server_errors(store):
    emu = _emulator()
    emu.faults.server_error(10, status=502, match="candles")
    with EmulatorThread(emu) as url:
        with pytest.raises(DataError, match=r"fetch bitget BTC/USDT:USDT 1h: giving up .* after 3 retries \(ExchangeNotAvailable"):
            fetch_history(store, make_bitget_client(url), SYMBOL, "1h", T0, progress=False, max_retries=3, **NO_SLEEP)

    assert store.count("bitget", SYMBOL, "1h") == 0
    assert len(emu.candle_requests()) == 4


def test_until_bounds_the_download_and_an_up_to_date_store_makes_no_request(store):
    emu = _emulator()
    since, until = NOW - 300 * H, NOW - 50 * H
    with EmulatorThread(emu) as url:
        client = make_bitget_client(url)
        first = fetch_history(store, client, SYMBOL, "1h", since, until, progress=False)
        requests_before = len(emu.candle_requests())
        again = fetch_history(store, client, SYMBOL, "1h", since, until, progress=False)

    assert first.stored == 250
    loaded = store.load_candles("bitget", SYMBOL, "1h")
    assert (int(loaded.timestamp[0]), int(loaded.timestamp[-1])) == (since, until - H)
    assert (again.pages, again.stored, again.resumed_from_ms) == (0, 0, until)
    assert len(emu.candle_requests()) == requests_before


def test_unknown_symbol_is_a_clear_data_error(store):
    with EmulatorThread(_emulator()) as url:
        with pytest.raises(DataError, match="DOGE/USDT:USDT 1h: symbol not listed"):
            fetch_history(store, make_bitget_client(url), "DOGE/USDT:USDT", "1h", T0, progress=False)


def test_invalid_candles_are_counted_and_not_stored(store):
    bad = synthetic_candles(50, NOW - 50 * H, "1h", seed=9)
    high = bad.high.copy()
    high[[3, 7]] = bad.low[[3, 7]] * 0.5  # high below low
    emu = _emulator(type(bad)(bad.timestamp, bad.open, high, bad.low, bad.close, bad.volume))
    with EmulatorThread(emu) as url:
        result = fetch_history(store, make_bitget_client(url), SYMBOL, "1h", NOW - 50 * H, progress=False)

    assert result.fetched == 50 and result.stored == 48
    assert sum(result.rejected.values()) == 2
    assert store.count("bitget", SYMBOL, "1h") == 48


def test_cli_fetch_command_fills_the_store_named_by_database_url(tmp_path: Path, monkeypatch, capsys):
    from radar.cli.main import main

    db = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db}")
    emu = _emulator()
    since = NOW - 120 * H
    with EmulatorThread(emu) as url:
        code = main(["data", "fetch", "--symbols", "BTC/USDT:USDT,DOGE/USDT:USDT", "--timeframe", "1h",
                     "--since", str(since), "--exchange-url", url, "--no-progress"])

    out, err = capsys.readouterr()
    assert code == 2  # DOGE is not listed: reported, BTC still fetched
    assert "BTC/USDT:USDT 1h:" in out and "120 new rows" in out
    assert "DOGE/USDT:USDT 1h: symbol not listed" in err
    with CandleStore(f"sqlite:///{db}") as s:
        assert s.count("bitget", SYMBOL, "1h") == 120
