"""The Ray client's mapping of actor answers to API models, on the real production objects the actors hold
(a grid_atr RunnerHost trading real BTC candles, the PaperExecutor, the Arena, the JobManager), no Ray."""
from __future__ import annotations

import dataclasses
import json

import pytest

from actors.job_manager import JobManager
from api import views
from radar.live.arena import entry_from_trades, rank
from radar.live.messages import Alert, FeedHealth
from radar.live.paper import PaperExecutor
from radar.live.runner_host import build_runner_host
from radar.strategies.registry import create_strategy
from tests.runners.real_data import candles_for

SYM = "BTC/USDT:USDT"
PARAMS = {"atr_multiplier_start": 2.0, "atr_multiplier_step": 1.0, "num_levels": 3, "sl_percent": 20.0}


@pytest.fixture(scope="module")
def traded():
    """A grid_atr host stopped on a candle where it holds legs, with the paper executor that mirrored it."""
    host = build_runner_host("grid_atr", [SYM], lambda s: create_strategy("grid_atr", PARAMS), capital=10_000.0,
                             n_runners=1, n_assets=4)
    paper = PaperExecutor()
    runner = host.runners[SYM]
    last = None
    for c in candles_for("1h", 6000):
        for e in runner.on_candle(c):
            paper.on_event(e)
        last = c
        if len(runner.book.positions) >= 2 and runner.trades:
            break
    assert len(runner.book.positions) >= 2, "the real series has a 2-leg grid somewhere in 6,000 candles"
    return host, paper, last


def test_grid_state_from_the_saved_state_equals_the_live_runner(traded):
    host, _, last = traded
    runner = host.runners[SYM]
    saved = json.loads(json.dumps(host.state()))  # what the state store holds (JSON)

    [g] = views.grid_states("grid_atr", saved, {SYM: last.close},
                            {SYM: create_strategy("grid_atr", PARAMS).params.model_dump()})

    live = runner.grid_state()
    assert g.runner_id == f"grid_atr:{SYM}" and g.side == "long"
    assert g.avg_entry == pytest.approx(live.avg_entry, rel=1e-12)
    assert g.quantity == pytest.approx(live.quantity, rel=1e-12)
    assert g.filled_levels == sorted(live.filled_levels)
    assert g.unrealized_pnl == pytest.approx(runner.book.unrealized(last.close), rel=1e-9)
    assert g.sl_price == pytest.approx(live.avg_entry * (1 - 20.0 / 100), rel=1e-12)  # SPEC §5: avg * (1 - sl%)
    # SPEC §5: the levels resting for the next candle, from the last closed candle's SMA and ATR
    sma, atr = runner.prev["sma"], runner.prev["atr"]
    expected = [sma - atr * (2.0 + k * 1.0) for k in range(3) if k not in live.filled_levels]
    assert g.pending_levels == pytest.approx(expected, rel=1e-12)
    assert g.tp_price == pytest.approx(sma, rel=1e-12)


def test_a_flat_or_unknown_strategy_state_gives_no_levels_instead_of_failing(traded):
    host, _, _ = traded
    saved = json.loads(json.dumps(host.state()))
    saved["runners"][SYM]["prev"] = {}

    [g] = views.grid_states("grid_atr", saved, {}, {SYM: {"no_such_param": 1}})

    assert g.pending_levels == [] and g.tp_price is None and g.price is None and g.unrealized_pnl is None
    assert views.grid_states("grid_atr", None, {}) == []


def test_strategy_status_and_kill_switch_from_the_runner_actor_status(traded):
    host, _, last = traded
    actor_status = {"name": "grid_atr", "symbols": [SYM], "candles": 1234, "events": 17, "restored": False,
                    "last_processed": {SYM: last.timestamp},
                    "runners": [dataclasses.asdict(r) for r in host.status({SYM: last.close})]}

    s = views.strategy_status(actor_status, 10_000.0)
    ks = views.kill_switch([s])

    r = s.runners[0]
    assert (s.candles, s.events, r.last_ts) == (1234, 17, last.timestamp)
    assert r.equity == pytest.approx(host.total_equity({SYM: last.close}), rel=1e-12)
    assert r.return_pct == pytest.approx((r.equity / 10_000.0 - 1) * 100, rel=1e-12)
    assert ks.global_available is False and ks.runners[0].stopped is False


def test_positions_and_executor_status_from_the_paper_executor(traded):
    host, paper, last = traded
    status = {"mode": "paper", "fills": paper.fills_count,
              "open_positions": [dataclasses.asdict(p) for p in paper.open_positions()]}

    [pos] = [views.position(p, {SYM: last.close}) for p in status["open_positions"]]
    ex = views.executor_status(status)

    book = host.runners[SYM].book
    assert pos.quantity == pytest.approx(book.total_quantity(), rel=1e-12)
    assert pos.avg_entry == pytest.approx(book.avg_entry(), rel=1e-12)
    assert pos.unrealized_pnl == pytest.approx(book.unrealized(last.close), rel=1e-9)
    assert ex.open_positions == 1 and ex.fills == paper.fills_count and ex.mode == "paper"
    assert ex.exposure == pytest.approx(pos.avg_entry * pos.quantity, rel=1e-12)


def test_ranking_entries_from_the_watchdog_arena(traded):
    host, _, last = traded
    runner = host.runners[SYM]
    equity = runner.equity(last.close)
    entries = rank([entry_from_trades(runner.config.runner_id, "grid_atr", SYM, 10_000.0, equity, runner.trades)])
    watchdog_answer = [dataclasses.asdict(e) | {"win_rate": e.win_rate} for e in entries]

    [r] = [views.ranking_entry(e) for e in watchdog_answer]

    assert r.rank == 1 and r.trades == len([t for t in runner.trades if not t.end_of_data])
    assert r.net_pnl == pytest.approx(sum(t.net for t in runner.trades), rel=1e-12)
    assert r.return_pct == pytest.approx((equity / 10_000.0 - 1) * 100, rel=1e-12)


def test_job_progress_from_the_job_manager():
    def sweep(request, progress, cancel):
        progress(120, 480)
        return {"cancelled": False}

    manager = JobManager(runner=sweep)
    job_id = manager.submit({"strategy": "grid_atr", "symbols": ["BTC/USDT:USDT"]}, "api")

    j = views.job_progress(manager.wait(job_id, timeout_s=10))

    assert (j.job_id, j.status, j.source, j.symbols) == (job_id, "done", "api", ["BTC/USDT:USDT"])
    assert (j.done, j.total, j.progress) == (120, 480, 0.25)


def test_feed_health_and_alert_log_lines():
    h = views.feed_health(FeedHealth(True, 1_717_200_000_000, {f"{SYM}|1h": 1_717_196_400_000}, 2, {"gap": 1}, 4, 9))
    held = dataclasses.asdict(Alert("data_stale", "BTC 1h: no candle for 6 min", 1_717_200_000_000)) | {"sent": False}
    critical = dataclasses.asdict(Alert("all_stopped", "every runner stopped", 5, "critical")) | {"sent": True}

    assert (h.connected, h.reconnects, h.backfilled, h.last_candle_ms) == (True, 2, 9, {f"{SYM}|1h": 1_717_196_400_000})
    line = views.alert_log_line(held)
    assert (line.level, line.logger) == ("WARNING", "radar.alerts")
    assert line.message == "data_stale: BTC 1h: no candle for 6 min (held back by cooldown)"
    assert views.alert_log_line(critical).level == "CRITICAL"
