"""An in-memory `SystemControl` for the Telegram tests: fixed, realistic answers and a record of every call."""
from __future__ import annotations

import threading
from typing import Any

from radar.telegram.control import PnlReport, Position, RankingRow, SystemStatus, WfoJob


class FakeControl:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.killed: list[str] = []
        self.resumed = 0
        self.kill_switch = False
        self.jobs: dict[str, WfoJob] = {}
        self._lock = threading.Lock()
        self.status_value: SystemStatus = {
            "mode": "paper", "runners_active": 5, "runners_total": 6, "open_positions": 3, "session_pnl": 152.37,
            "equity": 10_152.37, "kill_switch": False,
            "feed": {"connected": True, "last_message_age_s": 4.0, "reconnects": 2, "stale_streams": 0}}
        self.positions_value: list[Position] = [
            {"strategy": "grid_atr", "symbol": "BTC/USDT:USDT", "side": 1, "entry_price": 64_012.5, "quantity": 0.015,
             "levels": 2, "unrealized_pnl": -12.4, "stop_loss": 60_811.9},
            {"strategy": "supertrend", "symbol": "ETH/USDT:USDT", "side": -1, "entry_price": 3_120.25, "quantity": 0.4,
             "levels": 1, "unrealized_pnl": 8.75, "stop_loss": None}]
        self.ranking_value: list[RankingRow] = [
            {"rank": 1, "runner_id": "grid_atr:BTC", "strategy": "grid_atr", "symbol": "BTC/USDT:USDT",
             "return_pct": 4.21, "max_drawdown_pct": 2.5, "trades": 17, "win_rate": 0.7647, "net_pnl": 421.0},
            {"rank": 2, "runner_id": "supertrend:ETH", "strategy": "supertrend", "symbol": "ETH/USDT:USDT",
             "return_pct": -1.3, "max_drawdown_pct": 3.1, "trades": 4, "win_rate": 0.25, "net_pnl": -130.0}]

    def _record(self, name: str, *args: Any) -> None:
        with self._lock:
            self.calls.append((name, args))

    def names(self) -> list[str]:
        with self._lock:
            return [n for n, _ in self.calls]

    def status(self) -> SystemStatus:
        self._record("status")
        return {**self.status_value, "kill_switch": self.kill_switch}

    def positions(self) -> list[Position]:
        self._record("positions")
        return list(self.positions_value)

    def pnl(self, days: int) -> PnlReport:
        self._record("pnl", days)
        return {"days": days, "net": 38.5 * days, "trades": 6 * days, "wins": 4 * days,
                "by_strategy": {"grid_atr": 50.0 * days, "supertrend": -11.5 * days},
                "best": {"strategy": "grid_atr", "symbol": "BTC/USDT:USDT", "side": 1, "net": 31.2,
                         "exit_ts": 1_717_200_000_000},
                "worst": {"strategy": "supertrend", "symbol": "ETH/USDT:USDT", "side": -1, "net": -19.8,
                          "exit_ts": 1_717_300_000_000},
                "equity": [10_000.0 + 5.5 * i - (30.0 if i == 4 else 0.0) for i in range(8 * days)]}

    def ranking(self) -> list[RankingRow]:
        self._record("ranking")
        return list(self.ranking_value)

    def kill(self, reason: str) -> None:
        self._record("kill", reason)
        self.killed.append(reason)
        self.kill_switch = True

    def resume(self) -> None:
        self._record("resume")
        self.resumed += 1
        self.kill_switch = False

    def launch_wfo(self, strategy: str, symbol: str) -> str:
        self._record("launch_wfo", strategy, symbol)
        job_id = f"wfo-{strategy}-{len(self.jobs) + 1}"
        self.jobs[job_id] = {"job_id": job_id, "strategy": strategy, "symbols": [symbol], "status": "running",
                             "progress": 0.4, "error": None, "summary": None}
        return job_id

    def finish(self, job_id: str, grade: str, score: float, sharpe: float) -> None:
        job = self.jobs[job_id]
        self.jobs[job_id] = {**job, "status": "done", "progress": 1.0, "summary": {"results": [
            {"symbol": job["symbols"][0], "grade": grade, "score": score, "oos_sharpe": sharpe}]}}

    def wfo_job(self, job_id: str) -> WfoJob | None:
        self._record("wfo_job", job_id)
        return self.jobs.get(job_id)
