"""`RaySystemControl`: the running system as Telegram's commands and reports see it (`radar.telegram.control`),
read from the named actors of namespace `scalp_radar` at call time (the Telegram actor calls these from worker
threads, so blocking `ray.get` is fine here; it never runs on an event loop).
"""
from __future__ import annotations

import time
from typing import Any

import ray

from radar.telegram.control import PnlReport, Position, RankingRow, SystemStatus, WfoJob

# The actor names of actors/live_system.py (not imported: live_system boots the Telegram actor that uses this)
NAMESPACE = "scalp_radar"
EXECUTOR, STATE_STORE, WATCHDOG, GUARD, JOB_MANAGER = "executor", "state_store", "watchdog", "portfolio_guard", "job_manager"
_DAY_MS = 86_400_000
TRADES_READ = 10_000


class RaySystemControl:
    def __init__(self, mode: str = "paper", initial_capital: float = 0.0, namespace: str = NAMESPACE,
                 timeout_s: float = 10.0) -> None:
        self.mode, self.initial_capital, self.namespace, self.timeout_s = mode, float(initial_capital), namespace, timeout_s

    def _actor(self, name: str) -> Any:
        return ray.get_actor(name, namespace=self.namespace)

    def _get(self, ref: Any) -> Any:
        return ray.get(ref, timeout=self.timeout_s)

    def status(self) -> SystemStatus:
        from actors.live_system import status

        st = status(self.namespace)
        runners = [r for s in st["runners"] for r in s["runners"]]
        equity = sum(r["equity"] for r in runners)
        feed = st.get("feed") or {}
        guard = st.get("guard") or {}
        ex = st.get("executor") or {}
        return SystemStatus(
            mode=self.mode, runners_total=len(runners), runners_active=sum(not r["stopped"] for r in runners),
            open_positions=len(ex.get("open_positions", [])), equity=equity,
            session_pnl=equity - self.initial_capital if self.initial_capital else 0.0,
            kill_switch=bool(guard.get("entries_blocked")),
            feed={"connected": bool(feed.get("connected")), "reconnects": int(feed.get("reconnects") or 0)})

    def positions(self) -> list[Position]:
        ex = self._get(self._actor(EXECUTOR).status.remote())
        return [Position(strategy=p["runner_id"].partition(":")[0], symbol=p["symbol"], side=p["side"],
                         entry_price=p["avg_entry"], quantity=p["quantity"])
                for p in ex.get("open_positions", [])]

    def pnl(self, days: int) -> PnlReport:
        since = self._now_ms() - int(days) * _DAY_MS
        rows = self._get(self._actor(STATE_STORE).trades.remote(TRADES_READ))
        trades = sorted((r for r in rows if int(r["exit_ts"]) >= since), key=lambda r: r["exit_ts"])
        by_strategy: dict[str, float] = {}
        equity, curve = self.initial_capital, []
        for r in trades:
            by_strategy[r["strategy"]] = by_strategy.get(r["strategy"], 0.0) + float(r["net_pnl"])
            equity += float(r["net_pnl"])
            curve.append(equity)

        def summary(r: dict[str, Any] | None) -> dict[str, Any] | None:
            if r is None:
                return None
            return {"strategy": r["strategy"], "symbol": r["symbol"], "side": r.get("side"),
                    "entry_price": r.get("entry_price"), "exit_price": r.get("exit_price"), "net": r["net_pnl"],
                    "exit_ts": r["exit_ts"]}

        return PnlReport(days=int(days), net=sum(by_strategy.values()), trades=len(trades),
                         wins=sum(float(r["net_pnl"]) > 0 for r in trades), by_strategy=by_strategy,
                         best=summary(max(trades, key=lambda r: r["net_pnl"], default=None)),
                         worst=summary(min(trades, key=lambda r: r["net_pnl"], default=None)), equity=curve)

    def _now_ms(self) -> int:
        """The exchange's time as the system last saw it (a replay runs in the past), else the wall clock."""
        try:
            now = self._get(self._actor(GUARD).status.remote()).get("now_ms")
        except Exception:
            now = None
        return int(now) if now is not None else int(time.time() * 1000)

    def ranking(self) -> list[RankingRow]:
        return list(self._get(self._actor(WATCHDOG).ranking.remote()))

    def kill(self, reason: str) -> None:
        self._get(self._actor(GUARD).kill.remote(reason))

    def resume(self) -> None:
        self._get(self._actor(GUARD).reset.remote())

    def launch_wfo(self, strategy: str, symbol: str) -> str:
        return self._get(self._actor(JOB_MANAGER).submit.remote({"strategy": strategy, "symbols": [symbol]}, "telegram"))

    def wfo_job(self, job_id: str) -> WfoJob | None:
        try:
            return self._get(self._actor(JOB_MANAGER).status.remote(job_id))
        except (ValueError, ray.exceptions.RayTaskError):  # no job manager, or no such job
            return None
