"""Server-side stop-loss of one exchange position: place (or move) it, verify it is listed, retry, and close
the position at market when it cannot be protected (SPEC §9: never a position without a stop-loss).

The stop is Bitget's position stop-loss (`pos_loss`, ccxt `stopLossPrice`): it closes the whole position
when it fires and stays valid as the position grows. The exchange refuses a stop already beyond the mark
(40917 long / 45122 short): the position is past its stop, so it is closed at once instead of retried.
"""
from __future__ import annotations

import asyncio
import logging
import math
import uuid
from dataclasses import dataclass
from typing import Any

from radar.live.exchange_state import (
    POSITION_SL,
    SL_PLAN_TYPES,
    ExchangeOrder,
    ExchangePosition,
    ReconcileError,
    close_side,
    side_name,
)

log = logging.getLogger(__name__)

WRONG_SIDE_CODES = ("40917", "45122")
DUPLICATE_CLIENT_OID = "40786"
STOP_ALREADY_EXISTS = "43031"
_VERIFY_REL = 1e-9


@dataclass(frozen=True, slots=True)
class StopLossResult:
    symbol: str
    outcome: str  # placed | moved | kept (one appeared meanwhile) | closed (emergency close) | failed
    order_id: str | None
    price: float | None
    attempts: int
    detail: str
    error: str | None = None

    @property
    def protected(self) -> bool:
        return self.outcome in ("placed", "moved", "kept")


def check_sl_pct(pct: float) -> float:
    if not (isinstance(pct, int | float) and 0 < pct < 100):
        raise ReconcileError(f"default stop-loss distance must be a percentage in (0, 100), got {pct!r}")
    return float(pct)


def default_stop(entry: float, side: int, pct: float) -> float:
    """The stop `pct` percent from the entry, on the losing side (the strategies' `sl_percent` rule)."""
    return entry * (1.0 - side * check_sl_pct(pct) / 100.0)


def beyond_stop(side: int, stop: float, mark: float | None) -> bool:
    """The mark is already at or past the stop: the exchange would refuse it, the position is stopped out."""
    return mark is not None and (mark <= stop if side > 0 else mark >= stop)


def new_client_oid(purpose: str = "sl") -> str:
    # Unique per placement (Bitget keeps used clientOids): retries of ONE placement reuse it, so a retry
    # after a timeout finds the order the exchange accepted (40786) instead of placing a second stop.
    return f"rc-{purpose}-{uuid.uuid4().hex[:24]}"


def _code(exc: BaseException, codes: tuple[str, ...]) -> bool:
    text = str(exc)
    return any(c in text for c in codes)


async def list_stops(client: Any, symbol: str) -> list[ExchangeOrder]:
    raw = await client.fetch_open_orders(symbol, None, None, {"trigger": True, "planType": "profit_loss"})
    return [o for o in map(ExchangeOrder.from_ccxt, raw) if o.plan_type in SL_PLAN_TYPES]


def _find(stops: list[ExchangeOrder], side: int, *, order_id: str | None = None,
          client_oid: str | None = None) -> ExchangeOrder | None:
    for o in stops:
        if o.hold_side == side and (o.id == order_id or (client_oid is not None and o.client_oid == client_oid)):
            return o
    return None


async def emergency_close(client: Any, position: ExchangePosition, reason: str, attempts: int = 0) -> StopLossResult:
    """Close the whole position at market and check it is gone."""
    sym = position.symbol
    try:
        await client.close_position(sym)
        left = [p for p in await client.fetch_positions([sym]) if (p.get("contracts") or 0) > 0 and p["symbol"] == sym]
    except Exception as exc:  # noqa: BLE001 - reported: the position may still be open without a stop
        return StopLossResult(sym, "failed", None, None, attempts, f"{reason}; emergency close failed",
                              f"{type(exc).__name__}: {exc}")
    if left:
        return StopLossResult(sym, "failed", None, None, attempts, f"{reason}; emergency close left {left[0]['contracts']} open",
                              "position still open")
    return StopLossResult(sym, "closed", None, None, attempts,
                          f"{reason}; {side_name(position.side)} {position.qty:g} closed at market")


