"""The live executor's book: its settings, the positions it holds on the exchange (with their stop-loss and
take-profit) and the orders it has in flight. Plain data; the executor (`radar.live.live_executor`) mutates it."""
from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def side_name(side: int) -> str:
    return "long" if side > 0 else "short"


@dataclass(frozen=True)
class ExecutorConfig:
    """How the executor trades. `leverage`: per symbol (the symbols it trades); `sl_percent`: the grid stop
    rule per runner id or per strategy name (runner id wins)."""

    leverage: Mapping[str, int]
    sl_percent: Mapping[str, float] = field(default_factory=dict)
    margin_mode: str = "cross"
    fill_timeout_s: float = 10.0  # on_events waits this long for an order to fill
    poll_after_s: float = 2.0  # REST fallback: fetch an order with no push for this long
    maintenance_s: float = 1.0  # background checks (REST fallback, positions, protection, snapshots)
    position_poll_s: float = 5.0  # compare local positions with the exchange's this often
    submit_attempts: int = 3
    retry_backoff_s: float = 0.5  # doubled per attempt
    sl_attempts: int = 3
    sl_backoff_s: float = 0.2  # times the attempt number
    clock_sync_s: float = 10.0  # resync a ServerClock with the exchange time this often

    def __post_init__(self) -> None:
        if not self.leverage:
            raise ValueError("executor config: leverage must name at least one symbol")
        for sym, lev in self.leverage.items():
            if isinstance(lev, bool) or not isinstance(lev, int) or lev < 1:
                raise ValueError(f"executor config: leverage of {sym} must be an integer >= 1, got {lev!r}")
        for key, pct in self.sl_percent.items():
            if not (isinstance(pct, (int, float)) and math.isfinite(pct) and 0 < pct < 100):
                raise ValueError(f"executor config: sl_percent of {key} must be in (0, 100), got {pct!r}")
        if self.margin_mode not in ("cross", "isolated"):
            raise ValueError(f"executor config: margin_mode must be 'cross' or 'isolated', got {self.margin_mode!r}")
        for name in ("fill_timeout_s", "poll_after_s", "maintenance_s", "position_poll_s", "retry_backoff_s",
                     "sl_backoff_s", "clock_sync_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"executor config: {name} must be a number >= 0, got {v!r}")
        for name in ("submit_attempts", "sl_attempts"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"executor config: {name} must be an integer >= 1, got {v!r}")

    @property
    def symbols(self) -> list[str]:
        return sorted(self.leverage)


@dataclass
class LivePosition:
    """The executor's view of one exchange position (one per symbol in one-way mode) and its protection."""

    symbol: str
    runner_id: str | None  # None: adopted from the exchange by reconciliation, no runner manages it
    strategy: str
    side: int
    qty: float
    avg_entry: float
    seq: int  # the event that opened it: names its stop orders
    event_ts: int
    opened_ms: int
    fixed_sl: float | None = None  # a single strategy's own stop / take-profit
    fixed_tp: float | None = None
    sl_price: float | None = None  # verified on the exchange
    sl_order_id: str | None = None
    sl_client_oid: str | None = None
    sl_generation: int = 0
    tp_price: float | None = None
    tp_order_id: str | None = None
    tp_client_oid: str | None = None
    tp_attempts: int = 0
    closing: bool = False  # an emergency close is under way

    def plain(self) -> dict[str, Any]:
        """The shared shape of a local position (`radar.live.exchange_state.LocalPosition`, reconciliation):
        side +1 long / -1 short, runner_id None for a position adopted from the exchange."""
        return {"symbol": self.symbol, "runner_id": self.runner_id, "side": self.side, "qty": self.qty,
                "avg_entry": self.avg_entry, "sl_price": self.sl_price, "sl_order_id": self.sl_order_id,
                "tp_price": self.tp_price, "tp_order_id": self.tp_order_id}

    def meta(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "seq": self.seq, "event_ts": self.event_ts, "opened_ms": self.opened_ms,
                "fixed_sl": self.fixed_sl, "fixed_tp": self.fixed_tp, "sl_client_oid": self.sl_client_oid,
                "sl_generation": self.sl_generation, "tp_client_oid": self.tp_client_oid,
                "tp_attempts": self.tp_attempts}

    @classmethod
    def from_state(cls, plain: Mapping[str, Any], meta: Mapping[str, Any] | None = None,
                   opened_ms: int = 0) -> LivePosition:
        """From the plain dict (+ the executor's own `meta`). Without meta (a position reconciliation adopted
        from the exchange) no runner's rule applies: its stop stays where it is (`sl_price`)."""
        side = plain["side"]
        side = (1 if side == "long" else -1) if isinstance(side, str) else int(side)
        sl = None if plain.get("sl_price") is None else float(plain["sl_price"])
        if meta is None:
            meta = {"strategy": "", "seq": 0, "event_ts": 0, "opened_ms": opened_ms, "fixed_sl": sl}
        return cls(symbol=plain["symbol"], runner_id=plain.get("runner_id"), strategy=meta["strategy"], side=side,
                   qty=float(plain["qty"]), avg_entry=float(plain["avg_entry"]), seq=int(meta["seq"]),
                   event_ts=int(meta["event_ts"]), opened_ms=int(meta["opened_ms"]), fixed_sl=meta.get("fixed_sl"),
                   fixed_tp=meta.get("fixed_tp"), sl_price=sl, sl_order_id=plain.get("sl_order_id"),
                   sl_client_oid=meta.get("sl_client_oid"), sl_generation=int(meta.get("sl_generation", 0)),
                   tp_price=plain.get("tp_price"), tp_order_id=plain.get("tp_order_id"),
                   tp_client_oid=meta.get("tp_client_oid"), tp_attempts=int(meta.get("tp_attempts", 0)))


@dataclass(eq=False)
class TrackedOrder:
    """An order of the live executor in flight (entry, close, emergency close, or a close the exchange placed)."""

    client_oid: str
    symbol: str
    runner_id: str | None
    strategy: str
    purpose: str  # Purpose.ENTRY/CLOSE value, "x" (emergency close) or "exchange" (placed by the exchange)
    side: str  # buy | sell
    position_side: int
    qty: float
    reduce_only: bool
    seq: int = 0
    event_ts: int = 0
    stop_loss: float | None = None
    take_profit: float | None = None
    order_id: str | None = None
    filled: float = 0.0
    avg: float = 0.0
    fee: float = 0.0
    status: str = "new"
    source: str = ""  # Bitget orderSource of an exchange-placed order
    sent_at: float = 0.0  # time.monotonic() when first sent
    last_update: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def final(self) -> bool:
        return self.status in ("filled", "cancelled", "rejected")

    def to_state(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("client_oid", "symbol", "runner_id", "strategy", "purpose", "side",
                                              "position_side", "qty", "reduce_only", "seq", "event_ts", "stop_loss",
                                              "take_profit", "order_id", "filled", "avg", "fee", "status", "source")}


def executor_config(config: Any, strategies: Sequence[Any], **overrides: Any) -> ExecutorConfig:
    """The executor settings of a live system: `config` a loaded `RadarConfig`, `strategies` the enabled
    strategies it runs (`.name`, `.symbols`). Leverage per symbol: the highest among the strategies trading
    it, capped at assets.yaml `max_leverage`; the grid stop per runner id (`strategy:symbol`) from each
    strategy's `sl_percent`; the margin mode from exchanges.yaml."""
    leverage: dict[str, int] = {}
    sl_percent: dict[str, float] = {}
    for s in strategies:
        for sym in s.symbols:
            params = config.strategy_params(s.name, sym)
            lev = int(getattr(params, "leverage", 1) or 1)
            asset = config.assets.get(sym)
            if asset is not None:
                lev = min(lev, int(asset.max_leverage))
            leverage[sym] = max(leverage.get(sym, 1), lev)
            pct = getattr(params, "sl_percent", None)
            if pct is not None:
                sl_percent[f"{s.name}:{sym}"] = float(pct)
    return ExecutorConfig(leverage=leverage, sl_percent=sl_percent,
                          margin_mode=config.exchanges.bitget.margin_mode, **overrides)


@dataclass(frozen=True)
class LiveSetup:
    """Everything the executor actor needs to trade live, except the API keys (those it reads from its own
    environment). `runners`: (runner id, strategy, symbol) of every runner, the selector's candidates."""

    database_url: str
    risk: Any  # RiskConfig
    assets: Mapping[str, str]  # symbol -> correlation group
    config: ExecutorConfig
    runners: tuple[tuple[str, str, str], ...]
    exchange_url: str | None = None  # None: the real Bitget
    exchange: str = "bitget"
    speed: float = 1.0  # emulator replays: simulated seconds per real second (the executor's server clock)
    timeout_ms: int = 10_000
    use_selector: bool = True

    @classmethod
    def from_config(cls, config: Any, strategies: Sequence[Any], database_url: str, *,
                    exchange_url: str | None = None, speed: float = 1.0, use_selector: bool = True,
                    **overrides: Any) -> LiveSetup:
        runners = tuple((f"{s.name}:{sym}", s.name, sym) for s in strategies for sym in s.symbols)
        symbols = {sym for _, _, sym in runners}
        return cls(database_url, config.risk,
                   {sym: a.correlation_group for sym, a in config.assets.items() if sym in symbols},
                   executor_config(config, strategies, **overrides), runners, exchange_url, speed=speed,
                   use_selector=use_selector)
