"""Actor answers and saved runner state -> API models. Pure functions (no Ray), so the Ray client's
mapping is unit-tested without a cluster.

Grid state comes from the runner state the state store keeps: a runner saves it on every trade, and
positions only change on trades, so the saved legs are the current ones. Pending levels and TP/SL are
recomputed with the production strategy code from the saved indicator values of the last closed candle
(the basis of the orders resting for the next candle, SPEC §5); TP is the strategy's TP at that candle.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from api.models import (
    Alert,
    EntryRefusal,
    ExecutorStatus,
    FeedHealth,
    GridLeg,
    GridState,
    JobProgress,
    KillSwitchRunner,
    KillSwitchStatus,
    LogLine,
    Position,
    RankingEntry,
    RunnerStatus,
    StrategyStatus,
    Trade,
)
from radar.events import TradeResult

RECENT_REFUSALS = 20  # refusals an executor status shows (the live executor keeps more)


def side_name(side: int) -> str:
    return "long" if side > 0 else "short" if side < 0 else "flat"


def _num(v: Any) -> float | None:
    if v is None or v == "nan":
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def trade_from_result(t: TradeResult) -> Trade:
    """A runner's closed trade as the journal stores it (same id: `runner_id#seq`)."""
    from radar.live.journal import trade_id

    return Trade(trade_id=trade_id(t.runner_id, t.seq), runner_id=t.runner_id, strategy=t.strategy, symbol=t.symbol,
                 side=side_name(t.side), entry_ts=t.entry_ts, exit_ts=t.exit_ts, entry_price=t.entry_price,
                 exit_price=t.exit_price, qty=t.quantity, gross_pnl=t.gross, fees=t.fees, slippage=t.slippage,
                 funding=t.funding, net_pnl=t.net, reason=t.reason, positions=t.positions)


def strategy_status(d: Mapping[str, Any], initial_per_runner: float) -> StrategyStatus:
    """From `StrategyRunner.status()`."""
    runners = [RunnerStatus(
        runner_id=r["runner_id"], strategy=d["name"], symbol=r["symbol"], initial_capital=initial_per_runner,
        capital=float(r["capital"]), equity=float(r["equity"]), used_margin=float(r["used_margin"]),
        return_pct=(float(r["equity"]) / initial_per_runner - 1.0) * 100.0 if initial_per_runner > 0 else 0.0,
        stopped=bool(r["stopped"]), stop_reason=r.get("stop_reason") or "", last_ts=r.get("last_ts"),
    ) for r in d.get("runners", [])]
    return StrategyStatus(name=d["name"], symbols=list(d.get("symbols", [])), timeframe=d.get("timeframe") or "1h",
                          candles=int(d.get("candles", 0)),
                          events=int(d.get("events", 0)), restored=bool(d.get("restored", False)), runners=runners)


def position(d: Mapping[str, Any], prices: Mapping[str, float]) -> Position:
    """From a `PaperPosition` as a dict (executor status)."""
    price = prices.get(d["symbol"])
    side = int(d["side"])
    qty, avg = float(d["quantity"] if "quantity" in d else d["qty"]), float(d["avg_entry"])  # paper | live
    runner = d.get("runner_id") or "adopted"  # live: a position reconciliation adopted has no runner
    return Position(runner_id=runner, strategy=str(runner).split(":", 1)[0], symbol=d["symbol"],
                    side="long" if side > 0 else "short", quantity=qty, avg_entry=avg,
                    entry_fees=float(d.get("entry_fees", 0.0)), opened_ts=int(d.get("opened_ts", 0)), price=price,
                    unrealized_pnl=None if price is None else side * (price - avg) * qty, notional=avg * qty)


