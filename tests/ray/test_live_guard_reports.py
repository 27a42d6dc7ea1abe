"""The portfolio guard actor takes a runner's books along with its entry question: a grid one symbol closed
earlier in the same batch of candles frees its margin for the next symbol's entry, as in the portfolio
backtester (the batch's own report goes to the guard only after the batch)."""
from __future__ import annotations

import pytest
import ray

from actors.live_guard import PortfolioGuardActor
from actors.live_state import StateStoreActor
from radar.config.loader import load_config
from radar.live.portfolio_guard import RunnerReport

pytestmark = [pytest.mark.ray]
T = 1_700_002_800_000


def test_books_carried_by_check_entry_free_the_margin_a_closed_grid_held(ray_session, tmp_path):
    # Arrange: capital 1,000 -> margin limit 700 (70 %), asset cap 250 (25 %); A and B hold 240 each
    risk = load_config().risk.model_copy(update={"max_margin_ratio": 0.70, "max_asset_fraction": 0.25})
    store = StateStoreActor.remote(str(tmp_path / "data"), f"sqlite:///{tmp_path / 'radar.db'}")
    symbol_of = {f"grid_atr:{s}": s for s in "ABCD"}
    guard = PortfolioGuardActor.remote(symbol_of, 1_000.0, risk, store)
    try:
        ray.get(guard.report.remote([RunnerReport(f"grid_atr:{s}", T, 1_000.0, 240.0, 250.0) for s in "AB"]))

        # Act: C asks for 240 while the guard still counts A's 240 (480 + 240 > 700) ...
        stale = ray.get(guard.check_entry.remote("grid_atr:C", 240.0, 0.0))
        # ... then asks again carrying A's book after A's grid closed in the same batch (A: 0)
        fresh = ray.get(guard.check_entry.remote("grid_atr:C", 240.0, 0.0,
                                                  [RunnerReport("grid_atr:A", T + 3_600_000, 1_010.0, 0.0, 250.0)]))
        status = ray.get(guard.status.remote())
    finally:
        for h in (guard, store):
            ray.kill(h)

    # Assert
    assert stale == "margin_limit"
    assert fresh is None
    assert status["used_margin"] == pytest.approx(0.0 + 240.0 + 240.0)  # A freed, B held, C reserved
    assert status["now_ms"] == T + 3_600_000  # the carried book moved the guard's candle time too
