"""Portfolio backtester (SPEC §8): shared margin limits, equivalence with a lone runner, the portfolio
kill switch and cross-margin liquidation."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from radar.backtest.portfolio import parse_specs, run_portfolio, save_portfolio_result
from radar.data.csv_io import read_candle_csv
from radar.data.resample import resample
from radar.data.schema import PortfolioBacktestRow
from radar.data.store import CandleStore
from radar.errors import ConfigError
from radar.events import EventKind
from radar.models import CandleArrays
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
H = 3_600_000
T0 = 1_600_000_000_000 // H * H + 3 * H  # not a funding hour
C0 = 10_000.0


# -- data ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def binance_1h() -> dict[str, CandleArrays]:
    out = {}
    for path in sorted(SHARED_DATA.glob("*-BTC_5m.csv")):
        arrays, _ = read_candle_csv(path)
        out[path.name.split("_")[0].replace("-", "/")] = resample(arrays, "5m", "1h")
    assert len(out) >= 9
    return out


@pytest.fixture(scope="module")
def btc_1h() -> CandleArrays:
    arrays, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv")
    return arrays


def _slice(a: CandleArrays, lo: int, hi: int) -> CandleArrays:
    return CandleArrays(a.timestamp[lo:hi], a.open[lo:hi], a.high[lo:hi], a.low[lo:hi], a.close[lo:hi], a.volume[lo:hi])


def _arrays(rows: list[tuple[float, float, float, float]], t0: int = T0) -> CandleArrays:
    o, h, l, c = (np.array(col, dtype=np.float64) for col in zip(*rows))
    ts = t0 + H * np.arange(len(rows), dtype=np.int64)
    return CandleArrays(ts, o, h, l, c, np.ones(len(rows)))


def _asset_margin(snapshot, symbol: str) -> float:
    return sum(m for rid, m in snapshot.runner_margin.items() if rid.split(":", 1)[1] == symbol)


# -- margin limits on real data ------------------------------------------------------------------------
def test_grid_atr_on_binance_pairs_keeps_total_margin_strictly_below_70pct_at_every_snapshot(binance_1h, btc_1h):
    specs = [f"grid_atr:{s}" for s in binance_1h]
    candles = {**binance_1h, "BTC/USD": btc_1h}

    result = run_portfolio(specs, candles, capital=C0, benchmark_symbol="BTC/USD")

    n_ts = len(set().union(*(set(a.timestamp.tolist()) for a in binance_1h.values())))
    assert len(result.snapshots) == n_ts
    assert len(result.trades) > 20
    assert all(s.margin < 0.70 * C0 for s in result.snapshots)
    # allocation = min(C0/10, 0.25*C0) = 1000 per runner, a third of it per level
    assert max(s.margin for s in result.snapshots) > 0.5 * C0
    assert all(m <= 1000.0 + 1e-6 for s in result.snapshots for m in s.runner_margin.values())
    for s in result.snapshots:
        assert s.equity == pytest.approx(sum(s.runner_equity.values()), rel=1e-12)
        assert s.margin == pytest.approx(sum(s.runner_margin.values()), rel=1e-12)
    assert result.final_equity == pytest.approx(sum(result.runner_final_capital.values()), rel=1e-12)
    # benchmark: BTC/USD held over the portfolio's span
    i0 = int(np.searchsorted(btc_1h.timestamp, result.start_ms))
    i1 = int(np.searchsorted(btc_1h.timestamp, result.end_ms, side="right")) - 1
    bench = (btc_1h.close[i1] / btc_1h.close[i0] - 1) * 100
    assert result.benchmark_return_pct == pytest.approx(bench)
    assert result.alpha_pct == pytest.approx((result.final_equity / C0 - 1) * 100 - bench)
    assert json.loads(result.to_json())["metrics"]["n_trades"] == len(result.closed_trades())


def test_a_tight_global_margin_ratio_refuses_fills_and_still_holds_strictly(binance_1h):
    specs = [f"grid_atr:{s}" for s in binance_1h]

    result = run_portfolio(specs, binance_1h, capital=C0, max_margin_ratio=0.30)

    assert result.guard_refusals > 0
    assert all(s.margin < 0.30 * C0 for s in result.snapshots)
    # a level is 1000/3: the guard filled up to the last level that fits under 3000
    assert max(s.margin for s in result.snapshots) == pytest.approx(8 * 1000 / 3)


def test_per_asset_cap_binds_when_two_strategies_share_a_symbol(binance_1h):
    symbols = list(binance_1h)[:3]
    specs = [(st, s) for s in symbols for st in ("grid_atr", "envelope_dca")]

    result = run_portfolio(specs, binance_1h, capital=C0)

    # 3 assets: allocation min(C0/3, 0.25*C0) = 2500 per runner, so two runners could lock 5000 on one symbol
    assert result.params["allocation"] == 2500.0
    assert result.guard_refusals > 0
    worst = max(_asset_margin(s, sym) for s in result.snapshots for sym in symbols)
    assert worst <= 0.25 * C0 * (1 + 1e-9)
    # the refusals are the asset cap's: total margin never came within one level of the global limit
    assert max(s.margin for s in result.snapshots) < 0.70 * C0 - 2500 / 3


# -- equivalence with a lone runner ------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["grid_atr", "bollinger_mr"])
def test_one_asset_portfolio_reproduces_the_runner_driven_directly(btc_1h, strategy):
    arrays = _slice(btc_1h, 0, 3000)
    symbol = "BTC/USD"
    config = RunnerConfig(f"{strategy}:{symbol}", symbol, initial_capital=C0, sizing="fixed",
                          fixed_allocation=RunnerConfig.portfolio_allocation(C0, 1, 0.25), hard_drawdown_pct=None)
    runner = make_runner(create_strategy(strategy), config)
    rate = lambda ts: 0.0001  # noqa: E731 - charged at 00/08/16 UTC candles while a position is open
    runner.run(arrays.candles(symbol, "1h"), funding=rate)

    result = run_portfolio([f"{strategy}:{symbol}"], {symbol: arrays}, capital=C0, funding={symbol: rate})

    assert len(runner.trades) > 10
    assert any(t.funding != 0 for t in runner.trades)
    assert result.trades == tuple(runner.trades)
    assert result.final_equity == runner.capital
    assert result.guard_refusals == 0 and result.freezes == () and result.liquidations == ()


# -- kill switch -----------------------------------------------------------------------------------------
# Warm-up: SMA 100, ATR 1.1; with start=step=0.5 the long levels sit at 99.45, 98.9, 98.35.
WARM = [(100.0, 101.0, 99.9, 100.0)] * 20
CRASH = (100.0, 100.0, 79.0, 80.0)  # fills all 3 levels on both assets, closes ~56% below equity's peak
RECOVER = (80.0, 101.0, 79.5, 100.0)  # high above the SMA: TP for both grids
DIP = (100.0, 101.0, 90.0, 100.0)  # touches level 0 whenever a flat runner may enter
KILL_PARAMS = {"grid_atr": {"atr_multiplier_start": 0.5, "atr_multiplier_step": 0.5, "cooldown_candles": 3}}


def _crash_pair() -> dict[str, CandleArrays]:
    rows = WARM + [CRASH, RECOVER] + [DIP] * 40
    return {"AAA/USDT": _arrays(rows), "BBB/USDT": _arrays(rows)}


def _opens(result, after: int) -> list[int]:
    return sorted(e.timestamp for e in result.events if e.kind == EventKind.OPEN and e.timestamp > after)


def test_two_assets_crashing_freeze_entries_for_24h_then_unfreeze():
    candles = _crash_pair()
    t_crash = T0 + 20 * H

    result = run_portfolio(["grid_atr:AAA/USDT", "grid_atr:BBB/USDT"], candles, capital=C0, params=KILL_PARAMS)

    assert [(f.kind, f.timestamp) for f in result.freezes] == [("freeze", t_crash), ("unfreeze", t_crash + 24 * H)]
    freeze = result.freezes[0]
    assert freeze.drawdown_pct >= 45.0 and freeze.until == t_crash + 24 * H
    assert freeze.peak == pytest.approx(C0)
    # the crash candle filled 3 levels per asset; TP closed them on the next candle
    assert [t.exit_ts for t in result.trades if not t.end_of_data][:2] == [t_crash + H] * 2
    opens = _opens(result, t_crash)
    assert opens[0] == t_crash + 24 * H  # nothing while frozen, the first entry on the unfreeze candle
    assert opens[:2] == [t_crash + 24 * H] * 2
    assert result.liquidations == ()


def test_without_the_kill_switch_the_same_candles_enter_during_the_freeze_window():
    candles = _crash_pair()
    t_crash = T0 + 20 * H

    result = run_portfolio(["grid_atr:AAA/USDT", "grid_atr:BBB/USDT"], candles, capital=C0, params=KILL_PARAMS,
                           kill_drawdown_pct=99.0)

    assert result.freezes == ()
    # exit at t_crash+1h, cooldown 3 candles: entries allowed again from t_crash+4h
    assert _opens(result, t_crash)[:2] == [t_crash + 4 * H] * 2


# -- cross-margin liquidation -------------------------------------------------------------------------
def test_gap_down_at_high_leverage_liquidates_everything_at_the_gap_candle_close():
    # Levels 98, 97, 96 (start 2, step 1, ATR 1); leverage 50: 2500/3 margin -> 41,666.67 notional per level.
    warm = [(100.0, 100.5, 99.5, 100.0)] * 20
    fill = (100.0, 100.0, 95.5, 97.0)  # fills all three levels; equity stays near 10,000
    gap = (85.0, 86.0, 84.0, 85.0)  # opens below every fill: equity < 0.4% of 125,000 notional
    after = [(85.0, 86.0, 84.0, 85.0)] * 5
    candles = {"AAA/USDT": _arrays(warm + [fill, gap] + after)}
    t_gap = T0 + 21 * H

    result = run_portfolio(["grid_atr:AAA/USDT"], candles, capital=C0, params={"grid_atr": {"leverage": 50}})

    assert len(result.liquidations) == 1
    liq = result.liquidations[0]
    assert liq.timestamp == t_gap
    assert liq.notional == pytest.approx(125_000.0)
    assert liq.positions == 3
    fills = [98 * 1.0005, 97 * 1.0005, 96 * 1.0005]
    equity_at_gap = C0 + sum(41_666.666666666664 / f * (85.0 - f) for f in fills)
    assert liq.equity == pytest.approx(equity_at_gap)
    assert liq.equity < 0.004 * 125_000
    (trade,) = result.trades
    assert (trade.reason, trade.exit_ts, trade.exit_price, trade.end_of_data) == ("liquidation", t_gap, 85.0, False)
    # the backtest ends at the liquidation: no later candle is processed
    assert result.snapshots[-1].timestamp == t_gap and result.end_ms == t_gap
    assert result.snapshots[-1].open_positions == 0
    assert result.final_equity == pytest.approx(liq.equity_after)
    assert result.final_equity == pytest.approx(equity_at_gap - sum(41_666.666666666664 / f * 85.0 for f in fills)
                                                * (0.0006 + 0.0005) - 125_000 * 0.0006)


# -- inputs and storage ------------------------------------------------------------------------------
def test_specs_split_on_the_first_colon_and_reject_duplicates():
    assert parse_specs(["grid_atr:BTC/USDT:USDT", ("bollinger_mr", "ETH")]) == [
        ("grid_atr", "BTC/USDT:USDT"), ("bollinger_mr", "ETH")]
    with pytest.raises(ConfigError, match="listed twice"):
        parse_specs(["grid_atr:X", "grid_atr:X"])
    with pytest.raises(ConfigError, match="strategy:symbol"):
        parse_specs(["grid_atr"])


def test_a_symbol_without_candles_is_a_clear_error():
    with pytest.raises(ConfigError, match="'NOPE'"):
        run_portfolio(["grid_atr:NOPE"], {"AAA/USDT": _arrays(WARM)})


def test_save_writes_one_portfolio_backtests_row():
    result = run_portfolio(["grid_atr:AAA/USDT", "grid_atr:BBB/USDT"], _crash_pair(), capital=C0, params=KILL_PARAMS)
    store = CandleStore("sqlite:///:memory:")

    row_id = save_portfolio_result(store, result, name="crash", created_at=123)

    with store.engine.connect() as conn:
        row = conn.execute(select(PortfolioBacktestRow.__table__).where(PortfolioBacktestRow.id == row_id)).one()
    assert row.name == "crash" and row.created_at == 123
    assert row.symbols == ["AAA/USDT", "BBB/USDT"] and row.strategies == ["grid_atr"]
    assert row.final_equity == pytest.approx(result.final_equity)
    assert len(row.equity_curve) == len(result.snapshots)
    assert row.metrics["freeze_events"][0]["timestamp"] == T0 + 20 * H


def test_snapshot_every_k_keeps_every_kth_timestamp_and_the_last():
    candles = _crash_pair()  # 62 hourly candles

    result = run_portfolio(["grid_atr:AAA/USDT", "grid_atr:BBB/USDT"], candles, capital=C0, params=KILL_PARAMS,
                           snapshot_every=10)

    assert [s.timestamp for s in result.snapshots] == [T0 + k * H for k in (0, 10, 20, 30, 40, 50, 60, 61)]