def executor_status(d: Mapping[str, Any], live_trading: bool = False) -> ExecutorStatus:
    positions = d.get("open_positions", [])
    return ExecutorStatus(mode=d.get("mode", "paper"), live_trading=live_trading, fills=int(d.get("fills", 0)),
                          open_positions=len(positions),
                          exposure=sum(float(p["avg_entry"]) * float(p["quantity"] if "quantity" in p else p["qty"])
                                       for p in positions),
                          kill_switch_active=bool(d.get("kill_switch_active", False)),
                          refusals={str(k): int(v) for k, v in d.get("refusal_counts", {}).items()},
                          recent_refusals=[EntryRefusal(timestamp=int(r["timestamp"]), runner_id=str(r["runner_id"]),
                                                        symbol=str(r["symbol"]), reason=str(r["reason"]),
                                                        detail=str(r["detail"]))
                                           for r in list(d.get("refusals", []))[-RECENT_REFUSALS:]])


def kill_switch(strategies: Sequence[StrategyStatus], guard: Mapping[str, Any] | None = None) -> KillSwitchStatus:
    """Runner kill switches from their status; the global one from the portfolio guard's `status()` (None: no
    guard in the system). Active = entries blocked: a drawdown freeze or a manual kill."""
    runners = [KillSwitchRunner(runner_id=r.runner_id, stopped=r.stopped, reason=r.stop_reason)
               for s in strategies for r in s.runners]
    if guard is None:
        return KillSwitchStatus(global_available=False, global_active=False, runners=runners)
    until = guard.get("frozen_until")
    return KillSwitchStatus(global_available=True, global_active=bool(guard.get("entries_blocked", until is not None)),
                            frozen_until=until, drawdown_pct=_num(guard.get("drawdown_pct")), runners=runners)


def ranking_entry(d: Mapping[str, Any]) -> RankingEntry:
    """From the watchdog's ranking (an `ArenaEntry` as a dict plus `win_rate`)."""
    return RankingEntry(**{k: d[k] for k in RankingEntry.model_fields})


def feed_health(h: Any) -> FeedHealth:
    """From `radar.live.messages.FeedHealth`."""
    return FeedHealth(connected=h.connected, last_message_ms=h.last_message_ms, last_candle_ms=dict(h.last_candle_ms),
                      reconnects=h.reconnects, rejected=dict(h.rejected), duplicates=h.duplicates,
                      backfilled=h.backfilled)


# -- grid state from saved runner state --------------------------------------------------------------------
def grid_states(strategy: str, saved_host: Mapping[str, Any] | None, prices: Mapping[str, float],
                params_by_symbol: Mapping[str, Mapping[str, Any]] | None = None) -> list[GridState]:
    """One GridState per runner of a saved `RunnerHost.state()`; `params_by_symbol` (the strategy's
    parameters) enables pending levels and TP/SL, else they are left unknown."""
    if not saved_host:
        return []
    out = []
    for symbol, rs in sorted(saved_host.get("runners", {}).items()):
        out.append(grid_state(strategy, symbol, rs, prices.get(symbol), (params_by_symbol or {}).get(symbol)))
    return out


def grid_state(strategy: str, symbol: str, rs: Mapping[str, Any], price: float | None,
               params: Mapping[str, Any] | None = None) -> GridState:
    ss = rs.get("strategy_state") or {}
    rid = rs.get("runner_id") or f"{strategy}:{symbol}"
    if "positions" in ss:  # grid runner
        legs = [GridLeg(level=int(p["level"]), entry_price=float(p["entry_price"]), quantity=float(p["quantity"]),
                        margin=float(p["margin"]), entry_ts=int(p["entry_ts"])) for p in ss["positions"]]
        side = int(ss["positions"][0]["side"]) if ss["positions"] else 0
        tp = sl = None
    else:  # single-position runner: its stops are part of the position
        p = ss.get("position")
        legs = [] if p is None else [GridLeg(level=0, entry_price=float(p["entry_price"]), quantity=float(p["quantity"]),
                                            margin=float(p["margin"]), entry_ts=int(p["entry_ts"]))]
        side = 0 if p is None else int(p["side"])
        tp, sl = (None, None) if p is None else (_num(p.get("tp_price")), _num(p.get("sl_price")))
    qty = sum(leg.quantity for leg in legs)
    avg = sum(leg.entry_price * leg.quantity for leg in legs) / qty if qty > 0 else None
    pending: list[float] = []
    if params is not None and "positions" in ss:
        pending, tp, sl = _grid_orders(strategy, params, rs, side, avg, qty, legs)
    return GridState(runner_id=rid, strategy=strategy, symbol=symbol, side=side_name(side), avg_entry=avg,
                     quantity=qty, filled_levels=sorted(leg.level for leg in legs), legs=legs, price=price,
                     unrealized_pnl=None if price is None or avg is None else side * (price - avg) * qty,
                     tp_price=tp, sl_price=sl, pending_levels=pending)


