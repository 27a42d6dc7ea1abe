"""Boot reconciliation of the live executor's local positions against the exchange (SPEC §9), and the
watchdog's missing-stop-loss check and fix.

`plan_reconciliation` is pure: local positions + exchange positions + open orders -> decisions, per symbol:
- `cancel_orphan`: an open order the executor is not waiting on (not in `pending_order_ids`): a normal or
  trigger entry, a stop/take-profit of a flat symbol or of the other side, a second stop-loss.
- `drop`: the state holds a position the exchange does not (or holds the other side): removed locally; the
  reason comes from the TP/SL history when a stop or take-profit executed, else "closed outside the executor".
- `adopt`: the exchange holds a position the state does not: taken into the state with `runner_id=None`
  (no runner manages it, it is "adopted"); its stop-loss is the one on the exchange, else `default_sl_pct`
  percent from the exchange's entry price on the losing side (`replace_sl` places it).
- `resize`: both hold it, sizes differ: the exchange is trusted (size and average entry).
- `replace_sl`: the position has no live stop-loss, only a partial one (`loss_plan` smaller than the
  position), or one at another price than the state's `sl_price` (beyond 1 bp): move/place it at the
  state's price (default rule when the state has none). If the mark is already beyond that stop the
  position is stopped out: `close_now` closes it at market.
- `ok`: the position matches and is protected.

`apply_reconciliation` executes the decisions with the ccxt async client in that order (orphans first, so a
stale stop cannot block the new one), verifies the result against a fresh read, and journals every decision
(one `journal(dict)` call each) and alerts them (one `alert("reconcile", text)` listing every decision, so a
per-kind cooldown cannot hide any of them).
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from radar.live.exchange_state import (
    POSITION_SL,
    ExchangeOrder,
    ExchangePosition,
    LocalPosition,
    ReconcileError,
    fetch_closed_stops,
    fetch_open_orders,
    fetch_positions,
    fetch_stop_orders,
    side_name,
)
from radar.live.stop_loss import beyond_stop, check_sl_pct, default_stop, emergency_close, ensure_stop_loss

log = logging.getLogger(__name__)

ALERT_KIND = "reconcile"
PRICE_TOLERANCE = 1e-4  # 1 bp: a stop this close to the wanted price is the same stop
_QTY_REL = 1e-9

Journal = Callable[[dict[str, Any]], None]
AlertFn = Callable[[str, str], None]


class DecisionKind(str, Enum):
    ADOPT = "adopt"
    DROP = "drop"
    RESIZE = "resize"
    CANCEL_ORPHAN = "cancel_orphan"
    REPLACE_SL = "replace_sl"
    OK = "ok"


# Within a symbol: orphans go first (a stale stop would block the new one), the new stop last.
_PHASE = {DecisionKind.CANCEL_ORPHAN: 0, DecisionKind.DROP: 1, DecisionKind.ADOPT: 2, DecisionKind.RESIZE: 2,
          DecisionKind.OK: 2, DecisionKind.REPLACE_SL: 3}


@dataclass(frozen=True, slots=True)
class Decision:
    kind: DecisionKind
    symbol: str
    detail: str
    runner_id: str | None = None
    position: LocalPosition | None = None  # the local position after it (adopt/resize/ok/replace_sl; drop: the dropped one)
    exchange: ExchangePosition | None = None
    order: ExchangeOrder | None = None  # cancel_orphan: the order; replace_sl: the stop to move or replace
    sl_price: float | None = None  # replace_sl: the wanted stop
    close_now: bool = False  # replace_sl: the mark is beyond the stop, close at market

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "symbol": self.symbol, "runner_id": self.runner_id, "detail": self.detail,
                "order_id": self.order.id if self.order else None, "sl_price": self.sl_price,
                "close_now": self.close_now, "position": self.position.to_dict() if self.position else None}


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: Decision
    outcome: str  # done | kept | closed | failed
    detail: str
    order_id: str | None = None
    error: str | None = None
    price: float | None = None  # replace_sl: the stop as placed (rounded to the tick) or kept


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    positions: list[dict[str, Any]]  # the new local positions, as the executor keeps them
    outcomes: list[Outcome]
    problems: list[str] = field(default_factory=list)  # what the verifying read still found wrong

    @property
    def decisions(self) -> list[Decision]:
        return [o.decision for o in self.outcomes]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome == "failed"]

    def kinds(self) -> dict[str, list[str]]:
        """kind -> symbols, e.g. {"adopt": ["ETH/USDT:USDT"], "ok": [...]}."""
        out: dict[str, list[str]] = {}
        for o in self.outcomes:
            out.setdefault(o.decision.kind.value, []).append(o.decision.symbol)
        return out

    def local_positions(self) -> list[LocalPosition]:
        return [LocalPosition.from_dict(p) for p in self.positions]


# ---------------------------------------------------------------- planning (pure)
def _same_qty(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_QTY_REL, abs_tol=1e-12)


def _same_price(a: float, b: float, tol: float) -> bool:
    return math.isclose(a, b, rel_tol=tol)


def _describe(o: ExchangeOrder) -> str:
    what = {"order": "order", "plan": "trigger order", "sl": "stop-loss", "tp": "take-profit"}[o.role]
    px = o.trigger_price if o.trigger_price is not None else o.price
    at = f" @ {px:g}" if px is not None else ""
    return f"{what} {o.id} ({o.side} {o.qty:g}{at}{', ' + o.plan_type if o.plan_type else ''})"


def _drop_reason(local: LocalPosition, held: ExchangePosition | None, closed: Sequence[ExchangeOrder]) -> str:
    if held is not None:
        return (f"the exchange holds a {side_name(held.side)} {held.qty:g} instead of the local "
                f"{side_name(local.side)} {local.qty:g}: the local position was closed outside the executor")
    executed = sorted((o for o in closed if o.symbol == local.symbol and o.status == "executed"
                       and o.hold_side in (0, local.side) and o.role in ("sl", "tp")),
                      key=lambda o: o.timestamp or 0, reverse=True)
    own = [o for o in executed if o.id in (local.sl_order_id, local.tp_order_id)]
    hit = (own or executed or [None])[0]
    if hit is not None:
        how = "stop-loss" if hit.role == "sl" else "take-profit"
        via = f" -> order {hit.execute_order_id}" if hit.execute_order_id else ""
        at = f" at {hit.trigger_price:g}" if hit.trigger_price is not None else ""
        return f"closed on the exchange by its {how}{at} (plan {hit.id} executed{via})"
    return (f"the exchange holds no {side_name(local.side)} position: closed outside the executor "
            "(manually, liquidated, or by a stop no longer in the history)")


def _plan_symbol(sym: str, locals_: list[LocalPosition], held: ExchangePosition | None, orders: list[ExchangeOrder],
                 pending: set[str], closed: Sequence[ExchangeOrder], pct: float, tol: float) -> list[Decision]:
    out: list[Decision] = []
    stops: list[ExchangeOrder] = []
    tps: list[ExchangeOrder] = []
    for o in orders:
        if o.role in ("order", "plan") and o.matches(pending):
            continue  # an entry the executor is waiting on (its TP/SL are judged below, pending or not)
        if o.role in ("order", "plan"):
            out.append(Decision(DecisionKind.CANCEL_ORPHAN, sym, f"{_describe(o)}: the executor is not waiting on it",
                                order=o))
        elif held is None or o.hold_side != held.side:
            where = "a flat symbol" if held is None else f"a {side_name(-held.side)} position the exchange does not hold"
            out.append(Decision(DecisionKind.CANCEL_ORPHAN, sym, f"{_describe(o)} of {where}", order=o))
        else:
            (stops if o.role == "sl" else tps).append(o)

    local: LocalPosition | None = None
    if locals_:
        ranked = sorted(locals_, key=lambda p: (held is None or p.side != held.side, -p.qty))
        local = ranked[0]
        for dup in ranked[1:]:
            out.append(Decision(DecisionKind.DROP, sym, f"duplicate local position on a one-way symbol "
                                f"(runner {local.runner_id} holds it)", dup.runner_id, dup))
        if held is None or local.side != held.side:
            out.append(Decision(DecisionKind.DROP, sym, _drop_reason(local, held, closed), local.runner_id, local))
            local = None
    if held is None:
        return out

    # The stop to keep: the state's own, else a whole-position stop, else the largest partial one.
    stops.sort(key=lambda o: (not (local and o.id == local.sl_order_id), o.plan_type != POSITION_SL, -o.qty))
    keep_sl = stops[0] if stops else None
    for extra in stops[1:]:
        out.append(Decision(DecisionKind.CANCEL_ORPHAN, sym, f"{_describe(extra)}: a second stop-loss", order=extra))
    tp = next((o for o in tps if local and o.id == local.tp_order_id), tps[0] if tps else None)
    tp_fields = {"tp_price": tp.trigger_price, "tp_order_id": tp.id} if tp else {"tp_price": None, "tp_order_id": None}

    if local is None:
        sl = keep_sl.trigger_price if keep_sl else default_stop(held.entry_price, held.side, pct)
        pos = LocalPosition(sym, None, held.side, held.qty, held.entry_price, sl, keep_sl.id if keep_sl else None,
                            **tp_fields)
        rule = (f"its stop {keep_sl.id} at {sl:g}" if keep_sl else f"stop {pct:g}% from entry at {sl:g}")
        out.append(Decision(DecisionKind.ADOPT, sym, f"adopted: the exchange holds a {side_name(held.side)} "
                            f"{held.qty:g} @ {held.entry_price:g} the state lacks; no runner manages it "
                            f"(runner_id None); {rule}", None, pos, held))
    else:
        pos = replace(local, qty=held.qty, avg_entry=held.entry_price,
                      **(tp_fields if tp or local.tp_order_id else {}))
        if not _same_qty(local.qty, held.qty):
            out.append(Decision(DecisionKind.RESIZE, sym, f"local {local.qty:g} @ {local.avg_entry:g} -> exchange "
                                f"{held.qty:g} @ {held.entry_price:g} (the exchange is trusted)", local.runner_id, pos, held))
        else:
            out.append(Decision(DecisionKind.OK, sym, f"{side_name(held.side)} {held.qty:g} @ {held.entry_price:g} "
                                "matches the exchange", local.runner_id, pos, held))

    want = pos.sl_price  # the state's stop; without one, the exchange's, else the default rule
    if want is None:
        want = keep_sl.trigger_price if keep_sl and keep_sl.trigger_price else default_stop(held.entry_price, held.side, pct)
    if keep_sl is None:
        need = "no stop-loss on the exchange"
    elif keep_sl.plan_type != POSITION_SL and keep_sl.qty + 1e-12 < held.qty:
        need = f"stop {keep_sl.id} covers {keep_sl.qty:g} of {held.qty:g}"
    elif keep_sl.trigger_price is None or not _same_price(keep_sl.trigger_price, want, tol):
        need = f"stop {keep_sl.id} at {keep_sl.trigger_price}, the state wants {want:g}"
    else:
        need = ""
    if not need:
        # Keep the exchange's exact price and id, so the next comparison is against what is really there.
        i = len(out) - 1
        out[i] = replace(out[i], position=replace(pos, sl_price=keep_sl.trigger_price, sl_order_id=keep_sl.id))
        return out
    pos = replace(pos, sl_price=want, sl_order_id=None)
    out[-1] = replace(out[-1], position=pos)
    close_now = beyond_stop(held.side, want, held.mark_price)
    then = f": mark {held.mark_price:g} is already beyond it, close at market" if close_now else ""
    out.append(Decision(DecisionKind.REPLACE_SL, sym, f"{need}; stop at {want:g}{then}", pos.runner_id, pos, held,
                        keep_sl, want, close_now))
    return out


def plan_reconciliation(local_positions: Sequence[LocalPosition | Mapping[str, Any]],
                        exchange_positions: Sequence[ExchangePosition], open_orders: Sequence[ExchangeOrder], *,
                        default_sl_pct: float, pending_order_ids: Collection[str] = (),
                        closed_stops: Sequence[ExchangeOrder] = (),
                        price_tolerance: float = PRICE_TOLERANCE,
                        sl_pct_by_symbol: Mapping[str, float] | None = None) -> list[Decision]:
    """Decisions for every symbol that appears anywhere, sorted by symbol and, within one, in execution order.
    `pending_order_ids`: ids or client order ids of entries the executor is waiting on (not orphans).
    `closed_stops`: TP/SL history (`fetch_closed_stops`) of the symbols that went flat, for the drop reason.
    `sl_pct_by_symbol`: a symbol's own default stop distance (e.g. its strategy's `sl_percent`)."""
    pct = check_sl_pct(default_sl_pct)
    pcts = {s: check_sl_pct(v) for s, v in (sl_pct_by_symbol or {}).items()}
    locals_ = [LocalPosition.coerce(p) for p in local_positions]
    held: dict[str, ExchangePosition] = {}
    for p in exchange_positions:
        if p.symbol in held:
            raise ReconcileError(f"exchange position {p.symbol}: listed twice; Bitget must run in one-way mode")
        held[p.symbol] = p
    by_local: dict[str, list[LocalPosition]] = {}
    for lp in locals_:
        by_local.setdefault(lp.symbol, []).append(lp)
    by_orders: dict[str, list[ExchangeOrder]] = {}
    for o in open_orders:
        by_orders.setdefault(o.symbol, []).append(o)
    out: list[Decision] = []
    for sym in sorted({*held, *by_local, *by_orders}):
        decisions = _plan_symbol(sym, by_local.get(sym, []), held.get(sym), by_orders.get(sym, []),
                                 set(pending_order_ids), closed_stops, pcts.get(sym, pct), price_tolerance)
        out.extend(sorted(decisions, key=lambda d: _PHASE[d.kind]))
    return out


# ---------------------------------------------------------------- applying
def _now_ms() -> int:
    return int(time.time() * 1000)


async def _cancel(client: Any, d: Decision) -> Outcome:
    o = d.order
    assert o is not None
    try:
        await client.cancel_order(o.id, d.symbol, o.cancel_params())
    except Exception as exc:  # noqa: BLE001 - "already gone" is also an answer; the verifying read decides
        return Outcome(d, "failed", f"cancel refused: {exc}", o.id, f"{type(exc).__name__}: {exc}")
    return Outcome(d, "done", "cancelled", o.id)


async def _protect(client: Any, d: Decision, retries: int, backoff_s: float) -> Outcome:
    held = d.exchange
    assert held is not None and d.sl_price is not None
    if d.close_now:
        r = await emergency_close(client, held, f"mark {held.mark_price:g} already beyond the stop {d.sl_price:g}")
    else:
        r = await ensure_stop_loss(client, held, d.sl_price, existing=d.order, retries=retries, backoff_s=backoff_s)
    return Outcome(d, "done" if r.outcome in ("placed", "moved") else r.outcome, r.detail, r.order_id, r.error, r.price)


def _entry(out: Outcome, now: int, source: str) -> dict[str, Any]:
    d = out.decision
    return {"timestamp": now, "source": source, "kind": d.kind.value, "symbol": d.symbol, "runner_id": d.runner_id,
            "outcome": out.outcome, "detail": f"{d.detail}; {out.detail}" if out.detail else d.detail,
            "order_id": out.order_id, "error": out.error, "sl_price": out.price if out.price is not None else d.sl_price,
            "position": d.position.to_dict() if d.position else None}


async def _verify(client: Any, positions: dict[str, LocalPosition], cancelled: list[Decision]) -> list[str]:
    """A fresh read: every kept position exists and has a stop; every cancelled orphan is gone."""
    problems: list[str] = []
    try:
        held = {p.symbol: p for p in await fetch_positions(client)}
        open_ = await fetch_open_orders(client)
    except Exception as exc:  # noqa: BLE001 - reported, the decisions stand
        return [f"verifying read failed: {type(exc).__name__}: {exc}"]
    for sym, lp in positions.items():
        if sym not in held:
            problems.append(f"{sym}: kept locally but not on the exchange")
        elif not any(o.symbol == sym and o.role == "sl" and o.hold_side == lp.side for o in open_):
            problems.append(f"{sym}: no stop-loss listed")
    gone = {o.id for o in open_}
    problems += [f"{d.symbol}: order {d.order.id} still open" for d in cancelled if d.order and d.order.id in gone]
    return problems


async def apply_reconciliation(client: Any, decisions: Iterable[Decision], *, journal: Journal, alert: AlertFn,
                               retries: int = 3, backoff_s: float = 0.2, source: str = "boot",
                               now_ms: Callable[[], int] = _now_ms, verify: bool = True) -> ReconcileReport:
    """Execute `decisions` in order with the ccxt async client, verify, journal and alert each of them. A journal
    or alert failure is logged, never stops the remaining decisions (the exchange already changed)."""
    outcomes: list[Outcome] = []
    positions: dict[str, LocalPosition] = {}
    for d in decisions:
        if d.kind is DecisionKind.CANCEL_ORPHAN:
            out = await _cancel(client, d)
        elif d.kind is DecisionKind.DROP:
            out = Outcome(d, "done", "removed from the local state")
        elif d.kind is DecisionKind.REPLACE_SL:
            out = await _protect(client, d, retries, backoff_s)
            base = positions.get(d.symbol, d.position)
            if out.outcome in ("done", "kept") and base is not None:
                price = out.price if out.price is not None else d.sl_price
                positions[d.symbol] = replace(base, sl_price=price, sl_order_id=out.order_id)
            elif out.outcome == "closed":
                positions.pop(d.symbol, None)
        else:
            assert d.position is not None
            positions[d.symbol] = d.position
            out = Outcome(d, "done", "")
        outcomes.append(out)
        try:
            journal(_entry(out, now_ms(), source))
        except Exception:
            log.exception("journalling the %s decision for %s failed", d.kind.value, d.symbol)
    cancelled = [o.decision for o in outcomes if o.decision.kind is DecisionKind.CANCEL_ORPHAN and o.outcome == "done"]
    problems = await _verify(client, positions, cancelled) if verify and outcomes else []
    report = ReconcileReport([p.to_dict() for p in positions.values()], outcomes, problems)
    if outcomes:
        _send(alert, report, source)
    return report


def _send(alert: AlertFn, report: ReconcileReport, source: str) -> None:
    lines = [f"- {o.decision.symbol} {o.decision.kind.value} [{o.outcome}]: {o.decision.detail}"
             + (f"; {o.detail}" if o.detail else "") for o in report.outcomes]
    head = f"reconcile ({source}): {len(report.outcomes)} decision(s)"
    if report.failed:
        head += f", {len(report.failed)} FAILED"
    if report.problems:
        lines.append("still wrong: " + "; ".join(report.problems))
    try:
        alert(ALERT_KIND, "\n".join([head, *lines]))
    except Exception:
        log.exception("sending the reconcile alert failed")


async def reconcile(client: Any, local_positions: Sequence[LocalPosition | Mapping[str, Any]], *,
                    default_sl_pct: float, journal: Journal, alert: AlertFn, pending_order_ids: Collection[str] = (),
                    sl_pct_by_symbol: Mapping[str, float] | None = None, retries: int = 3,
                    backoff_s: float = 0.2) -> ReconcileReport:
    """Boot reconciliation: read positions and every open order (normal, TP/SL, trigger), the TP/SL history of
    symbols whose local position is gone, plan, apply. `report.positions` is the executor's new state."""
    check_sl_pct(default_sl_pct)
    locals_ = [LocalPosition.coerce(p) for p in local_positions]
    positions = await fetch_positions(client)
    orders = await fetch_open_orders(client)
    sides = {p.symbol: p.side for p in positions}
    closed: list[ExchangeOrder] = []
    for sym in sorted({lp.symbol for lp in locals_ if sides.get(lp.symbol) != lp.side}):
        try:
            closed += await fetch_closed_stops(client, sym)
        except Exception as exc:  # noqa: BLE001 - the history only explains a drop; the drop happens anyway
            log.warning("TP/SL history of %s unavailable: %s", sym, exc)
    decisions = plan_reconciliation(locals_, positions, orders, default_sl_pct=default_sl_pct,
                                    pending_order_ids=pending_order_ids, closed_stops=closed,
                                    sl_pct_by_symbol=sl_pct_by_symbol)
    return await apply_reconciliation(client, decisions, journal=journal, alert=alert, retries=retries,
                                      backoff_s=backoff_s)


