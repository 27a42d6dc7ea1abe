"""AdaptiveSelector: exclusion reasons, 5-minute re-evaluation, the latest WFO grade per pair from a real
SQLite database, and candidates built from the arena."""
from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session

from radar.config.loader import load_one
from radar.config.models import RiskConfig
from radar.data.schema import OptimizationJobRow, OptimizationResultRow
from radar.data.store import CandleStore
from radar.live.arena import ArenaEntry
from radar.live.selector import AdaptiveSelector, Exclusion, StrategyStats, latest_grades, stats_from_arena
from tests.conftest import REPO_ROOT

MIN = 60_000
T0 = 1_709_251_200_000  # 2024-03-01 00:00 UTC


def stats(symbol: str, grade: str | None = "A", active: bool = True, trades: int = 40, net: float = 250.0,
          strategy: str = "grid_atr") -> StrategyStats:
    return StrategyStats(strategy, symbol, grade, active, trades, net)


def test_each_exclusion_reason_with_its_detail_and_the_allowed_pairs_sorted():
    # Arrange
    selector = AdaptiveSelector(min_trades=20)
    candidates = [
        stats("SOL/USDT:USDT", grade="B"),
        stats("BTC/USDT:USDT", grade="A"),
        stats("ETH/USDT:USDT", active=False),
        stats("XRP/USDT:USDT", grade="C"),
        stats("DOGE/USDT:USDT", grade=None),
        stats("LINK/USDT:USDT", trades=19),
        stats("ADA/USDT:USDT", net=-42.5),
        stats("BNB/USDT:USDT", net=0.0),
    ]

    # Act
    selection = selector.evaluate(T0, candidates)

    # Assert
    assert selection.allowed == (("grid_atr", "BTC/USDT:USDT"), ("grid_atr", "SOL/USDT:USDT"))
    assert [(e.symbol, e.reason, e.detail) for e in selection.excluded] == [
        ("ADA/USDT:USDT", Exclusion.UNPROFITABLE, "net PnL -42.50 USDT, needs > 0.00"),
        ("BNB/USDT:USDT", Exclusion.UNPROFITABLE, "net PnL 0.00 USDT, needs > 0.00"),
        ("DOGE/USDT:USDT", Exclusion.GRADE, "no WFO grade, live needs A or B"),
        ("ETH/USDT:USDT", Exclusion.INACTIVE, "runner is not active"),
        ("LINK/USDT:USDT", Exclusion.TOO_FEW_TRADES, "19 trades, needs 20"),
        ("XRP/USDT:USDT", Exclusion.GRADE, "grade C, live needs A or B"),
    ]
    assert selector.is_allowed("grid_atr", "SOL/USDT:USDT") and not selector.is_allowed("grid_atr", "ADA/USDT:USDT")


def test_an_inactive_pair_is_excluded_as_inactive_whatever_else_is_wrong():
    selector = AdaptiveSelector()

    selection = selector.evaluate(T0, [stats("BTC/USDT:USDT", grade="F", active=False, trades=0, net=-10.0)])

    assert [e.reason for e in selection.excluded] == [Exclusion.INACTIVE]


def test_the_selection_is_json_safe_for_the_api():
    selector = AdaptiveSelector()
    selector.evaluate(T0, [stats("BTC/USDT:USDT"), stats("ETH/USDT:USDT", grade="D")])

    as_json = json.loads(json.dumps(selector.selection.to_dict()))

    assert as_json == {"evaluated_at": T0, "allowed": [["grid_atr", "BTC/USDT:USDT"]],
                       "excluded": [{"strategy": "grid_atr", "symbol": "ETH/USDT:USDT", "reason": "grade",
                                     "detail": "grade D, live needs A or B"}]}


def test_re_evaluation_is_due_every_5_minutes_and_replaces_the_selection():
    # Arrange: thresholds from the shipped risk.yaml (interval 300 s)
    selector = AdaptiveSelector.from_config(load_one("risk", REPO_ROOT / "config" / "risk.yaml").selector)
    due_before_any = selector.due(T0)
    selector.evaluate(T0, [stats("BTC/USDT:USDT", net=120.0)])

    # Act: 5 minutes later BTC has lost money
    due_early = selector.due(T0 + 5 * MIN - 1)
    due_on_time = selector.due(T0 + 5 * MIN)
    selector.evaluate(T0 + 5 * MIN, [stats("BTC/USDT:USDT", net=-15.0)])

    # Assert
    assert (due_before_any, due_early, due_on_time) == (True, False, True)
    assert not selector.is_allowed("grid_atr", "BTC/USDT:USDT")
    assert selector.why_not("grid_atr", "BTC/USDT:USDT") == "unprofitable: net PnL -15.00 USDT, needs > 0.00"
    assert not selector.due(T0 + 9 * MIN)


def test_a_pair_missing_from_the_next_evaluation_loses_its_capital():
    selector = AdaptiveSelector(min_trades=5)
    selector.evaluate(T0, [stats("BTC/USDT:USDT"), stats("ETH/USDT:USDT")])

    selector.evaluate(T0 + 5 * MIN, [stats("ETH/USDT:USDT")])

    assert not selector.is_allowed("grid_atr", "BTC/USDT:USDT")
    assert selector.why_not("grid_atr", "BTC/USDT:USDT") == "not among the evaluated candidates"


