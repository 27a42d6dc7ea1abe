"""The live/paper system: boots the actors in SPEC §9 order and stops them in reverse.

Boot: state store (database + state files) -> executor (paper: restores its positions; live: account settings,
risk manager, selector, restored state, refuses to start without the switch and keys) -> data feed
-> runners (restore saved state, or warm up from the database) -> subscriptions -> feed start (which
back-fills whatever closed after the runners' last candle). The executor is created before the runners
only because they hold its handle; it receives nothing until the feed starts. Shutdown is the reverse
and loses nothing: the feed publishes what is queued and flushes candles, runners save their state, the
state store writes both state files.

All actors are named in namespace "scalp_radar" so `radar status` / `radar stop` (or the API) find them
from another process.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import ray

from actors.job_manager import StoredSweepRunner, start_job_manager
from actors.live_executor import ExecutorActor, live_env
from actors.live_feed import DataFeedActor
from actors.live_guard import PortfolioGuardActor
from actors.live_runner import StrategyRunnerActor
from actors.live_telegram import TELEGRAM, TelegramActor
from actors.live_state import StateStoreActor
from actors.live_watchdog import WatchdogActor
from radar.errors import ConfigError

NAMESPACE = "scalp_radar"
STATE_STORE, EXECUTOR, FEED, GUARD = "state_store", "executor", "data_feed", "portfolio_guard"
WATCHDOG = "watchdog"
DEFAULT_SL_PCT = 5.0  # a stop for a position the watchdog finds unprotected when no strategy names one


def runner_name(strategy: str) -> str:
    return f"runner:{strategy}"


@dataclass(frozen=True)
class LiveOptions:
    data_dir: str
    database_url: str
    exchange: str = "bitget"
    exchange_url: str | None = None  # None: the real Bitget; else the emulator's base URL
    speed: float = 1.0  # simulated seconds per real second (emulator replays)
    timeframe: str | None = None  # None: every enabled strategy, each on its own timeframe; else only those on it
    detached: bool = False
    save_every_s: float = 60.0
    flush_every_s: float = 5.0
    watchdog_interval_s: float | None = None  # None: risk.yaml watchdog.interval_s
    watchdog_ping_timeout_s: float = 5.0
    watchdog_cooldowns: Any = None  # None: risk.yaml alert_cooldowns_s; else a callable kind -> seconds
    telegram: Any = None  # radar.telegram.settings.TelegramSettings (from the environment); None: no Telegram
    mode: str = "paper"  # "live": the executor sends real orders (needs RADAR_LIVE_TRADING=1 and the Bitget keys)
    use_selector: bool = True  # live: only the pairs the adaptive selector allows get entries


def runner_limits(risk: Any) -> dict[str, float]:
    """risk.yaml's sizing and stop limits for the live runners, the values the portfolio backtester uses."""
    return {"max_margin_ratio": float(risk.max_margin_ratio), "max_asset_fraction": float(risk.max_asset_fraction),
            "kill_switch_loss_pct": float(risk.kill_switch.runner_max_loss_percent)}


def strategy_timeframe(config: Any, strategy: Any) -> str:
    """The one timeframe a strategy's runner actor trades; per-asset parameters may not change it."""
    tfs = {config.strategy_params(strategy.name, sym).timeframe for sym in strategy.symbols}
    if len(tfs) != 1:
        raise ConfigError(f"strategies.yaml: {strategy.name}: per_asset timeframes differ ({', '.join(sorted(tfs))}); "
                          f"a live runner trades one timeframe for all its symbols")
    return tfs.pop()