# ---------------------------------------------------------------- the watchdog's check and fix
async def positions_without_sl(client: Any, symbols: Iterable[str] | None = None) -> list[str]:
    """Symbols (all, or among `symbols`) holding a position with no stop-loss covering it on the exchange."""
    positions = await fetch_positions(client, symbols)
    if not positions:
        return []
    stops = [o for o in await fetch_stop_orders(client) if o.role == "sl"]
    return sorted(p.symbol for p in positions
                  if not any(o.symbol == p.symbol and o.hold_side == p.side
                             and (o.plan_type == POSITION_SL or o.qty + 1e-12 >= p.qty) for o in stops))


async def fix_missing_sl(client: Any, symbol: str, sl_pct: float, *, sl_price: float | None = None,
                         journal: Journal | None = None, alert: AlertFn | None = None, retries: int = 3,
                         backoff_s: float = 0.2, source: str = "watchdog") -> Outcome | None:
    """Protect `symbol`'s position if it still has no stop: at `sl_price`, else `sl_pct` percent from the
    exchange's entry. None when there is nothing to fix (flat, or protected meanwhile). Journalled and alerted
    as a `replace_sl` decision (an emergency close when the mark is already beyond the stop)."""
    check_sl_pct(sl_pct)
    found = await fetch_positions(client, [symbol])
    if not found or symbol not in await positions_without_sl(client, [symbol]):
        return None
    held = found[0]
    stop = sl_price if sl_price is not None else default_stop(held.entry_price, held.side, sl_pct)
    pos = LocalPosition(symbol, None, held.side, held.qty, held.entry_price, stop)
    close_now = beyond_stop(held.side, stop, held.mark_price)
    then = f": mark {held.mark_price:g} is already beyond it, close at market" if close_now else ""
    d = Decision(DecisionKind.REPLACE_SL, symbol, f"{side_name(held.side)} {held.qty:g} @ {held.entry_price:g} found "
                 f"without a stop-loss; stop at {stop:g}{then}", None, pos, held, None, stop, close_now)
    report = await apply_reconciliation(client, [d], journal=journal or (lambda _e: None),
                                        alert=alert or (lambda _k, _m: None), retries=retries, backoff_s=backoff_s,
                                        source=source, verify=False)
    return report.outcomes[0]
