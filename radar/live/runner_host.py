"""RunnerHost: one strategy's production runners (one per symbol) as a live strategy actor drives them.

The host adds what the actor needs around the unchanged runner code: exactly-once intake of
sequence-numbered candle messages (re-deliveries ignored and counted, seq gaps recorded), the latest
funding rate and open interest per symbol, state over all runners + last seqs, warm-up / catch-up from
stored history, live sizing (fixed allocation, SPEC §8) and the global kill-switch hook: while
`entries_blocked()` is true the runners' margin guard refuses every new entry (exits still run).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from radar.errors import RadarError
from radar.events import TradeEvent
from radar.live.messages import CandleMsg, FundingMsg, OpenInterestMsg
from radar.models import Candle
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner

HOST_STATE_VERSION = 1


class LiveRunner(Protocol):
    config: RunnerConfig
    capital: float
    stopped: bool
    last_ts: int | None
    margin_guard: Callable[[str, float], bool] | None

    def on_candle(self, candle: Candle, funding_rate: float | None = None,
                  extra: dict[str, float] | None = None) -> list[TradeEvent]: ...

    def warm_up(self, candles: Iterable[Candle]) -> int: ...

    def to_state(self) -> dict[str, Any]: ...

    def load_state(self, state: dict[str, Any]) -> None: ...

    def equity(self, price: float) -> float: ...

    @property
    def used_margin(self) -> float: ...


@dataclass(frozen=True, slots=True)
class SeqGap:
    stream: str  # "symbol|timeframe"
    first_missing: int
    last_missing: int


@dataclass(frozen=True, slots=True)
class RunnerStatus:
    runner_id: str
    symbol: str
    capital: float
    equity: float
    used_margin: float
    stopped: bool
    stop_reason: str
    last_ts: int | None


def _key(symbol: str, timeframe: str) -> str:
    return f"{symbol}|{timeframe}"


class RunnerHost:
    def __init__(self, strategy_name: str, runners: Mapping[str, LiveRunner], *,
                 entries_blocked: Callable[[], bool] | None = None,
                 margin_guard: Callable[[str, float], bool] | None = None) -> None:
        """`runners` by symbol. `margin_guard` (e.g. the system-wide margin guard of SPEC §8), or else a runner's
        own guard, is asked after the kill-switch check."""
        self.strategy_name = strategy_name
        self.runners: dict[str, LiveRunner] = dict(runners)
        self.entries_blocked = entries_blocked
        self._outer_guards = {sym: margin_guard or r.margin_guard for sym, r in self.runners.items()}
        for sym, r in self.runners.items():
            r.margin_guard = self._guard_for(sym)
        self.last_seq: dict[str, int] = {}
        self.funding_rates: dict[str, float] = {}
        self._funding_seq: dict[str, int] = {}
        self.extras: dict[str, dict[str, float]] = {}
        self._oi_seq: dict[str, int] = {}
        self.redelivered = 0
        self.foreign = 0
        self.blocked_entries = 0
        self.seq_gaps: list[SeqGap] = []

    def _guard_for(self, symbol: str) -> Callable[[str, float], bool]:
        def guard(runner_id: str, margin: float) -> bool:
            if self.entries_blocked is not None and self.entries_blocked():
                self.blocked_entries += 1
                return False
            outer = self._outer_guards.get(symbol)
            return True if outer is None else outer(runner_id, margin)

        return guard

    # -- messages ------------------------------------------------------------------------------------
    def on_candle(self, msg: CandleMsg) -> list[TradeEvent]:
        """Process one closed candle message once. seq <= last seen: a re-delivery, ignored. A jump in seq is
        recorded (the feed lost messages) and the candle still runs: the runner orders by timestamp."""
        key = _key(*msg.stream)
        last = self.last_seq.get(key)
        if last is not None and msg.seq <= last:
            self.redelivered += 1
            return []
        if last is not None and msg.seq > last + 1:
            self.seq_gaps.append(SeqGap(key, last + 1, msg.seq - 1))
        self.last_seq[key] = msg.seq
        runner = self.runners.get(msg.candle.symbol)
        if runner is None:
            self.foreign += 1
            return []
        sym = msg.candle.symbol
        return runner.on_candle(msg.candle, self.funding_rates.get(sym), dict(self.extras.get(sym, {})) or None)

    def on_funding(self, msg: FundingMsg) -> bool:
        """Keep the latest rate per symbol (the runner charges it at the 00/08/16 UTC candles)."""
        if msg.seq <= self._funding_seq.get(msg.symbol, 0):
            return False
        self._funding_seq[msg.symbol] = msg.seq
        self.funding_rates[msg.symbol] = msg.rate
        return True

    def on_open_interest(self, msg: OpenInterestMsg) -> bool:
        if msg.seq <= self._oi_seq.get(msg.symbol, 0):
            return False
        self._oi_seq[msg.symbol] = msg.seq
        self.extras.setdefault(msg.symbol, {})["open_interest"] = msg.value
        return True

    # -- boot ----------------------------------------------------------------------------------------
    def warm_up(self, history: Mapping[str, Iterable[Candle]]) -> dict[str, int]:
        """Fresh runners: feed stored candles to the indicators without trading. Returns candles used per symbol."""
        return {sym: self.runners[sym].warm_up(cs) for sym, cs in history.items() if sym in self.runners}

    def catch_up(self, history: Mapping[str, Iterable[Candle]]) -> list[TradeEvent]:
        """Restored runners: trade the stored candles that closed while the actor was down (those at or before a
        runner's last candle are skipped by the runner itself, so nothing runs twice)."""
        events: list[TradeEvent] = []
        for sym, candles in history.items():
            runner = self.runners.get(sym)
            if runner is None:
                continue
            for c in candles:
                events.extend(runner.on_candle(c, self.funding_rates.get(sym), dict(self.extras.get(sym, {})) or None))
        return events

    # -- views ---------------------------------------------------------------------------------------
    def status(self, prices: Mapping[str, float]) -> list[RunnerStatus]:
        """Per runner; equity at `prices` (a runner without a price is valued at its booked capital + margin)."""
        out = []
        for sym, r in self.runners.items():
            price = prices.get(sym)
            equity = r.equity(price) if price is not None else r.capital + r.used_margin
            out.append(RunnerStatus(r.config.runner_id, sym, r.capital, equity, r.used_margin, r.stopped,
                                    getattr(r, "stop_reason", ""), r.last_ts))
        return out

    def reset_kill_switch(self, runner_id: str) -> RunnerStatus:
        """Let one stopped runner (`strategy:symbol`) trade again; its next exit re-checks the loss limits."""
        sym = next((s for s, r in self.runners.items() if r.config.runner_id == runner_id), None)
        if sym is None:
            raise RadarError(f"unknown runner {runner_id!r} (this host runs {sorted(r.config.runner_id for r in self.runners.values())})")
        self.runners[sym].reset_kill_switch()
        return next(st for st in self.status({}) if st.runner_id == runner_id)

    def total_equity(self, prices: Mapping[str, float]) -> float:
        return sum(s.equity for s in self.status(prices))

    # -- persistence ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "version": HOST_STATE_VERSION,
            "strategy": self.strategy_name,
            "runners": {sym: r.to_state() for sym, r in self.runners.items()},
            "last_seq": dict(self.last_seq),
            "funding": {s: [self._funding_seq[s], self.funding_rates[s]] for s in self.funding_rates},
            "open_interest": {s: [self._oi_seq[s], self.extras[s]["open_interest"]] for s in self._oi_seq},
        }

    def restore(self, state: Mapping[str, Any]) -> list[str]:
        """Load saved runners; returns the symbols restored. Saved symbols no longer configured are left out
        (their runners are not running any more); configured symbols without saved state start fresh."""
        if state.get("version") != HOST_STATE_VERSION or state.get("strategy") != self.strategy_name:
            raise RadarError(f"runner host {self.strategy_name}: saved state is for {state.get('strategy')!r} "
                             f"v{state.get('version')}, not {self.strategy_name!r} v{HOST_STATE_VERSION}")
        restored = []
        for sym, rs in state.get("runners", {}).items():
            if sym in self.runners:
                self.runners[sym].load_state(rs)
                restored.append(sym)
        self.last_seq = {k: int(v) for k, v in state.get("last_seq", {}).items()}
        self._funding_seq = {s: int(v[0]) for s, v in state.get("funding", {}).items()}
        self.funding_rates = {s: float(v[1]) for s, v in state.get("funding", {}).items()}
        self._oi_seq = {s: int(v[0]) for s, v in state.get("open_interest", {}).items()}
        self.extras = {s: {"open_interest": float(v[1])} for s, v in state.get("open_interest", {}).items()}
        return restored