class LiveSystem:
    def __init__(self, config: Any, options: LiveOptions) -> None:
        self.cfg, self.opt = config, options
        self.timeframe_of = {s.name: strategy_timeframe(config, s) for s in config.enabled_strategies()}
        self.strategies = [s for s in config.enabled_strategies()
                           if options.timeframe is None or self.timeframe_of[s.name] == options.timeframe]
        if not self.strategies:
            raise ValueError("no enabled strategy in strategies.yaml" if options.timeframe is None else
                             f"no enabled strategy on the {options.timeframe} timeframe in strategies.yaml")
        self.symbols = sorted({sym for s in self.strategies for sym in s.symbols})
        # one candle stream per (symbol, timeframe) any runner trades
        self.streams = sorted({(sym, self.timeframe_of[s.name]) for s in self.strategies for sym in s.symbols})
        self.runners: dict[str, Any] = {}
        self.state_store = self.executor = self.feed = self.watchdog = self.guard = self.job_manager = None
        self.telegram = None

    def _opts(self, name: str, **kw: Any) -> dict[str, Any]:
        out = {"name": name, "namespace": NAMESPACE, "get_if_exists": False, **kw}
        if self.opt.detached:
            out["lifetime"] = "detached"
        return out

    def boot(self) -> "LiveSystem":
        from radar.positions.costs import CostModel

        risk = self.cfg.risk
        costs = CostModel(taker_fee=risk.fees.taker, maker_fee=risk.fees.maker, slippage=risk.slippage)
        self.state_store = StateStoreActor.options(**self._opts(STATE_STORE)).remote(
            self.opt.data_dir, self.opt.database_url)
        ray.get(self.state_store.ping.remote())
        # The job manager (SPEC §9: right after the database) queues sweeps from the API and Telegram; pinned
        # to this node, where the job rows are written.
        self.job_manager = start_job_manager(1, StoredSweepRunner(str(self.cfg.config_dir), self.opt.database_url),
                                             detached=self.opt.detached)
        if self.opt.telegram is not None:  # the notifier, before anything that may alert
            self.telegram = TelegramActor.options(**self._opts(TELEGRAM)).remote(
                self.opt.telegram, self.opt.mode, float(risk.initial_capital), sum(len(s.symbols) for s in self.strategies),
                len(self.symbols), [s.name for s in self.strategies])
        if self.opt.mode == "live":
            from radar.live.live_book import LiveSetup

            setup = LiveSetup.from_config(self.cfg, self.strategies, self.opt.database_url,
                                          exchange_url=self.opt.exchange_url, speed=self.opt.speed,
                                          use_selector=self.opt.use_selector)
            # The keys travel in this actor's runtime env only (the driver's BITGET_* / RADAR_LIVE_TRADING).
            self.executor = ExecutorActor.options(**self._opts(EXECUTOR), runtime_env={"env_vars": live_env()}).remote(
                self.state_store, costs, "live", setup)
            ray.get(self.executor.ping.remote())  # a refused start (no switch, no keys, bad keys) fails the boot here
        else:
            self.executor = ExecutorActor.options(**self._opts(EXECUTOR)).remote(self.state_store, costs)
        self.feed = DataFeedActor.options(**self._opts(FEED)).remote(
            self.streams, self.opt.exchange, self.state_store, self.opt.exchange_url,
            self.opt.speed, self.opt.flush_every_s)
        n_runners = sum(len(s.symbols) for s in self.strategies)
        symbol_of = {f"{s.name}:{sym}": sym for s in self.strategies for sym in s.symbols}
        self.guard = PortfolioGuardActor.options(**self._opts(GUARD)).remote(
            symbol_of, float(risk.initial_capital), risk, self.state_store, self.opt.save_every_s, self.telegram)
        for s in self.strategies:
            params = {sym: self.cfg.strategy_params(s.name, sym).model_dump() for sym in s.symbols}
            self.runners[s.name] = StrategyRunnerActor.options(**self._opts(runner_name(s.name))).remote(
                s.name, list(s.symbols), self.timeframe_of[s.name], params, float(risk.initial_capital), n_runners,
                len(self.symbols), self.opt.exchange, self.state_store, self.executor, costs, self.opt.save_every_s,
                self.guard, self.telegram, runner_limits(risk))
        # Per stream "symbol|timeframe": the oldest candle any of its runners has, the newest seq any has seen.
        last: dict[str, int | None] = {}
        for s, r in zip(self.strategies, ray.get([r.last_processed.remote() for r in self.runners.values()])):
            for sym, ts in r.items():
                key = f"{sym}|{self.timeframe_of[s.name]}"
                prev = last.get(key, ts)
                last[key] = None if ts is None or prev is None else min(prev, ts)
        seqs: dict[str, int] = {}
        for s, r in zip(self.strategies, ray.get([r.last_seq.remote() for r in self.runners.values()])):
            for sym, seq in r.items():
                key = f"{sym}|{self.timeframe_of[s.name]}"
                seqs[key] = max(seqs.get(key, 0), seq)
        ray.get([self.feed.subscribe.remote(sym, self.timeframe_of[s.name], self.runners[s.name], s.name)
                 for s in self.strategies for sym in s.symbols] + [self.feed.report_to.remote(self.guard)])
        ray.get(self.feed.start.remote(last, seqs))
        self._boot_watchdog()
        return self

    def _boot_watchdog(self) -> None:
        # Last in the boot order, first to stop: it never reports the system's own boot or shutdown as a fault.
        risk = self.cfg.risk
        options = self._opts(WATCHDOG)
        sl_guard = None
        if self.opt.mode == "live":
            # Live: each round the watchdog also asks the exchange for positions without a stop-loss and protects
            # them (the keys travel in its runtime env; the guard's client is built inside the actor).
            from radar.live.sl_guard import guard_factory

            by_symbol = self._sl_percent_by_symbol()
            sl_guard = guard_factory(self.opt.exchange_url, min(by_symbol.values(), default=DEFAULT_SL_PCT),
                                     symbols=self.symbols, sl_pct_by_symbol=by_symbol,
                                     database_url=self.opt.database_url)
            options["runtime_env"] = {"env_vars": live_env()}
        self.watchdog = WatchdogActor.options(**options).remote(
            self.feed, dict(self.runners), self.opt.data_dir,
            initial_capital_per_runner=float(risk.initial_capital) / sum(len(s.symbols) for s in self.strategies),
            interval_s=self.opt.watchdog_interval_s or risk.watchdog.interval_s,
            ping_timeout_s=self.opt.watchdog_ping_timeout_s, stale_after_s=risk.watchdog.stale_after_s,
            min_free_disk_mb=risk.watchdog.min_free_disk_mb,
            cooldowns=self.opt.watchdog_cooldowns or risk.alert_cooldowns_s, speed=self.opt.speed,
            kill_switch=self.guard, telegram=self.telegram, sl_guard=sl_guard)
        ray.get(self.watchdog.start.remote())

    def _sl_percent_by_symbol(self) -> dict[str, float]:
        """The tightest configured stop distance per symbol (for positions the watchdog finds unprotected)."""
        out: dict[str, float] = {}
        for s in self.strategies:
            for sym in s.symbols:
                pct = getattr(self.cfg.strategy_params(s.name, sym), "sl_percent", None)
                if pct is not None:
                    out[sym] = min(out.get(sym, float(pct)), float(pct))
        return out

    def shutdown(self) -> None:
        if self.watchdog is not None:
            with contextlib.suppress(ray.exceptions.GetTimeoutError):  # stateless: it is killed below anyway
                ray.get(self.watchdog.stop.remote(), timeout=15)
        if self.feed is not None:
            ray.get(self.feed.stop.remote())
        ray.get([r.save.remote() for r in self.runners.values()])
        if self.executor is not None:  # live: stops watching orders and saves its state
            with contextlib.suppress(Exception):
                ray.get(self.executor.stop.remote(), timeout=60)
        if self.guard is not None:
            ray.get(self.guard.save.remote())
        if self.state_store is not None:
            ray.get(self.state_store.save_all.remote())
        if self.telegram is not None:  # the shutdown notice goes last, with the session's PnL
            with contextlib.suppress(Exception):
                ray.get(self.telegram.stop.remote("shutdown"), timeout=30)
        for handle in [self.watchdog, self.feed, *self.runners.values(), self.guard, self.executor, self.job_manager,
                       self.telegram, self.state_store]:
            if handle is not None:
                ray.kill(handle)

    def wait_for_candles(self, n: int, timeout_s: float = 60.0) -> int:
        deadline = time.monotonic() + timeout_s
        seen = 0
        while time.monotonic() < deadline:
            seen = ray.get(self.feed.published_count.remote())
            if seen >= n:
                break
            time.sleep(0.05)
        return seen


