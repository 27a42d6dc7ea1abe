from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import inspect, text

from radar.data.csv_io import read_candle_csv, read_funding_csv
from radar.data.schema import SCHEMA_VERSION
from radar.data.store import CandleStore, SeriesStatus
from radar.errors import DataError
from radar.models import CandleArrays

H = 3_600_000
EX, SYM, TF = "bitfinex", "BTC/USD", "1h"

SPEC_TABLES = {
    "candles", "funding_rates", "open_interest", "simulation_trades", "position_events", "portfolio_snapshots",
    "optimization_jobs", "optimization_results", "wfo_combo_results", "portfolio_backtests", "live_orders",
}


@pytest.fixture()
def store(tmp_path):
    s = CandleStore(f"sqlite:///{tmp_path}/radar.db")
    yield s
    s.close()


@pytest.fixture(scope="module")
def btc(shared_data) -> CandleArrays:
    candles, _ = read_candle_csv(shared_data / "BTC-USD_1h_bitfinex.csv")
    return candles


def csv_columns(path: Path) -> list[np.ndarray]:
    """The file parsed independently of radar: csv module + Python int/float."""
    with path.open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    ts = np.array([int(r[0]) for r in rows], dtype=np.int64)
    return [ts] + [np.array([float(r[k]) for r in rows], dtype=np.float64) for k in range(1, 6)]


def test_importing_the_btc_file_stores_every_candle_once_even_twice(store, btc):
    first = store.upsert_candles(EX, SYM, TF, btc)
    second = store.upsert_candles(EX, SYM, TF, btc)

    assert first == 17_583
    assert second == 0
    assert store.count(EX, SYM, TF) == 17_583


def test_stored_candles_read_back_bitwise_identical_to_the_csv(store, btc, shared_data):
    expected = csv_columns(shared_data / "BTC-USD_1h_bitfinex.csv")
    store.upsert_candles(EX, SYM, TF, btc)

    loaded = store.load_candles(EX, SYM, TF)

    assert loaded.timestamp.dtype == np.int64 and loaded.close.dtype == np.float64
    assert np.array_equal(loaded.timestamp, expected[0])
    for name, ref in zip(("open", "high", "low", "close", "volume"), expected[1:]):
        assert np.array_equal(getattr(loaded, name).view(np.uint64), ref.view(np.uint64)), name


def test_partial_overlap_inserts_only_the_new_candles(store, btc):
    store.upsert_candles(EX, SYM, TF, btc.slice(0, 100))

    added = store.upsert_candles(EX, SYM, TF, btc.slice(50, 150))

    assert added == 50
    assert store.count(EX, SYM, TF) == 150


def test_load_range_is_start_inclusive_end_exclusive_and_ordered(store, btc):
    store.upsert_candles(EX, SYM, TF, btc.slice(0, 48))
    t0 = int(btc.timestamp[0])

    loaded = store.load_candles(EX, SYM, TF, start_ms=t0 + 10 * H, end_ms=t0 + 20 * H)

    assert loaded.timestamp.tolist() == [t0 + k * H for k in range(10, 20)]
    assert loaded.open.tolist() == btc.open[10:20].tolist()


def test_candles_are_loaded_in_time_order_whatever_the_insert_order(store, btc):
    store.upsert_candles(EX, SYM, TF, btc.slice(100, 200))
    store.upsert_candles(EX, SYM, TF, btc.slice(0, 100))

    loaded = store.load_candles(EX, SYM, TF)

    assert loaded.timestamp.tolist() == btc.timestamp[:200].tolist()


def test_series_are_kept_apart_by_exchange_symbol_and_timeframe(store, btc):
    store.upsert_candles(EX, SYM, TF, btc.slice(0, 10))
    store.upsert_candles(EX, "ETH/USD", TF, btc.slice(0, 4))
    store.upsert_candles("binance", SYM, TF, btc.slice(0, 3))

    assert store.count(EX, SYM, TF) == 10
    assert store.count(EX, "ETH/USD", TF) == 4
    assert store.count("binance", SYM, TF) == 3
    assert store.count(EX, SYM, "4h") == 0


def test_empty_series_gives_empty_arrays_and_no_timestamps(store):
    loaded = store.load_candles(EX, SYM, TF)

    assert len(loaded) == 0 and loaded.timestamp.dtype == np.int64
    assert store.first_timestamp(EX, SYM, TF) is None
    assert store.last_timestamp(EX, SYM, TF) is None
    assert store.upsert_candles(EX, SYM, TF, CandleArrays.empty()) == 0


def test_first_and_last_timestamp_match_the_file(store, btc, shared_data):
    ts = csv_columns(shared_data / "BTC-USD_1h_bitfinex.csv")[0]
    store.upsert_candles(EX, SYM, TF, btc)

    assert store.first_timestamp(EX, SYM, TF) == int(ts[0])
    assert store.last_timestamp(EX, SYM, TF) == int(ts[-1])


def test_failing_batch_leaves_previous_rows_intact_and_writes_nothing(store, btc):
    store.upsert_candles(EX, SYM, TF, btc.slice(0, 1000))
    batch = btc.slice(1000, 2000)
    # Force a database error on the 501st row of the batch, i.e. mid-executemany
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TRIGGER fail_mid_batch BEFORE INSERT ON candles WHEN NEW.timestamp = {int(batch.timestamp[500])} "
            "BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
        )

    with pytest.raises(DataError, match="storing 1000 candles for bitfinex BTC/USD 1h failed, nothing written: forced"):
        store.upsert_candles(EX, SYM, TF, batch)

    assert store.count(EX, SYM, TF) == 1000
    assert store.last_timestamp(EX, SYM, TF) == int(btc.timestamp[999])
    assert np.array_equal(store.load_candles(EX, SYM, TF).close, btc.close[:1000])