def test_thresholds_come_from_the_config_section():
    config = RiskConfig.model_validate({"selector": {"grades": ["A"], "min_trades": 50, "min_net_pnl": 100}})
    selector = AdaptiveSelector.from_config(config.selector)

    selection = selector.evaluate(T0, [stats("BTC/USDT:USDT", grade="B", trades=60, net=500.0),
                                       stats("ETH/USDT:USDT", grade="A", trades=60, net=100.0),
                                       stats("SOL/USDT:USDT", grade="A", trades=49, net=500.0),
                                       stats("XRP/USDT:USDT", grade="A", trades=50, net=100.01)])

    assert selection.allowed == (("grid_atr", "XRP/USDT:USDT"),)
    assert [e.reason.value for e in selection.excluded] == ["grade", "unprofitable", "too_few_trades"]


def test_a_pair_listed_twice_is_an_error_naming_it():
    with pytest.raises(ValueError, match="selector: grid_atr on BTC/USDT:USDT is listed twice among the candidates"):
        AdaptiveSelector().evaluate(T0, [stats("BTC/USDT:USDT"), stats("BTC/USDT:USDT", net=1.0)])


def test_a_non_finite_pnl_is_an_error_naming_the_pair():
    with pytest.raises(ValueError, match="selector: grid_atr on BTC/USDT:USDT: net PnL must be finite, got nan"):
        stats("BTC/USDT:USDT", net=float("nan"))


# ------------------------------------------------------------------ latest_grades


def add_result(session: Session, job_id: str, strategy: str, symbol: str, grade: str | None, created_at: int) -> None:
    if session.get(OptimizationJobRow, job_id) is None:
        session.add(OptimizationJobRow(id=job_id, kind="wfo", strategy=strategy, status="done", progress=1, total=1,
                                       created_at=created_at, updated_at=created_at))
        session.flush()
    session.add(OptimizationResultRow(job_id=job_id, strategy=strategy, symbol=symbol, timeframe="1h", params={},
                                      metrics={}, score=None, grade=grade, created_at=created_at))
    session.flush()


def test_latest_grades_takes_the_newest_result_per_strategy_and_symbol(tmp_path):
    # Arrange: BTC graded B then A, ETH graded A then C, DOGE never graded; two results share one timestamp
    store = CandleStore(f"sqlite:///{tmp_path / 'radar.db'}")
    with Session(store.engine) as s, s.begin():
        add_result(s, "job-1", "grid_atr", "BTC/USDT:USDT", "B", T0)
        add_result(s, "job-1", "grid_atr", "ETH/USDT:USDT", "A", T0)
        add_result(s, "job-2", "grid_atr", "BTC/USDT:USDT", "A", T0 + 86_400_000)
        add_result(s, "job-2", "grid_atr", "ETH/USDT:USDT", "C", T0 + 86_400_000)
        add_result(s, "job-3", "grid_range", "BTC/USDT:USDT", "D", T0 + 2 * 86_400_000)
        add_result(s, "job-4", "grid_range", "BTC/USDT:USDT", "B", T0 + 2 * 86_400_000)  # same time, later row
        add_result(s, "job-5", "grid_atr", "DOGE/USDT:USDT", None, T0)

    # Act
    grades = latest_grades(store.engine)
    store.close()

    # Assert
    assert grades == {("grid_atr", "BTC/USDT:USDT"): "A", ("grid_atr", "ETH/USDT:USDT"): "C",
                      ("grid_range", "BTC/USDT:USDT"): "B", ("grid_atr", "DOGE/USDT:USDT"): None}


def test_grades_from_the_database_and_arena_entries_drive_the_selection(tmp_path):
    # Arrange
    store = CandleStore(f"sqlite:///{tmp_path / 'radar.db'}")
    with Session(store.engine) as s, s.begin():
        add_result(s, "job-1", "grid_atr", "BTC/USDT:USDT", "A", T0)
        add_result(s, "job-1", "grid_atr", "ETH/USDT:USDT", "B", T0)
    arena = [ArenaEntry("grid_atr:BTC/USDT:USDT", "grid_atr", "BTC/USDT:USDT", 1_000.0, 1_084.2, 8.42, 3.1, 31, 19, 84.2),
             ArenaEntry("grid_atr:ETH/USDT:USDT", "grid_atr", "ETH/USDT:USDT", 1_000.0, 1_020.0, 2.0, 1.0, 25, 14, 20.0),
             ArenaEntry("grid_atr:SOL/USDT:USDT", "grid_atr", "SOL/USDT:USDT", 1_000.0, 1_150.0, 15.0, 4.0, 44, 30, 150.0)]

    # Act
    candidates = stats_from_arena(arena, latest_grades(store.engine), inactive=[("grid_atr", "ETH/USDT:USDT")])
    selection = AdaptiveSelector(min_trades=20).evaluate(T0, candidates)
    store.close()

    # Assert
    assert candidates[0] == StrategyStats("grid_atr", "BTC/USDT:USDT", "A", True, 31, 84.2)
    assert selection.allowed == (("grid_atr", "BTC/USDT:USDT"),)
    assert [(e.symbol, e.reason.value) for e in selection.excluded] == [("ETH/USDT:USDT", "inactive"),
                                                                         ("SOL/USDT:USDT", "grade")]