def _grid_orders(strategy: str, params: Mapping[str, Any], rs: Mapping[str, Any], side: int, avg: float | None,
                 qty: float, legs: list[GridLeg]) -> tuple[list[float], float | None, float | None]:
    """(pending level prices, TP, SL) with the strategy's own rules; unknown parts are left empty/None."""
    from radar.models import Candle
    from radar.strategies.base import GridState as StrategyGridState
    from radar.strategies.base import StrategyContext
    from radar.strategies.registry import create_strategy

    try:
        strat = create_strategy(strategy, dict(params))
        prev = {k: (math.nan if v == "nan" else float(v)) for k, v in (rs.get("prev") or {}).items()
                if isinstance(v, (int, float)) or v == "nan"}
        close = prev.get("close", math.nan)
        candle = Candle(int(rs.get("last_ts") or 0), close, close, close, close, 0.0)
        ctx = StrategyContext(candle=candle, index=int(rs.get("index", 0)), prev=prev, cur=prev)
        filled = frozenset(leg.level for leg in legs)
        state = StrategyGridState(side=side, avg_entry=avg if avg is not None else math.nan, quantity=qty,
                                  filled_levels=filled, first_entry_index=-1,
                                  entry_prices=tuple(leg.entry_price for leg in legs))
        if not strat.is_ready(ctx):
            return [], None, None
        levels = [lv.price for lv in strat.compute_grid(ctx, state)
                  if lv.index not in filled and (side == 0 or lv.side == side) and math.isfinite(lv.price)]
        tp = sl = None
        if side != 0 and avg is not None:
            tp, sl = _num(strat.get_tp_price(ctx, state)), _num(strat.get_sl_price(ctx, state))
        return levels, tp, sl
    except Exception:  # a strategy that needs more context than the saved state holds: leave it unknown
        return [], None, None


def job_progress(d: Mapping[str, Any]) -> JobProgress:
    """From `JobManager` job dicts (`_Job.to_dict`)."""
    return JobProgress(job_id=d["job_id"], strategy=d["strategy"], symbols=list(d.get("symbols", [])),
                       source=d.get("source", "cli"), status=d["status"], done=int(d.get("done", 0)),
                       total=int(d.get("total", 0)), progress=float(d.get("progress", 0.0)), error=d.get("error"),
                       submitted_at=d.get("submitted_at"), started_at=d.get("started_at"),
                       finished_at=d.get("finished_at"), cancel_requested=bool(d.get("cancel_requested", False)))


_SEVERITY_LEVEL = {"info": "INFO", "warning": "WARNING", "critical": "CRITICAL"}


def alert(d: Mapping[str, Any]) -> Alert:
    """From the watchdog's alert history (an `Alert` as a dict plus `sent`)."""
    severity = d.get("severity", "warning")
    return Alert(kind=d["kind"], message=d["message"], timestamp=int(d["timestamp"]),
                 severity=severity if severity in _SEVERITY_LEVEL else "warning")


def alert_log_line(d: Mapping[str, Any]) -> LogLine:
    a = alert(d)
    return LogLine(timestamp=a.timestamp, level=_SEVERITY_LEVEL[a.severity], logger="radar.alerts",
                   message=f"{a.kind}: {a.message}" + ("" if d.get("sent", True) else " (held back by cooldown)"))