async def ensure_stop_loss(client: Any, position: ExchangePosition, price: float, *,
                           existing: ExchangeOrder | None = None, client_oid: str | None = None, retries: int = 3,
                           backoff_s: float = 0.2, close_if_unprotected: bool = True) -> StopLossResult:
    """Protect `position` with a stop at `price`: move `existing` (a `pos_loss` stop: edited in place; any other
    stop: cancelled first) or place a new one; verify by listing; up to `retries` attempts with growing
    backoff. If it still is not protected, close at market (unless `close_if_unprotected` is False)."""
    sym, side = position.symbol, position.side
    if retries < 1:
        raise ReconcileError(f"stop-loss retries must be >= 1, got {retries}")
    stop = float(client.price_to_precision(sym, price))
    qty = float(client.amount_to_precision(sym, position.qty))
    cid = client_oid or new_client_oid()
    if existing is not None and existing.plan_type != POSITION_SL:
        try:
            await client.cancel_order(existing.id, sym, existing.cancel_params())
        except Exception as exc:  # noqa: BLE001 - gone already is fine; the new stop is verified below
            log.warning("cancelling stop %s on %s before replacing it failed: %s", existing.id, sym, exc)
        existing = None
    verb = "moved" if existing is not None else "placed"
    error = "not listed after placement"
    for attempt in range(1, retries + 1):
        try:
            if existing is not None:
                await client.edit_order(existing.id, sym, "market", close_side(side), qty, None, {"stopLossPrice": stop})
            else:
                params: dict[str, Any] = {"stopLossPrice": stop, "clientOrderId": cid}
                if position.margin_mode == "isolated":
                    params["marginMode"] = "isolated"  # ccxt sends crossed otherwise (Bitget 40808)
                await client.create_order(sym, "market", close_side(side), qty, None, params)
        except Exception as exc:  # noqa: BLE001 - every refusal is classified below
            if _code(exc, WRONG_SIDE_CODES):
                if not close_if_unprotected:
                    return StopLossResult(sym, "failed", None, stop, attempt, "stop beyond the mark", str(exc))
                return await emergency_close(client, position, f"stop {stop:g} refused: the mark is already beyond it",
                                             attempt)
            if _code(exc, (STOP_ALREADY_EXISTS,)):
                # Someone (the executor's own loop) protected it meanwhile: keep theirs.
                other = next((o for o in await list_stops(client, sym) if o.hold_side == side), None)
                if other is not None:
                    return StopLossResult(sym, "kept", other.id, other.trigger_price, attempt,
                                          f"a stop at {other.trigger_price:g} appeared meanwhile: kept")
            if not _code(exc, (DUPLICATE_CLIENT_OID,)):  # duplicate = an earlier attempt landed: verify it
                error = f"{type(exc).__name__}: {exc}"
                log.warning("stop-loss on %s attempt %d/%d failed: %s", sym, attempt, retries, error)
                await asyncio.sleep(backoff_s * attempt)
                continue
        stops = await list_stops(client, sym)
        found = _find(stops, side, order_id=existing.id if existing else None, client_oid=cid)
        if found is not None and found.trigger_price is not None and math.isclose(found.trigger_price, stop,
                                                                                   rel_tol=_VERIFY_REL):
            return StopLossResult(sym, verb, found.id, stop, attempt, f"stop {verb} at {stop:g}")
        error = "not listed after placement" if found is None else f"listed at {found.trigger_price}, wanted {stop}"
        await asyncio.sleep(backoff_s * attempt)
    if not close_if_unprotected:
        return StopLossResult(sym, "failed", None, stop, retries, f"stop at {stop:g} not placed", error)
    return await emergency_close(client, position, f"stop at {stop:g} not placed after {retries} attempts ({error})", retries)