def connect(address: str | None = None, *, start_local: bool = True) -> None:
    """Join the Ray cluster at `address` (None: start a local Ray when `start_local`), in our namespace.
    The CLI calls this so that only `actors/` touches Ray."""
    if ray.is_initialized():
        return
    if address is None and not start_local:
        address = "auto"
    _check_reachable(address)
    extra = {"include_dashboard": False} if address is None else {}
    try:
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, **extra)
    except (ConnectionError, RuntimeError) as exc:
        from radar.errors import RadarError

        raise RadarError(f"no running system found (radar up): {exc}") from None


def _check_reachable(address: str | None, timeout_s: float = 3.0) -> None:
    """A host:port where nothing listens: say so now (Ray itself retries the GCS for a minute)."""
    import socket

    from radar.errors import RadarError

    if not address or address in ("auto", "local") or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise RadarError(f"no Ray cluster at {address}: {exc}") from None


def status(namespace: str = NAMESPACE) -> dict[str, Any]:
    """What `radar status` shows; looks the actors up by name (works from any driver on the cluster)."""
    out: dict[str, Any] = {"runners": [], "executor": None, "feed": None, "trades": 0, "watchdog": None, "ranking": []}
    try:
        feed = ray.get_actor(FEED, namespace=namespace)
        h = ray.get(feed.health.remote())
        stats = ray.get(feed.stats.remote())
        out["feed"] = {"connected": h.connected, "reconnects": h.reconnects, "rejected": h.rejected,
                       "duplicates": h.duplicates, "backfilled": h.backfilled, "last_candle_ms": h.last_candle_ms,
                       "published": stats["published"], "latency_ms": stats["latency_ms"]}
    except ValueError:
        pass
    for a in ray.util.list_named_actors(all_namespaces=True):
        if a.get("namespace") == namespace and a["name"].startswith("runner:"):
            out["runners"].append(ray.get(ray.get_actor(a["name"], namespace=namespace).status.remote()))
    try:
        out["executor"] = ray.get(ray.get_actor(EXECUTOR, namespace=namespace).status.remote())
        out["trades"] = ray.get(ray.get_actor(STATE_STORE, namespace=namespace).trade_count.remote())
    except ValueError:
        pass
    try:
        out["guard"] = ray.get(ray.get_actor(GUARD, namespace=namespace).status.remote())
    except ValueError:
        out["guard"] = None
    try:
        watchdog = ray.get_actor(WATCHDOG, namespace=namespace)
        out["watchdog"] = ray.get(watchdog.stats.remote()) | {"alerts": ray.get(watchdog.alerts.remote())[-20:]}
        out["ranking"] = ray.get(watchdog.ranking.remote())
    except ValueError:
        pass
    return out
