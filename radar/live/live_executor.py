"""LiveExecutor (SPEC §9): turns the runners' trade events into Bitget orders, asyncio, no Ray.

Rules it keeps:
- **Start:** one-way position mode, the configured margin mode and a leverage per symbol (the highest
  leverage among the strategies trading it, so no runner's entry needs more margin than it planned).
- **Entries:** each OPEN event passes the risk manager's pre-trade checks (`LiveRiskManager.check_entry`
  on an `AccountView` built from the exchange balance and positions), then goes out as a market order
  with a deterministic client order id (`radar.live.orders`). The journal row is written before the
  order is sent. A timeout or 5xx re-sends the SAME id; Bitget answers a second copy with 40786, and the
  executor then looks the order up instead of placing another, so no retry doubles an entry.
- **Never a position without a stop-loss:** after every fill the position stop-loss (`pos_loss`, it closes
  the whole position) is placed or moved to the stop of the new average entry — the runner's own stop
  (`extra["sl"]` of its OPEN event) when it sends one, else `sl_percent` of the runner's strategy on the
  exchange's average entry — then verified by listing the exchange's plan orders. Three failed attempts
  (short backoff) close the position at market (`close_position`) and raise a critical alert.
- **Exits:** a CLOSE event (grid TP, rule exit, the runner's own SL) is a market reduce-only close of what
  the runner holds; the stop-loss and take-profit left on the exchange are then cancelled. Single-position
  strategies (OPEN events with `extra["tp"]`/`extra["sl"]`, level -1) get TP and SL server-side.
- **Fills** arrive through a ccxt.pro `watch_orders` loop; an order with no push for `poll_after_s` (or
  while the private socket is down) is fetched by REST. A stop or take-profit that fires on the exchange
  shows up as an order it did not place (orderSource `pos_loss_market` ...): the position goes flat and the
  fill is journalled. Positions are also compared with the exchange's every `position_poll_s`.
- **One-way collisions:** a symbol belongs to the runner holding it; another runner's entry is refused
  (`symbol_busy`) and reported as a collision. After a refusal (or after the exchange closed a runner's
  position behind its back) that runner's later entries on the symbol are skipped until its own CLOSE.
- Every order and fill goes to `live_orders` (`OrderJournal`), refusals too (status `refused`).
- Every `snapshot_interval` (5 min) the account equity goes to the risk manager (session and global kill
  switches); its events become alerts.

An account that cannot be read refuses the entry (`exchange_unavailable`): the free margin is never guessed.

API keys are never logged: ccxt error texts pass through `redact` before they reach a log line, the
journal or an alert, and the client's own DEBUG request log (which prints the ACCESS-KEY and
ACCESS-PASSPHRASE headers) goes through a `RedactingLogger`.
"""
from __future__ import annotations

import asyncio
import importlib
import logging
import math
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import ccxt

from radar.config.models import AssetConfig, RiskConfig
from radar.events import EventKind, TradeEvent
from radar.exchange.bitget import RedactingLogger
from radar.live.clock import Clock
from radar.live.live_book import ExecutorConfig, LivePosition, TrackedOrder, side_name
from radar.live.messages import Alert
from radar.live.order_journal import OrderJournal
from radar.live.orders import (
    Collision, ContractRules, OrderIntent, OrderSizeError, Purpose, client_order_id, close_intent, collision,
    entry_intent, order_side, stop_loss_price,
)
from radar.live.risk_manager import AccountView, EntryRequest, LiveRiskManager, RefusalReason
from radar.live.selector import AdaptiveSelector, StrategyStats

log = logging.getLogger("radar.live.executor")

LIVE_STATE_VERSION = 1
RECENT = 100
EXTERNAL = "external"  # holder of a position the executor did not open (manual trade, another bot)
# Bitget orderSource of the orders the exchange places itself when a position TP/SL fires.
EXCHANGE_CLOSE_SOURCES = {"pos_loss_market": "stop_loss", "pos_loss_limit": "stop_loss",
                          "pos_profit_market": "take_profit", "pos_profit_limit": "take_profit"}
_TPSL_PLANS = ("pos_loss", "pos_profit", "loss_plan", "profit_plan")
_EPS = 1e-12
_CACHE_CHECK_S = 0.05  # while waiting for a fill, look at ccxt's order cache this often
_QTY_DECIMALS = 12  # sums of fills are rounded so they do not drift (sizes are quoted with <= 8 decimals)


def _code_in(exc: BaseException, *codes: str) -> bool:
    text = str(exc)
    return any(f'"{c}"' in text or f" {c} " in f" {text} " for c in codes)



def _owner(pos: LivePosition) -> str:
    """Who a position's stop orders are named after (a position adopted from the exchange has no runner)."""
    return pos.runner_id or f"adopted:{pos.symbol}"