def live_runner_config(strategy_name: str, symbol: str, *, capital: float, n_runners: int, n_assets: int,
                       costs: CostModel | None = None, max_margin_ratio: float = 0.70,
                       max_asset_fraction: float = 0.25, kill_switch_loss_pct: float = 25.0,
                       exchange: str = "") -> RunnerConfig:
    """Live sizing as in the portfolio backtester: capital split evenly over runners, fixed allocation
    min(C0 / n_assets, max_asset_fraction * C0) per entry step, no backtest-only hard drawdown stop."""
    if capital <= 0 or n_runners < 1 or n_assets < 1:
        raise RadarError(f"live runner {strategy_name}:{symbol}: capital must be > 0 and runner/asset counts >= 1, "
                         f"got capital={capital}, n_runners={n_runners}, n_assets={n_assets}")
    return RunnerConfig(
        f"{strategy_name}:{symbol}", symbol, initial_capital=capital / n_runners, costs=costs or CostModel(),
        max_margin_ratio=max_margin_ratio, kill_switch_loss_pct=kill_switch_loss_pct, hard_drawdown_pct=None,
        sizing="fixed", fixed_allocation=RunnerConfig.portfolio_allocation(capital, n_assets, max_asset_fraction),
        exchange=exchange)


def build_runner_host(strategy_name: str, symbols: Sequence[str], strategy_factory: Callable[[str], Any], *,
                      capital: float, n_runners: int | None = None, n_assets: int | None = None,
                      costs: CostModel | None = None, max_margin_ratio: float = 0.70, max_asset_fraction: float = 0.25,
                      kill_switch_loss_pct: float = 25.0, exchange: str = "",
                      entries_blocked: Callable[[], bool] | None = None,
                      margin_guard: Callable[[str, float], bool] | None = None) -> RunnerHost:
    """One runner per symbol; `strategy_factory(symbol)` builds that symbol's strategy (per-asset params).
    `n_runners`/`n_assets` are the whole live system's counts (default: this host alone)."""
    runners = {}
    for sym in symbols:
        cfg = live_runner_config(strategy_name, sym, capital=capital, n_runners=n_runners or len(symbols),
                                 n_assets=n_assets or len(symbols), costs=costs, max_margin_ratio=max_margin_ratio,
                                 max_asset_fraction=max_asset_fraction, kill_switch_loss_pct=kill_switch_loss_pct,
                                 exchange=exchange)
        runners[sym] = make_runner(strategy_factory(sym), cfg)
    return RunnerHost(strategy_name, runners, entries_blocked=entries_blocked, margin_guard=margin_guard)