def test_non_finite_candles_are_refused_before_writing(store, btc):
    batch = btc.slice(0, 10)
    close = batch.close.copy()
    close[5] = np.nan

    with pytest.raises(DataError, match="1 non-finite values"):
        store.upsert_candles(EX, SYM, TF, CandleArrays(batch.timestamp, batch.open, batch.high, batch.low, close, batch.volume))

    assert store.count(EX, SYM, TF) == 0


def test_valid_rows_of_a_corrupt_csv_are_stored(store, tmp_path):
    t0 = 1_600_000_000_000 // H * H
    path = tmp_path / "BAD_1h.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        f"{t0},10,11,9,10.5,1\n{t0 + H},10,abc,9,10.5,1\n{t0 + 2 * H},10,9,11,10,1\n"
        f"{t0 + 3 * H},nan,11,9,10.5,1\n{t0 + 4 * H},10,12,8,11,2\n"
    )
    candles, report = read_candle_csv(path)

    stored = store.upsert_candles(EX, "BAD/USD", TF, candles)

    assert [row for row, _ in report.rejected_rows] == [3, 4, 5]
    assert stored == 2
    assert store.load_candles(EX, "BAD/USD", TF).timestamp.tolist() == [t0, t0 + 4 * H]


def test_series_status_reports_rows_and_gaps(store, shared_data):
    ada, report = read_candle_csv(shared_data / "ADA-BTC_5m.csv")
    ts = csv_columns(shared_data / "ADA-BTC_5m.csv")[0]
    store.upsert_candles("binance", "ADA/BTC", "5m", ada)
    store.upsert_candles("binance", "ADA/BTC", "1h", ada.slice(0, 0))

    status = store.series_status()

    expected_missing = int((ts[-1] - ts[0]) // 300_000 + 1 - len(ts))
    expected_gaps = int(np.sum(np.diff(ts) > 450_000))
    assert status == [
        SeriesStatus("binance", "ADA/BTC", "5m", int(ts[0]), int(ts[-1]), len(ts), expected_gaps, expected_missing)
    ]
    assert expected_gaps > 0


def test_funding_rates_round_trip_the_xrp_file(store, shared_data):
    ts, rates, _ = read_funding_csv(shared_data / "XRP-USDT_8h_funding_rate.csv")

    first = store.upsert_funding_rates("binance", "XRP/USDT:USDT", ts, rates)
    again = store.upsert_funding_rates("binance", "XRP/USDT:USDT", ts, rates)
    loaded_ts, loaded_rates = store.load_funding_rates("binance", "XRP/USDT:USDT")

    assert (first, again) == (91, 0)
    assert np.array_equal(loaded_ts, ts)
    assert np.array_equal(loaded_rates, rates)
    window = store.load_funding_rates("binance", "XRP/USDT:USDT", start_ms=int(ts[10]), end_ms=int(ts[20]))
    assert window[0].tolist() == ts[10:20].tolist()


def test_open_interest_round_trips_and_rejects_non_finite(store):
    ts = np.array([0, 300_000, 600_000], dtype=np.int64)
    values = np.array([1.5e6, 1.6e6, 1.4e6])

    assert store.upsert_open_interest("bitget", "BTC/USDT:USDT", ts, values) == 3
    loaded_ts, loaded = store.load_open_interest("bitget", "BTC/USDT:USDT")
    assert loaded_ts.tolist() == ts.tolist() and loaded.tolist() == values.tolist()
    with pytest.raises(DataError, match="1 non-finite values"):
        store.upsert_open_interest("bitget", "BTC/USDT:USDT", ts + 900_000, np.array([1.0, np.nan, 2.0]))
    assert len(store.load_open_interest("bitget", "BTC/USDT:USDT")[0]) == 3


def test_schema_has_every_spec_table_and_a_version_row(store):
    tables = set(inspect(store.engine).get_table_names())

    assert SPEC_TABLES <= tables
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version FROM schema_version")).scalar_one() == SCHEMA_VERSION


def test_sqlite_runs_in_wal_mode_with_foreign_keys(store):
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_reopening_keeps_data_and_a_newer_schema_is_refused(tmp_path, btc):
    url = f"sqlite:///{tmp_path}/radar.db"
    with CandleStore(url) as s:
        s.upsert_candles(EX, SYM, TF, btc.slice(0, 5))
    with CandleStore(url) as s:
        assert s.count(EX, SYM, TF) == 5
        with s.engine.begin() as conn:
            conn.execute(text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 1})

    with pytest.raises(DataError, match="is newer than this program"):
        CandleStore(url)


def test_open_without_url_creates_the_default_sqlite_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    with CandleStore.open() as s:
        assert s.url == "sqlite:///data/radar.db"

    assert (tmp_path / "data" / "radar.db").is_file()


def test_in_memory_database_works_across_calls():
    with CandleStore("sqlite://") as s:
        ts = np.array([0, H], dtype=np.int64)
        ones = np.ones(2)
        s.upsert_candles(EX, SYM, TF, CandleArrays(ts, ones, ones, ones, ones, ones))

        assert s.count(EX, SYM, TF) == 2