class LiveExecutor:
    def __init__(self, client: Any, journal: OrderJournal, risk: RiskConfig,
                 assets: Mapping[str, AssetConfig] | Mapping[str, str], clock: Clock, config: ExecutorConfig, *,
                 notifier: Callable[[Alert], Any] | None = None, selector: AdaptiveSelector | None = None,
                 selector_source: Callable[[], Sequence[StrategyStats]] | None = None,
                 save_state: Callable[[dict[str, Any]], Any] | None = None,
                 exchange_name: str = "bitget") -> None:
        """`client`: a ccxt.pro bitget client with the account's credentials (REST and `watch_orders`).
        `selector_source()`: the selector's candidates, evaluated at start and whenever the selector is due.
        `save_state(state)`: called (in a worker thread) when fills or closes changed the state in the
        background; `on_events` callers save after each call themselves."""
        self.client = client
        self.journal = journal
        self.clock = clock
        self.cfg = config
        self.exchange_name = exchange_name
        self.risk_config, self.assets = risk, assets
        self.selector = selector
        self.selector_source = selector_source
        self.risk = LiveRiskManager(risk, assets, clock, selector)
        self.notifier = notifier
        self.save_state = save_state
        self._secrets = [s for s in (getattr(client, "apiKey", None), getattr(client, "secret", None),
                                     getattr(client, "password", None)) if isinstance(s, str) and len(s) >= 4]
        # ccxt logs every request's headers (ACCESS-KEY, ACCESS-PASSPHRASE) at DEBUG: redact them on the way out
        client.logger = RedactingLogger(logging.getLogger("ccxt.base.exchange"), self.redact)
        self.rules: dict[str, ContractRules] = {}
        self.positions: dict[str, LivePosition] = {}
        self.last_seq: dict[str, int] = {}
        self.halted: dict[tuple[str, str], str] = {}  # (runner, symbol) -> why its entries are skipped
        self._orders: dict[str, TrackedOrder] = {}  # client oid -> order in flight (and recent ones)
        self._by_id: dict[str, str] = {}  # exchange id -> client oid
        self._locks: dict[str, asyncio.Lock] = {}
        self._events_lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._cleanup_due: dict[str, tuple[LivePosition, str | None]] = {}
        self.refusals: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.refusal_counts: dict[str, int] = {}
        self.collisions: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.alerts: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.closed: deque[dict[str, Any]] = deque(maxlen=RECENT)  # positions that went flat and why
        self.runner_stops: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.unmanaged: dict[str, dict[str, Any]] = {}  # exchange positions the executor does not own
        self.latency_ms: deque[float] = deque(maxlen=500)  # order sent -> fill applied
        self.stats = {"events": 0, "duplicates": 0, "orders": 0, "fills": 0, "sl_placed": 0, "sl_moved": 0,
                      "sl_failures": 0, "emergency_closes": 0, "exchange_closes": 0, "foreign_orders": 0,
                      "ws_errors": 0, "polls": 0, "submit_retries": 0}
        self.ws_connected = False
        self._running = False
        self._dirty = False
        self._last_position_poll = 0.0
        self._last_clock_sync = -math.inf
        self._restored_pending: list[dict[str, Any]] = []
        self._cache_seen: dict[Any, tuple[Any, ...]] = {}  # ccxt order cache: the state last applied per order id

    # ------------------------------------------------------------------------------------------ helpers
    def redact(self, text: Any) -> str:
        out = str(text)
        for s in self._secrets:
            out = out.replace(s, "***")
        return out

    def _lock(self, symbol: str) -> asyncio.Lock:
        lock = self._locks.get(symbol)
        if lock is None:
            lock = self._locks[symbol] = asyncio.Lock()
        return lock

    def _alert(self, kind: str, message: str, severity: str = "warning") -> None:
        alert = Alert(kind, self.redact(message), self.clock.now_ms(), severity)
        self.alerts.append({"kind": alert.kind, "message": alert.message, "timestamp": alert.timestamp,
                            "severity": alert.severity})
        log.log(logging.CRITICAL if severity == "critical" else logging.WARNING, "[%s] %s", alert.kind, alert.message)
        if self.notifier is not None:
            try:
                self.notifier(alert)
            except Exception as exc:  # a broken notifier must not stop trading
                log.error("notifier failed on %s: %s", kind, self.redact(exc))

    def _spawn(self, coro: Any, what: str) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("%s failed: %s", what, self.redact(t.exception()))

        task.add_done_callback(done)

    def _params(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        params = dict(extra or {})
        if self.cfg.margin_mode == "isolated":
            params["marginMode"] = "isolated"  # ccxt sends crossed otherwise (40808)
        return params

    def _sl_percent(self, runner_id: str | None, strategy: str) -> float | None:
        pct = self.cfg.sl_percent.get(runner_id or "", self.cfg.sl_percent.get(strategy))
        return None if pct is None else float(pct)

    def _symbol_sl_percent(self) -> dict[str, float]:
        """Stop distance per symbol (the tightest of the runners trading it), for reconciliation."""
        out: dict[str, float] = {}
        for key, pct in self.cfg.sl_percent.items():
            _, sep, sym = key.partition(":")
            if sep and sym in self.cfg.leverage:
                out[sym] = min(out.get(sym, float(pct)), float(pct))
        return out

    # ------------------------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Account settings per symbol, background loops, first balance snapshot and selector evaluation."""
        self._events_lock = asyncio.Lock()
        try:
            await self.client.load_markets()
            for sym in self.cfg.symbols:
                self.rules[sym] = ContractRules.from_ccxt_market(self.client.market(sym))
            await self._setup_account()
            await self._sync_clock(force=True)
            await self._resolve_restored()
            await self._refresh_selector()
            await self._snapshot(force=True)
        except ccxt.AuthenticationError as exc:
            raise PermissionError(f"{self.exchange_name} refused the API credentials: {self.redact(exc)}") from None
        if not self.risk.armed:
            self.risk.arm()
        self._running = True
        self._spawn(self._watch_loop(), "watch_orders loop")
        self._spawn(self._maintenance_loop(), "maintenance loop")
        log.info("live executor started on %s: %d symbols, margin %s", self.exchange_name, len(self.rules),
                 self.cfg.margin_mode)

    async def _setup_account(self) -> None:
        first = True
        for sym in self.cfg.symbols:
            if first:  # the position mode is account-wide
                try:
                    await self.client.set_position_mode(False, sym)
                except ccxt.AuthenticationError:
                    raise
                except ccxt.ExchangeError as exc:
                    mode = await self._safe(self.client.fetch_position_mode(sym))
                    if not (isinstance(mode, dict) and mode.get("hedged") is False):
                        raise RuntimeError(f"cannot switch {self.exchange_name} to one-way mode: {self.redact(exc)}") from None
                first = False
            try:
                await self.client.set_margin_mode(self.cfg.margin_mode, sym)
            except ccxt.AuthenticationError:
                raise
            except ccxt.ExchangeError as exc:
                # 45117: a position or open order exists; fine if the mode already is the wanted one.
                current = await self._safe(self.client.fetch_margin_mode(sym))
                have = (current or {}).get("marginMode") if isinstance(current, dict) else None
                if have != self.cfg.margin_mode:
                    self._alert("margin_mode", f"{sym}: margin mode stays {have!r}, wanted {self.cfg.margin_mode} "
                                               f"({self.redact(exc)})", "critical")
            await self.client.set_leverage(int(self.cfg.leverage[sym]), sym)

    async def _safe(self, coro: Any) -> Any:
        try:
            return await coro
        except ccxt.BaseError as exc:
            log.warning("exchange call failed: %s", self.redact(exc))
            return None

    async def stop(self) -> None:
        self._running = False
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        try:
            await self.client.close()
        except Exception as exc:
            log.warning("closing the exchange client: %s", self.redact(exc))

    # ------------------------------------------------------------------------------------------ events
    async def on_events(self, events: Iterable[TradeEvent]) -> int:
        """Apply the runners' events in order; returns how many sent an order (entries and closes).
        A re-delivered event (seq <= the runner's last) is skipped."""
        if self._events_lock is None:
            raise RuntimeError("live executor: start() must run before on_events()")
        sent = 0
        async with self._events_lock:
            for e in events:
                if e.seq <= self.last_seq.get(e.runner_id, 0):
                    self.stats["duplicates"] += 1
                    continue
                self.stats["events"] += 1
                try:
                    if e.kind is EventKind.OPEN:
                        sent += await self._open(e)
                    elif e.kind is EventKind.CLOSE:
                        sent += await self._close(e)
                    else:
                        self.runner_stops.append({"runner_id": e.runner_id, "symbol": e.symbol, "reason": e.reason,
                                                  "timestamp": e.timestamp})
                except ccxt.BaseError as exc:
                    self._alert("order_error", f"{e.runner_id}#{e.seq} {e.kind.value} on {e.symbol}: "
                                               f"{type(exc).__name__}: {self.redact(exc)}", "critical")
                self.last_seq[e.runner_id] = e.seq
        self._dirty = False  # the caller saves after this call
        return sent

    def _refuse(self, intent_or_event: OrderIntent | TradeEvent, reason: str, detail: str,
                journal_intent: OrderIntent | None = None) -> None:
        e = intent_or_event
        record = {"timestamp": self.clock.now_ms(), "runner_id": e.runner_id, "strategy": e.strategy,
                  "symbol": e.symbol, "seq": e.seq, "reason": reason, "detail": detail,
                  "client_oid": journal_intent.client_oid if journal_intent else None}
        self.refusals.append(record)
        self.refusal_counts[reason] = self.refusal_counts.get(reason, 0) + 1
        if journal_intent is not None:
            self.journal.record(journal_intent, status="refused", error=f"{reason}: {detail}")
        log.info("entry refused (%s) %s#%s on %s: %s", reason, e.runner_id, e.seq, e.symbol, detail)

    async def _open(self, e: TradeEvent) -> int:
        key = (e.runner_id, e.symbol)
        rules = self.rules.get(e.symbol)
        if rules is None:
            self._refuse(e, RefusalReason.UNKNOWN_SYMBOL.value, f"the executor does not trade {e.symbol}")
            self.halted[key] = RefusalReason.UNKNOWN_SYMBOL.value
            return 0
        try:
            intent = entry_intent(e, rules)
        except OrderSizeError as exc:
            self._refuse(e, "order_size", str(exc))
            self.halted[key] = "order_size"
            return 0
        row = self.journal.get(intent.client_oid)
        if row is not None and row["status"] in ("filled", "refused", "rejected", "cancelled"):
            return 0  # this event was handled before a restart
        if row is None:
            why = self.halted.get(key)
            if why is not None:
                self._refuse(intent, why, f"an earlier entry of this {e.symbol} cycle was refused ({why}); "
                                          "skipped until the runner closes it", intent)
                return 0
            refusal = await self._pre_trade(intent)
            if refusal is not None:
                self._refuse(intent, refusal[0], refusal[1], intent)
                self.halted[key] = refusal[0]
                return 0
            self.journal.record(intent)
        order = self._track_intent(intent)
        async with self._lock(e.symbol):
            ok = await self._submit(order, lambda: self.client.create_order(
                e.symbol, "market", intent.side, intent.qty, None, self._params({"clientOrderId": intent.client_oid})))
            if ok:
                await self._await_fill(order)
        await self._ensure_protection(e.symbol)
        return 1 if ok else 0

    async def _pre_trade(self, intent: OrderIntent) -> tuple[str, str] | None:
        """The reason an entry may not go out, or None. Rules of the risk manager, plus: a position needs a
        stop rule, and a runner cannot add the other side to its own one-way position."""
        if intent.stop_loss is None and self._sl_percent(intent.runner_id, intent.strategy) is None:
            return "no_stop_rule", (f"no stop-loss for {intent.runner_id}: its OPEN event has no 'sl' and the "
                                    f"executor has no sl_percent for it, so the position could not be protected")
        pos = self.positions.get(intent.symbol)
        if pos is not None and pos.runner_id == intent.runner_id and pos.side != intent.position_side:
            return "side_conflict", (f"{intent.runner_id} holds a {side_name(pos.side)} position on {intent.symbol}; "
                                     f"a one-way account would net the {side_name(intent.position_side)} entry")
        account, error = None, ""
        for attempt in range(self.cfg.submit_attempts):
            try:
                account = await self._account_view()
                break
            except ccxt.NetworkError as exc:  # refusing is safe; guessing the free margin is not
                error = f"{type(exc).__name__}: {self.redact(exc)}"
                await asyncio.sleep(self.cfg.retry_backoff_s * 2 ** attempt)
        if account is None:
            return "exchange_unavailable", f"the account could not be read for the pre-trade checks ({error})"
        lev = self.cfg.leverage[intent.symbol]
        decision = self.risk.check_entry(EntryRequest(intent.runner_id, intent.strategy, intent.symbol,
                                                      intent.position_side, intent.notional, intent.notional / lev),
                                         account)
        if decision.allowed:
            return None
        assert decision.reason is not None
        if decision.reason is RefusalReason.SYMBOL_BUSY:
            holder = collision(intent.symbol, intent.runner_id, dict(account.positions)) or "?"
            c = Collision(self.clock.now_ms(), intent.symbol, holder, intent.runner_id, intent.seq, decision.detail)
            self.collisions.append(c.to_dict())
            self._alert("collision", f"{intent.runner_id} wanted to enter {intent.symbol}, which {holder} holds "
                                     "(one-way account): entry refused")
        return decision.reason.value, decision.detail

    async def _account_view(self) -> AccountView:
        balance = await self.client.fetch_balance()
        usdt = balance.get("USDT") or {}
        equity = float(usdt.get("total") or 0.0)
        free = float(usdt.get("free") or 0.0)
        holders: dict[str, str] = {}
        for p in await self.client.fetch_positions(self.cfg.symbols):
            if float(p.get("contracts") or 0.0) > 0:
                holders[p["symbol"]] = EXTERNAL
        for o in self._orders.values():
            if o.purpose == Purpose.ENTRY.value and not o.final and o.runner_id:
                holders[o.symbol] = o.runner_id
        for sym, pos in self.positions.items():
            holders[sym] = pos.runner_id
        return AccountView(equity, max(0.0, equity - free), free, holders)

    async def _close(self, e: TradeEvent) -> int:
        key = (e.runner_id, e.symbol)
        self.halted.pop(key, None)  # the runner's cycle ends here
        pos = self.positions.get(e.symbol)
        rules = self.rules.get(e.symbol)
        if pos is None or pos.runner_id != e.runner_id or rules is None:
            log.info("%s#%s close on %s: the runner holds nothing there on the exchange", e.runner_id, e.seq, e.symbol)
            return 0
        async with self._lock(e.symbol):
            pos = self.positions.get(e.symbol)
            if pos is None or pos.runner_id != e.runner_id:
                return 0
            intent = close_intent(e, pos.qty, rules)
            row = self.journal.get(intent.client_oid)
            if row is None:
                self.journal.record(intent)
            elif row["status"] in ("filled", "rejected", "cancelled"):
                return 0
            order = self._track_intent(intent)
            ok = await self._submit(order, lambda: self.client.create_order(
                e.symbol, "market", intent.side, intent.qty, None,
                self._params({"reduceOnly": True, "clientOrderId": intent.client_oid})))
            if ok:
                await self._await_fill(order)
            elif order.status == "rejected" and e.symbol in self.positions:
                await self._verify_flat(e.symbol)  # 22002: a stop may have closed it meanwhile
            await self._cleanup(e.symbol)
        if e.symbol in self.positions:
            await self._ensure_protection(e.symbol)  # a partial close keeps the stop on what is left
        return 1 if ok else 0

    # ------------------------------------------------------------------------------------------ orders
    def _track_intent(self, intent: OrderIntent) -> TrackedOrder:
        order = self._orders.get(intent.client_oid)
        if order is None:
            order = TrackedOrder(intent.client_oid, intent.symbol, intent.runner_id, intent.strategy, intent.purpose.value,
                           intent.side, intent.position_side, intent.qty, intent.reduce_only, intent.seq,
                           intent.event_ts, intent.stop_loss, intent.take_profit)
            self._orders[intent.client_oid] = order
        return order

    async def _submit(self, order: TrackedOrder, send: Callable[[], Any]) -> bool:
        """Send (or re-send with the same client id) until the exchange has the order. False when it refused it
        or nothing is known after every attempt (journal status `rejected` / `unknown`)."""
        order.sent_at = order.sent_at or time.monotonic()
        last: BaseException | None = None
        for attempt in range(self.cfg.submit_attempts):
            if attempt:
                self.stats["submit_retries"] += 1
                await asyncio.sleep(self.cfg.retry_backoff_s * 2 ** (attempt - 1))
            try:
                placed = await send()
                self._ack(order, str(placed["id"]))
                self.stats["orders"] += 1
                return True
            except ccxt.NetworkError as exc:  # timeout, 5xx, rate limit: the order may or may not be there
                last = exc
                log.warning("%s: no answer (%s), re-sending the same client id", order.client_oid, type(exc).__name__)
                continue
            except ccxt.ExchangeError as exc:
                if _code_in(exc, "40786"):  # an earlier copy got through: adopt it instead of placing another
                    found = await self._lookup(order)
                    if found is not None:
                        self._ack(order, str(found["id"]))
                        self._apply_update(found, "lookup")
                        self.stats["orders"] += 1
                        return True
                    last = exc
                    continue
                self._reject(order, exc)
                return False
        found = await self._lookup(order)
        if found is not None:
            self._ack(order, str(found["id"]))
            self._apply_update(found, "lookup")
            self.stats["orders"] += 1
            return True
        order.status = "unknown"
        self.journal.update(order.client_oid, status="unknown", error=self.redact(f"{type(last).__name__}: {last}"))
        self._alert("order_unknown", f"{order.client_oid} on {order.symbol}: no answer after "
                                     f"{self.cfg.submit_attempts} attempts ({type(last).__name__}); it is looked up "
                                     "again in the background", "critical")
        return False

    def _reject(self, order: TrackedOrder, exc: BaseException) -> None:
        order.status = "rejected"
        order.done.set()
        self.journal.update(order.client_oid, status="rejected", error=self.redact(f"{type(exc).__name__}: {exc}"))
        log.warning("%s on %s rejected: %s", order.client_oid, order.symbol, self.redact(exc))

    def _ack(self, order: TrackedOrder, order_id: str) -> None:
        order.order_id = order_id
        self._by_id[order_id] = order.client_oid
        if order.status in ("new", "unknown"):
            order.status = "open"
            self.journal.update(order.client_oid, status="open", exchange_order_id=order_id)
        else:
            self.journal.update(order.client_oid, exchange_order_id=order_id)

    async def _lookup(self, order: TrackedOrder) -> dict[str, Any] | None:
        try:
            if order.order_id:
                return await self.client.fetch_order(order.order_id, order.symbol)
            return await self.client.fetch_order(None, order.symbol, {"clientOrderId": order.client_oid})
        except ccxt.OrderNotFound:
            return None
        except ccxt.BaseError as exc:
            log.warning("looking up %s: %s", order.client_oid, self.redact(exc))
            return None

    async def _await_fill(self, order: TrackedOrder) -> None:
        """Until the order is final or `fill_timeout_s` passed; a push that does not come is replaced by a poll."""
        start = time.monotonic()
        deadline, next_poll = start + self.cfg.fill_timeout_s, start + self.cfg.poll_after_s
        self._sweep_cache()  # the fill's push often arrives with (or before) the order's REST answer
        while not order.final:
            now = time.monotonic()
            if now >= deadline:
                log.warning("%s on %s not filled after %.1f s; followed in the background", order.client_oid,
                            order.symbol, self.cfg.fill_timeout_s)
                return
            try:
                await asyncio.wait_for(order.done.wait(), min(_CACHE_CHECK_S, deadline - now))
            except asyncio.TimeoutError:
                self._sweep_cache()
                if not order.final and time.monotonic() >= next_poll:
                    await self._poll(order)
                    next_poll = time.monotonic() + self.cfg.poll_after_s

    def _sweep_cache(self) -> None:
        """Apply what ccxt's order cache holds but no watch call returned: ccxt only wakes a call that is already
        waiting, so of two pushes arriving together (an order's placement and its fill) the second lands in the
        cache alone until the next push."""
        cache = getattr(self.client, "orders", None)
        if not cache:
            return
        for o in list(cache):
            key = (o.get("id"), o.get("status"), o.get("remaining"), o.get("filled"))
            if self._cache_seen.get(o.get("id")) != key:
                self._cache_seen[o.get("id")] = key
                self._apply_update(o, "ws")

    async def _poll(self, order: TrackedOrder) -> None:
        self.stats["polls"] += 1
        found = await self._lookup(order)
        if found is not None:
            if order.order_id is None:
                self._ack(order, str(found["id"]))
            self._apply_update(found, "poll")

    # ------------------------------------------------------------------------------------------ fills
    def _apply_update(self, o: Mapping[str, Any], source: str) -> None:
        """One order state from a push or REST (synchronous: nothing else runs in between)."""
        cid = o.get("clientOrderId")
        oid = None if o.get("id") is None else str(o["id"])
        order = self._orders.get(cid) if cid else None
        if order is None and oid is not None and oid in self._by_id:
            order = self._orders.get(self._by_id[oid])
        if order is None:
            order = self._adopt(o)
            if order is None:
                return
        if oid is not None and order.order_id is None:
            order.order_id = oid
            self._by_id[oid] = order.client_oid
        order.last_update = time.monotonic()
        info = o.get("info") or {}
        amount = o.get("amount")
        remaining = o.get("remaining")
        if amount is not None and remaining is not None:
            cum = float(amount) - float(remaining)  # ccxt's `filled` on a push is that fill's size only
        else:
            cum = float(o.get("filled") or 0.0)
        if info.get("accBaseVolume") not in (None, ""):
            cum = float(info["accBaseVolume"])
        avg = float(o.get("average") or 0.0)
        fee_cum = float((o.get("fee") or {}).get("cost") or 0.0)
        if cum > order.filled + _EPS:
            delta = cum - order.filled
            price = (avg * cum - order.avg * order.filled) / delta if avg > 0 else float(o.get("price") or 0.0)
            one_fill = source == "ws" and info.get("fillPrice") not in (None, "") and \
                abs(float(o.get("filled") or 0.0) - delta) <= _EPS * max(1.0, delta) * 1e3
            if one_fill:
                price = float(info["fillPrice"])
            fee = max(0.0, fee_cum - order.fee)
            fill = {"fill_id": str(info.get("tradeId") or f"{oid}:{cum:.12g}") if one_fill else f"{oid}:{cum:.12g}",
                    "price": price, "qty": delta, "fee": fee, "ts": int(o.get("lastTradeTimestamp") or o.get("timestamp")
                                                                         or self.clock.now_ms()),
                    "source": source}
            order.filled, order.avg, order.fee = round(cum, _QTY_DECIMALS), avg if avg > 0 else price, fee_cum
            self.stats["fills"] += 1
            if order.sent_at:
                self.latency_ms.append((time.monotonic() - order.sent_at) * 1000.0)
            self.journal.update(order.client_oid, filled_qty=cum, avg_fill_price=order.avg, fill=fill)
            self._position_fill(order, delta, price)
        status = str(o.get("status") or "")
        if status == "closed" or (amount is not None and cum >= float(amount) - _EPS and cum > 0):
            new = "filled"
        elif status in ("canceled", "cancelled", "expired"):
            new = "cancelled"
        elif status == "rejected":
            new = "rejected"
        elif cum > 0:
            new = "partially_filled"
        else:
            new = "open" if order.status in ("new", "unknown", "open") else order.status
        if new != order.status:
            order.status = new
            self.journal.update(order.client_oid, status=new)
        if order.final:
            order.done.set()
            self._dirty = True

    def _adopt(self, o: Mapping[str, Any]) -> TrackedOrder | None:
        """An order the executor did not place: the close of a fired stop / take-profit, or a manual order."""
        info = o.get("info") or {}
        sym = o.get("symbol")
        oid = None if o.get("id") is None else str(o["id"])
        source = str(info.get("orderSource") or "")
        pos = self.positions.get(str(sym))
        if pos is None or not (o.get("reduceOnly") or source in EXCHANGE_CLOSE_SOURCES) or oid is None:
            if oid is not None and oid not in self._by_id:
                self._by_id[oid] = ""
                self.stats["foreign_orders"] += 1
                log.warning("order %s on %s was not placed by the executor (source %r)", oid, sym, source)
            return None
        cid = str(o.get("clientOrderId") or f"ex-{oid}")
        side = str(o.get("side") or order_side(pos.side, True))
        # an emergency close's push may arrive before close_position() returns
        purpose = "x" if pos.closing else "exchange"
        order = TrackedOrder(cid, pos.symbol, pos.runner_id, pos.strategy, purpose, side, pos.side,
                       float(o.get("amount") or pos.qty), True, source=source)
        order.order_id = oid
        self._orders[cid] = order
        self._by_id[oid] = cid
        self.journal.record_external(cid, symbol=pos.symbol, side=side,
                                     order_type="close_position" if purpose == "x" else "market", qty=order.qty,
                                     reduce_only=True, runner_id=pos.runner_id, exchange_order_id=oid,
                                     error=f"placed by the exchange ({source})" if source else None)
        if purpose == "exchange":
            self.stats["exchange_closes"] += 1
        return order

    def _position_fill(self, order: TrackedOrder, qty: float, price: float) -> None:
        sym = order.symbol
        pos = self.positions.get(sym)
        if order.purpose == Purpose.ENTRY.value:
            if pos is None:
                self.positions[sym] = LivePosition(sym, order.runner_id or "", order.strategy, order.position_side, qty,
                                                   price, order.seq, order.event_ts, self.clock.now_ms(),
                                                   order.stop_loss, order.take_profit)
            elif pos.side == order.position_side:
                total = round(pos.qty + qty, _QTY_DECIMALS)
                pos.avg_entry = (pos.avg_entry * pos.qty + price * qty) / total
                pos.qty = total
            else:  # never sent by this executor (side_conflict); kept consistent with the exchange's netting
                pos.qty = round(pos.qty - qty, _QTY_DECIMALS)
            self._dirty = True
            if self._running:
                self._spawn(self._ensure_protection(sym), f"protecting {sym}")
            return
        if pos is None:
            return
        pos.qty = round(pos.qty - qty, _QTY_DECIMALS)
        step = self.rules[sym].qty_step if sym in self.rules else 1e-9
        self._dirty = True
        if pos.qty <= step / 2:
            del self.positions[sym]
            fired = EXCHANGE_CLOSE_SOURCES.get(order.source)
            reason = {"x": "emergency_close", "exchange": f"exchange_{fired}" if fired else "exchange_close"}.get(
                order.purpose, "runner_close")
            self.closed.append({"symbol": sym, "runner_id": pos.runner_id, "reason": reason, "qty": pos.qty + qty,
                                "avg_entry": pos.avg_entry, "exit_price": price, "timestamp": self.clock.now_ms()})
            if order.purpose in ("x", "exchange"):
                # the runner does not know: its entries wait for its own CLOSE
                self.halted[(pos.runner_id, sym)] = reason
                if order.purpose == "exchange":
                    self._alert("exchange_close", f"{sym}: the exchange closed {pos.runner_id}'s "
                                                  f"{side_name(pos.side)} position ({order.source or 'reduce-only order'}) "
                                                  f"at {price:g}", "info")
            self._cleanup_due[sym] = (pos, fired)
            if self._running:
                self._spawn(self._locked_cleanup(sym), f"cleaning up {sym}")

    # ------------------------------------------------------------------------------------------ protection
    def _desired_stop(self, pos: LivePosition) -> float | None:
        rules = self.rules[pos.symbol]
        if pos.fixed_sl is not None:
            return rules.stop_price(pos.fixed_sl, pos.side)
        pct = self._sl_percent(pos.runner_id, pos.strategy)
        if pct is None:
            return None
        return rules.stop_price(stop_loss_price(pos.side, pos.avg_entry, pct), pos.side)

    async def _ensure_protection(self, symbol: str) -> None:
        """Place or move the position's stop-loss (and a single strategy's take-profit); after
        `sl_attempts` failures close the position at market."""
        async with self._lock(symbol):
            pos = self.positions.get(symbol)
            if pos is None or pos.closing:
                return
            want = self._desired_stop(pos)
            if want is None:
                self._alert("missing_sl", f"{symbol}: no stop rule for {pos.runner_id}; closing the position", "critical")
                await self._emergency_close(pos, "no stop rule")
                return
            if not (pos.sl_order_id and pos.sl_price is not None and
                    abs(pos.sl_price - want) <= self.rules[symbol].price_tick / 2):
                if not await self._place_stop(pos, want):
                    await self._emergency_close(pos, f"the stop-loss at {want:g} could not be placed after "
                                                     f"{self.cfg.sl_attempts} attempts")
                    return
            if pos.fixed_tp is not None and pos.tp_order_id is None and pos.tp_attempts < 3:
                await self._place_take_profit(pos)

    async def _find_plan(self, symbol: str, plan_type: str) -> dict[str, Any] | None:
        listed = await self.client.fetch_open_orders(symbol, None, None, {"trigger": True, "planType": "profit_loss"})
        for o in listed:
            if (o.get("info") or {}).get("planType") == plan_type:
                return o
        return None

    async def _place_stop(self, pos: LivePosition, want: float) -> bool:
        sym, tick = pos.symbol, self.rules[pos.symbol].price_tick
        close_side = order_side(pos.side, True)
        moving = pos.sl_order_id is not None
        if pos.sl_client_oid is None:
            pos.sl_client_oid = client_order_id(_owner(pos), pos.seq, pos.event_ts, Purpose.STOP_LOSS,
                                                pos.sl_generation)
        cid = pos.sl_client_oid
        self.journal.record_external(cid, symbol=sym, side=close_side, order_type="stop_loss", qty=pos.qty,
                                     reduce_only=True, runner_id=pos.runner_id, exchange_order_id=pos.sl_order_id,
                                     status="new", price=want)
        error = ""
        for attempt in range(self.cfg.sl_attempts):
            if attempt:
                await asyncio.sleep(self.cfg.sl_backoff_s * attempt)
            try:
                if pos.sl_order_id:
                    await self.client.edit_order(pos.sl_order_id, sym, "market", close_side, pos.qty, None,
                                                 {"stopLossPrice": want})
                else:
                    try:
                        placed = await self.client.create_order(sym, "market", close_side, pos.qty, None,
                                                                {"stopLossPrice": want, "clientOrderId": cid})
                        pos.sl_order_id = str(placed["id"])
                    except ccxt.ExchangeError as exc:
                        if not _code_in(exc, "43031", "40786"):  # 43031: one already there (ours, from before)
                            raise
                        existing = await self._find_plan(sym, "pos_loss")
                        if existing is None:
                            raise
                        pos.sl_order_id = str(existing["id"])
                        if abs(float(existing.get("triggerPrice") or 0) - want) > tick / 2:
                            await self.client.edit_order(pos.sl_order_id, sym, "market", close_side, pos.qty, None,
                                                         {"stopLossPrice": want})
                listed = await self._find_plan(sym, "pos_loss")
                if listed is not None and str(listed["id"]) == pos.sl_order_id and \
                        abs(float(listed.get("triggerPrice") or 0) - want) <= tick / 2:
                    pos.sl_price = want
                    self.stats["sl_moved" if moving else "sl_placed"] += 1
                    self.journal.update(cid, status="live", price=want, qty=pos.qty, exchange_order_id=pos.sl_order_id)
                    self._dirty = True
                    log.info("%s stop-loss %s at %g (avg entry %g, qty %g)", sym, "moved" if moving else "placed",
                             want, pos.avg_entry, pos.qty)
                    return True
                error = f"not listed at {want:g} after placement (found {listed and listed.get('triggerPrice')})"
                if listed is None:
                    pos.sl_order_id = None
            except ccxt.BaseError as exc:
                error = f"{type(exc).__name__}: {self.redact(exc)}"
                if _code_in(exc, "43020", "43025"):  # the exchange no longer has that stop: place a new one
                    pos.sl_order_id = None
                    pos.sl_generation += 1
                    self.journal.update(cid, status="cancelled", error="gone from the exchange")
                    cid = pos.sl_client_oid = client_order_id(_owner(pos), pos.seq, pos.event_ts,
                                                              Purpose.STOP_LOSS, pos.sl_generation)
                    self.journal.record_external(cid, symbol=sym, side=close_side, order_type="stop_loss",
                                                 qty=pos.qty, reduce_only=True, runner_id=pos.runner_id,
                                                 exchange_order_id=None, status="new", price=want)
            self.stats["sl_failures"] += 1
            log.warning("%s stop-loss attempt %d/%d at %g failed: %s", sym, attempt + 1, self.cfg.sl_attempts, want, error)
        self.journal.update(cid, status="failed" if pos.sl_order_id is None else "live", error=error[:500])
        return False

    async def _place_take_profit(self, pos: LivePosition) -> None:
        sym, tp = pos.symbol, self.rules[pos.symbol].round_price(float(pos.fixed_tp or 0))
        pos.tp_attempts += 1
        cid = pos.tp_client_oid = pos.tp_client_oid or client_order_id(_owner(pos), pos.seq, pos.event_ts,
                                                                       Purpose.TAKE_PROFIT)
        close_side = order_side(pos.side, True)
        self.journal.record_external(cid, symbol=sym, side=close_side, order_type="take_profit", qty=pos.qty,
                                     reduce_only=True, runner_id=pos.runner_id, exchange_order_id=None, status="new",
                                     price=tp)
        try:
            try:
                placed = await self.client.create_order(sym, "market", close_side, pos.qty, None,
                                                        {"takeProfitPrice": tp, "clientOrderId": cid})
                tp_id = str(placed["id"])
            except ccxt.ExchangeError as exc:
                if not _code_in(exc, "43030", "40786"):
                    raise
                existing = await self._find_plan(sym, "pos_profit")
                if existing is None:
                    raise
                tp_id = str(existing["id"])
            listed = await self._find_plan(sym, "pos_profit")
            if listed is not None and str(listed["id"]) == tp_id:
                pos.tp_order_id, pos.tp_price = tp_id, float(listed.get("triggerPrice") or tp)
                self.journal.update(cid, status="live", exchange_order_id=tp_id)
                self._dirty = True
                return
            raise ccxt.ExchangeError(f"take-profit {tp_id} not listed after placement")
        except ccxt.BaseError as exc:
            self.journal.update(cid, error=self.redact(exc)[:500])
            self._alert("take_profit_failed", f"{sym}: take-profit at {tp:g} not placed "
                                              f"(attempt {pos.tp_attempts}/3): {self.redact(exc)}")

    async def _emergency_close(self, pos: LivePosition, why: str) -> None:
        sym = pos.symbol
        pos.closing = True
        self.stats["emergency_closes"] += 1
        self._alert("missing_sl", f"{sym}: {why}; closing {pos.runner_id}'s {side_name(pos.side)} position of "
                                  f"{pos.qty:g} at market", "critical")
        try:
            placed = await self.client.close_position(sym)
        except ccxt.BaseError as exc:
            if _code_in(exc, "22002"):
                await self._verify_flat(sym)
                return
            pos.closing = False  # the next maintenance round tries again
            self._alert("unprotected_position", f"{sym}: emergency close failed, the position has NO stop-loss: "
                                                f"{self.redact(exc)}", "critical")
            return
        oid = str(placed["id"])
        cid = self._by_id.get(oid) or str(placed.get("clientOrderId") or f"ex-{oid}")
        order = self._orders.get(cid)
        if order is None:
            order = TrackedOrder(cid, sym, pos.runner_id, pos.strategy, "x", order_side(pos.side, True), pos.side, pos.qty,
                           True, sent_at=time.monotonic())
            order.order_id = oid
            self._orders[cid] = order
            self._by_id[oid] = cid
            self.journal.record_external(cid, symbol=sym, side=order.side, order_type="close_position", qty=pos.qty,
                                         reduce_only=True, runner_id=pos.runner_id, exchange_order_id=oid,
                                         error=f"emergency close: {why}"[:500])
        else:
            order.purpose = "x"  # its push arrived first and was adopted as an exchange close
        await self._await_fill(order)

    async def _verify_flat(self, symbol: str) -> None:
        """The exchange says there is nothing to close: find out what closed it, else drop it locally."""
        positions = await self.client.fetch_positions([symbol])
        if any(float(p.get("contracts") or 0) > 0 for p in positions):
            return
        await self._explain_flat(symbol)

    async def _explain_flat(self, symbol: str) -> None:
        pos = self.positions.get(symbol)
        if pos is None:
            return
        try:
            fired = await self.client.fetch_closed_orders(symbol, None, None, {"trigger": True, "planType": "profit_loss"})
        except ccxt.BaseError as exc:
            fired = []
            log.warning("%s: plan history unavailable: %s", symbol, self.redact(exc))
        for t in fired:
            info = t.get("info") or {}
            if str(t.get("id")) in (pos.sl_order_id, pos.tp_order_id) and info.get("executeOrderId"):
                try:
                    self._apply_update(await self.client.fetch_order(str(info["executeOrderId"]), symbol), "poll")
                except ccxt.BaseError as exc:
                    log.warning("%s: executed plan order lookup failed: %s", symbol, self.redact(exc))
        pos = self.positions.get(symbol)
        if pos is not None:  # closed by something the executor cannot see: drop it, loudly
            del self.positions[symbol]
            self.halted[(pos.runner_id, symbol)] = "closed_outside"
            self.closed.append({"symbol": symbol, "runner_id": pos.runner_id, "reason": "closed_outside", "qty": pos.qty,
                                "avg_entry": pos.avg_entry, "exit_price": None, "timestamp": self.clock.now_ms()})
            self._cleanup_due[symbol] = (pos, None)
            self._dirty = True
            self._alert("position_closed_outside", f"{symbol}: {pos.runner_id}'s position is gone from the exchange "
                                                   "and no closing order was found", "critical")

    async def _locked_cleanup(self, symbol: str) -> None:
        async with self._lock(symbol):
            await self._cleanup(symbol)

    async def _cleanup(self, symbol: str) -> None:
        """After a position went flat: cancel its stop-loss / take-profit if still listed, journal their end."""
        due = self._cleanup_due.get(symbol)
        if due is None:
            return
        if symbol in self.positions:  # a new position: its own stop is in place of the old one
            self._cleanup_due.pop(symbol, None)
            return
        pos, fired = due
        try:
            for t in await self.client.fetch_open_orders(symbol, None, None, {"trigger": True, "planType": "profit_loss"}):
                plan = (t.get("info") or {}).get("planType")
                if plan in _TPSL_PLANS:
                    await self.client.cancel_order(str(t["id"]), symbol, {"trigger": True, "planType": plan})
        except ccxt.BaseError as exc:  # left in _cleanup_due: the maintenance loop tries again
            log.warning("%s: cancelling the stops left after the close failed: %s", symbol, self.redact(exc))
            return
        for cid, kind in ((pos.sl_client_oid, "stop_loss"), (pos.tp_client_oid, "take_profit")):
            if cid:
                row = self.journal.get(cid)
                if row is not None and row["status"] in ("new", "live"):
                    self.journal.update(cid, status="executed" if fired == kind else "cancelled")
        if self._cleanup_due.get(symbol) is due:
            del self._cleanup_due[symbol]

    # ------------------------------------------------------------------------------------------ background
    async def _watch_loop(self) -> None:
        backoff = 0.5
        while self._running:
            watch = asyncio.ensure_future(self.client.watch_orders())
            try:
                # ccxt fails a watch at once when it cannot connect or log in: one still waiting is subscribed
                done, _ = await asyncio.wait({watch}, timeout=1.0)
                if not done:
                    self.ws_connected = True
                orders = await watch
                self.ws_connected = True
                backoff = 0.5
                for o in list(orders):
                    self._cache_seen[o.get("id")] = (o.get("id"), o.get("status"), o.get("remaining"), o.get("filled"))
                    self._apply_update(o, "ws")
                self._sweep_cache()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the socket dropped: REST polling covers until it is back
                self.ws_connected = False
                self.stats["ws_errors"] += 1
                log.warning("private socket: %s: %s; polling by REST meanwhile", type(exc).__name__, self.redact(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
            finally:
                if not watch.done():
                    watch.cancel()

    async def _maintenance_loop(self) -> None:
        while self._running:
            await asyncio.sleep(self.cfg.maintenance_s)
            try:
                await self.maintain()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("maintenance round failed: %s: %s", type(exc).__name__, self.redact(exc))

    async def maintain(self) -> None:
        """One background round: REST fallback for silent orders, positions vs the exchange, protection,
        balance snapshot, selector, state save."""
        now = time.monotonic()
        for order in [o for o in self._orders.values() if not o.final and o.status != "new"]:
            if not self.ws_connected or now - max(order.last_update, order.sent_at) >= self.cfg.poll_after_s:
                await self._poll(order)
        if not self.ws_connected or now - self._last_position_poll >= self.cfg.position_poll_s:
            self._last_position_poll = now
            await self._check_positions()
        closing = {o.symbol for o in self._orders.values() if o.purpose == "x" and not o.final}
        for sym in list(self.positions):
            pos = self.positions.get(sym)
            if pos is not None and pos.closing and sym not in closing:
                pos.closing = False  # the emergency close ended without flattening it: protect or close again
            if pos is not None and not pos.closing:
                await self._ensure_protection(sym)
        for sym in list(self._cleanup_due):
            await self._locked_cleanup(sym)
        await self._sync_clock()
        await self._snapshot()
        await self._refresh_selector()
        self._forget_finished()
        if self._dirty and self.save_state is not None:
            self._dirty = False
            await asyncio.to_thread(self.save_state, self.to_state())

    def _forget_finished(self) -> None:
        if len(self._orders) <= 2 * RECENT:
            return
        for cid in [c for c, o in self._orders.items() if o.final][: len(self._orders) - RECENT]:
            del self._orders[cid]

    async def _check_positions(self) -> None:
        busy = {o.symbol for o in self._orders.values() if not o.final}
        exchange = {p["symbol"]: p for p in await self.client.fetch_positions(self.cfg.symbols)
                    if float(p.get("contracts") or 0) > 0}
        for sym in list(self.positions):
            if sym not in exchange and sym not in busy and not self._lock(sym).locked():
                await self._explain_flat(sym)
        unmanaged = {s: {"side": p.get("side"), "qty": float(p["contracts"]), "entry": p.get("entryPrice")}
                     for s, p in exchange.items() if s not in self.positions and s not in busy}
        for sym in sorted(set(unmanaged) - set(self.unmanaged)):
            self._alert("unmanaged_position", f"{sym}: the exchange holds a {unmanaged[sym]['side']} position of "
                                              f"{unmanaged[sym]['qty']:g} the executor did not open")
        self.unmanaged = unmanaged

    async def _sync_clock(self, force: bool = False) -> None:
        sync = getattr(self.clock, "sync", None)
        now = time.monotonic()
        if sync is None or (not force and now - self._last_clock_sync < self.cfg.clock_sync_s):
            return
        self._last_clock_sync = now
        server = await self._safe(self.client.fetch_time())
        if server is not None:
            sync(int(server))

    async def _snapshot(self, force: bool = False) -> None:
        now = self.clock.now_ms()
        if not force and not self.risk.snapshot_due(now):
            return
        if self.risk.last_snapshot_ms is not None and now <= self.risk.last_snapshot_ms:
            return
        balance = await self._safe(self.client.fetch_balance())
        if not balance:
            return
        equity = float((balance.get("USDT") or {}).get("total") or 0.0)
        for ev in self.risk.on_balance_snapshot(now, max(0.0, equity)):
            self._alert("kill_switch", f"{ev.kind}: {ev.detail}", "critical" if ev.kind.endswith("trip") else "info")
        self._dirty = True

    async def _refresh_selector(self) -> None:
        if self.selector is None or self.selector_source is None:
            return
        now = self.clock.now_ms()
        if not self.selector.due(now):
            return
        stats = await asyncio.to_thread(self.selector_source)
        self.selector.evaluate(now, list(stats))

    async def _resolve_restored(self) -> None:
        """Orders in flight when the state was saved: find out what became of them."""
        pending, self._restored_pending = self._restored_pending, []
        for st in pending:
            order = TrackedOrder(**{k: st[k] for k in ("client_oid", "symbol", "runner_id", "strategy", "purpose", "side",
                                                 "position_side", "qty", "reduce_only", "seq", "event_ts", "stop_loss",
                                                 "take_profit", "order_id", "filled", "avg", "fee", "status", "source")})
            self._orders[order.client_oid] = order
            if order.order_id:
                self._by_id[order.order_id] = order.client_oid
            found = await self._lookup(order)
            if found is not None:
                self._apply_update(found, "poll")
            elif order.status in ("new", "unknown"):
                order.status = "rejected"
                order.done.set()
                self.journal.update(order.client_oid, status="rejected", error="not on the exchange after a restart")

    # ------------------------------------------------------------------------------------------ views, state
    def local_positions(self) -> list[dict[str, Any]]:
        return [p.plain() for _, p in sorted(self.positions.items())]

    def status(self) -> dict[str, Any]:
        lat = sorted(self.latency_ms)
        return {
            "mode": "live", "exchange": self.exchange_name, "ws_connected": self.ws_connected,
            "margin_mode": self.cfg.margin_mode, "leverage": dict(self.cfg.leverage),
            "positions": [p.plain() | {"strategy": p.strategy, "protected": p.sl_order_id is not None and
                                       p.sl_price is not None, "closing": p.closing}
                          for _, p in sorted(self.positions.items())],
            "open_orders": [o.to_state() for o in self._orders.values() if not o.final],
            "stop_losses": {s: {"price": p.sl_price, "order_id": p.sl_order_id, "client_oid": p.sl_client_oid}
                            for s, p in sorted(self.positions.items())},
            "refusals": list(self.refusals), "refusal_counts": dict(self.refusal_counts),
            "collisions": list(self.collisions), "alerts": list(self.alerts), "closed": list(self.closed),
            "halted": [{"runner_id": r, "symbol": s, "reason": why} for (r, s), why in sorted(self.halted.items())],
            "runner_stops": list(self.runner_stops), "unmanaged_positions": dict(self.unmanaged),
            "cleanup_pending": sorted(self._cleanup_due),
            "stats": dict(self.stats),
            "latency_ms": {"samples": len(lat), "p50": statistics.median(lat) if lat else None,
                           "max": lat[-1] if lat else None},
            "risk": self.risk.status(),
            "selector": self.selector.selection.to_dict() if self.selector and self.selector.selection else None,
        }

    def to_state(self) -> dict[str, Any]:
        """For `executor_state.json`. `positions` are plain dicts (symbol, runner_id, side, qty, avg_entry,
        sl_price, sl_order_id, tp_price, tp_order_id); `position_meta` keeps the rest per symbol."""
        return {
            "version": LIVE_STATE_VERSION, "mode": "live",
            "positions": self.local_positions(),
            "position_meta": {s: p.meta() for s, p in sorted(self.positions.items())},
            "last_seq": dict(self.last_seq),
            "pending": [o.to_state() for o in self._orders.values() if not o.final],
            "halted": [[r, s, why] for (r, s), why in sorted(self.halted.items())],
            "risk": self.risk.to_state(),
            "refusal_counts": dict(self.refusal_counts),
            "collisions": list(self.collisions),
            "stats": dict(self.stats),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Load a saved state (before `start`, which then looks up the orders that were in flight)."""
        if state.get("mode") != "live" or state.get("version") != LIVE_STATE_VERSION:
            raise ValueError(f"live executor: saved state is mode {state.get('mode')!r} version "
                             f"{state.get('version')!r}, expected live version {LIVE_STATE_VERSION}")
        try:
            meta = state.get("position_meta", {})
            self.positions = {p["symbol"]: LivePosition.from_state(p, meta[p["symbol"]]) for p in state["positions"]}
            self.last_seq = {str(k): int(v) for k, v in state["last_seq"].items()}
            self.halted = {(r, s): why for r, s, why in state.get("halted", [])}
            self._restored_pending = list(state.get("pending", []))
            self.risk = LiveRiskManager.from_state(state["risk"], self.risk_config, self.assets, self.clock,
                                                   self.selector)
            self.refusal_counts = {str(k): int(v) for k, v in state.get("refusal_counts", {}).items()}
            self.collisions.extend(state.get("collisions", []))
            self.stats.update({k: int(v) for k, v in state.get("stats", {}).items() if k in self.stats})
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"live executor: saved state is incomplete or malformed: {exc!r}") from exc

    async def reconcile(self, *, default_sl_pct: float | None = None,
                        journal: Callable[[dict[str, Any]], None] | None = None) -> Any:
        """Reconcile the local positions with the exchange (`radar.live.reconcile.reconcile`, when that module
        exists; None without it) and take its result as the new local positions: orphan orders cancelled,
        positions dropped / adopted (runner_id None) / resized, missing stops placed. Orders in flight are
        not orphans. Meant for boot, after `restore` and `start`, before the first `on_events`.
        `default_sl_pct`: the stop of an adopted position (default: the tightest configured);
        `journal(decision)`: where each decision is recorded (default: `reconcile_events`, source boot)."""
        try:
            module = importlib.import_module("radar.live.reconcile")
        except ModuleNotFoundError:
            return None
        by_symbol = self._symbol_sl_percent()
        pcts = list(by_symbol.values()) or [float(v) for v in self.cfg.sl_percent.values()]
        default = float(default_sl_pct) if default_sl_pct is not None else (min(pcts) if pcts else 20.0)
        if journal is None:
            try:
                from radar.live.reconcile_journal import ReconcileJournal

                journal = ReconcileJournal(self.journal.engine, source="boot").record
            except ImportError:
                journal = lambda decision: None  # noqa: E731
        pending = [o.order_id for o in self._orders.values() if not o.final and o.order_id]
        report = await module.reconcile(self.client, self.local_positions(), default_sl_pct=default, journal=journal,
                                        alert=lambda kind, text: self._alert(kind, text), pending_order_ids=pending,
                                        sl_pct_by_symbol=by_symbol, retries=self.cfg.sl_attempts,
                                        backoff_s=self.cfg.sl_backoff_s)
        self._take_reconciled(report.positions)
        return report

    def _take_reconciled(self, positions: Sequence[Mapping[str, Any]]) -> None:
        fresh: dict[str, LivePosition] = {}
        for p in positions:
            old = self.positions.get(p["symbol"])
            if old is not None and old.runner_id == p.get("runner_id"):
                pos = LivePosition.from_state(p, old.meta())
                pos.sl_price = None if p.get("sl_price") is None else float(p["sl_price"])
            else:
                pos = LivePosition.from_state(p, None, self.clock.now_ms())
            fresh[pos.symbol] = pos
        for sym, old in self.positions.items():
            if sym not in fresh:
                self.halted[(old.runner_id or "", sym)] = "closed_outside"
        self.positions = fresh
        self._dirty = True


def selector_candidates(engine: Any, runners: Sequence[tuple[str, str, str]]) -> list[StrategyStats]:
    """The selector's candidates for the live runners (runner id, strategy, symbol): each pair's latest WFO
    grade and its runner's closed paper/live trades in `simulation_trades`. Every configured runner counts
    as active (the executor cannot ask the runners without risking a deadlock: they call it)."""
    from radar.live.journal import TradeJournal
    from radar.live.selector import latest_grades

    grades = latest_grades(engine)
    summary = TradeJournal(engine).summary()
    return [StrategyStats(strategy, symbol, grades.get((strategy, symbol)), True,
                          int(summary.get(rid, {}).get("trades", 0)), float(summary.get(rid, {}).get("net_pnl", 0.0)))
            for rid, strategy, symbol in runners]
