"""Request and response models of the REST API and the /ws/live messages.

Every endpoint declares one of these as its response model, so the OpenAPI schema describes every
body the dashboard reads. Times are epoch milliseconds (UTC), like everywhere else in the system; money
is in the quote currency (USDT). Request models forbid unknown keys: a typo is a 422 naming the key,
not a silently ignored field.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from radar.models import TIMEFRAME_MS
from radar.strategies.registry import strategy_names

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
Side = Literal["long", "short"]
SideOrFlat = Literal["long", "short", "flat"]
Grade = Literal["A", "B", "C", "D", "F"]
# ccxt unified symbols as the config uses them: BTC/USDT:USDT, BTC/USDT
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,10}(:[A-Z0-9]{1,10})?$")]
# The registered strategies as an enum: the OpenAPI schema lists them (dashboard dropdowns, generated clients).
StrategyId = Literal[tuple(strategy_names())]  # type: ignore[valid-type]
Timeframe = Literal[tuple(TIMEFRAME_MS)]  # type: ignore[valid-type]
EpochMs = Annotated[int, Field(ge=0, le=4_102_444_800_000)]  # up to 2100-01-01


class ApiModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ErrorResponse(ApiModel):
    detail: str
    errors: list[dict[str, Any]] | None = None


# -- health ---------------------------------------------------------------------------------------------
class Health(ApiModel):
    status: Literal["ok"]
    version: str
    time_ms: int
    uptime_s: float
    client: str  # which SystemClient answers: "fake" or "ray"
    ws_clients: int
    database: bool  # whether the read-only DB endpoints are configured


# -- simulator ------------------------------------------------------------------------------------------
class RunnerStatus(ApiModel):
    runner_id: str
    strategy: str
    symbol: str
    initial_capital: float
    capital: float  # booked cash (margin of open positions excluded)
    equity: float  # capital + margin + unrealized PnL at the current price
    used_margin: float
    return_pct: float
    stopped: bool
    stop_reason: str = ""
    last_ts: int | None = None  # open time of the last candle processed


class StrategyStatus(ApiModel):
    name: str
    symbols: list[str]
    timeframe: str = "1h"  # the candles its runners trade
    candles: int  # closed candles processed since the actor started
    events: int  # trade events sent
    restored: bool  # started from saved state (not a fresh warm-up)
    runners: list[RunnerStatus]


class SimulatorStatus(ApiModel):
    timestamp: int
    strategies: list[StrategyStatus]
    runners: int
    stopped_runners: int
    initial_capital: float
    total_equity: float
    return_pct: float
    open_positions: int


class Position(ApiModel):
    runner_id: str
    strategy: str
    symbol: str
    side: Side
    quantity: float
    avg_entry: float
    entry_fees: float
    opened_ts: int
    price: float | None = None
    unrealized_pnl: float | None = None
    notional: float


class GridLeg(ApiModel):
    level: int
    entry_price: float
    quantity: float
    margin: float
    entry_ts: int


class GridState(ApiModel):
    runner_id: str
    strategy: str
    symbol: str
    side: SideOrFlat
    avg_entry: float | None
    quantity: float
    filled_levels: list[int]
    legs: list[GridLeg]
    price: float | None = None
    unrealized_pnl: float | None = None
    tp_price: float | None = None  # None: not known to the API (the strategy computes it each candle)
    sl_price: float | None = None
    pending_levels: list[float] = []  # prices of the levels not filled yet, when known


class EquityRunner(ApiModel):
    runner_id: str
    equity: float
    capital: float
    used_margin: float


class EquityPoint(ApiModel):
    timestamp: int
    equity: float
    cash: float
    unrealized_pnl: float
    margin_used: float


class EquityResponse(ApiModel):
    timestamp: int
    scope: str
    initial_capital: float
    total_equity: float
    return_pct: float
    runners: list[EquityRunner]
    curve: list[EquityPoint]  # journal snapshots of `scope`, oldest first (empty without a database)


class Trade(ApiModel):
    trade_id: str
    runner_id: str
    strategy: str
    symbol: str
    side: SideOrFlat
    entry_ts: int
    exit_ts: int
    entry_price: float
    exit_price: float
    qty: float
    gross_pnl: float
    fees: float
    slippage: float
    funding: float
    net_pnl: float
    reason: str
    positions: int | None = None  # grid legs closed together


class TradePage(ApiModel):
    total: int
    limit: int
    offset: int
    items: list[Trade]


class RunnerPerformance(ApiModel):
    runner_id: str  # "all" for the totals
    trades: int
    wins: int
    losses: int
    win_rate: float
    net_pnl: float
    gross_profit: float
    gross_loss: float
    profit_factor: float | None  # None: no losing trade
    fees: float
    funding: float
    best_trade: float | None
    worst_trade: float | None
    avg_trade: float | None
    max_drawdown: float  # largest fall of cumulative net PnL from its running peak, in USDT


class Performance(ApiModel):
    totals: RunnerPerformance
    runners: list[RunnerPerformance]


class KillSwitchRunner(ApiModel):
    runner_id: str
    stopped: bool
    reason: str = ""


class KillSwitchStatus(ApiModel):
    global_available: bool  # False: no global kill switch is wired into the running system
    global_active: bool
    frozen_until: int | None = None
    drawdown_pct: float | None = None
    runners: list[KillSwitchRunner]


class KillSwitchReset(ApiModel):
    runner_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None  # None: global + all


# -- executor -------------------------------------------------------------------------------------------
class EntryRefusal(ApiModel):
    """An entry the live executor did not send: a risk rule (reason as in `radar.live.risk_manager.RefusalReason`)
    or a symbol collision, with the numbers in `detail`."""

    timestamp: int
    runner_id: str
    symbol: str
    reason: str
    detail: str


class ExecutorStatus(ApiModel):
    mode: Literal["paper", "live"]
    live_trading: bool
    fills: int
    open_positions: int
    exposure: float  # entry notional of open positions
    kill_switch_active: bool
    refusals: dict[str, int] = {}  # live: refused entries per reason since start
    recent_refusals: list[EntryRefusal] = []  # live: the newest refusals, oldest first


class Order(ApiModel):
    client_oid: str
    exchange_order_id: str | None
    exchange: str
    symbol: str
    runner_id: str | None
    side: str
    order_type: str
    reduce_only: bool
    qty: float
    price: float | None
    status: str
    filled_qty: float
    avg_fill_price: float | None
    created_at: int
    updated_at: int
    error: str | None


class OrderPage(ApiModel):
    total: int
    limit: int
    offset: int
    items: list[Order]


# -- arena ----------------------------------------------------------------------------------------------
class RankingEntry(ApiModel):
    rank: int
    runner_id: str
    strategy: str
    symbol: str
    initial_capital: float
    equity: float
    return_pct: float
    max_drawdown_pct: float
    trades: int
    wins: int
    win_rate: float
    net_pnl: float


# -- data -----------------------------------------------------------------------------------------------
class FeedHealth(ApiModel):
    connected: bool
    last_message_ms: int | None
    last_candle_ms: dict[str, int]  # "symbol|timeframe" -> open time of the last closed candle
    reconnects: int
    rejected: dict[str, int]
    duplicates: int
    backfilled: int


class SeriesStatus(ApiModel):
    exchange: str
    symbol: str
    timeframe: str
    first_ms: int
    last_ms: int
    rows: int
    gaps: int
    missing_candles: int


class DataStatus(ApiModel):
    feed: FeedHealth | None
    feed_error: str | None = None  # why `feed` is missing
    series: list[SeriesStatus]


class Ohlcv(ApiModel):
    time_ms: int  # open time of the candle
    open: float
    high: float
    low: float
    close: float
    volume: float  # in the base currency, as the exchange reports it


class CandleSeries(ApiModel):
    """Stored candles of one series, oldest first. The identity is echoed so a client polling several
    symbols can tell which series an answer belongs to."""

    exchange: str
    symbol: str
    timeframe: str
    candles: list[Ohlcv]


def _check_range(start: int | None, end: int | None) -> None:
    if start is not None and end is not None and start >= end:
        raise ValueError(f"start_ms ({start}) must be before end_ms ({end})")


class BackfillRequest(ApiModel):
    symbols: Annotated[list[Symbol], Field(min_length=1, max_length=50)]
    timeframe: Timeframe = "1h"
    start_ms: EpochMs
    end_ms: EpochMs | None = None  # None: up to now

    @model_validator(mode="after")
    def _range(self) -> BackfillRequest:
        _check_range(self.start_ms, self.end_ms)
        return self


class BackfillAccepted(ApiModel):
    request_id: str
    status: Literal["queued", "running", "done", "failed"]
    symbols: list[str]
    timeframe: str
    start_ms: int
    end_ms: int | None


# -- WFO ------------------------------------------------------------------------------------------------
class StrategyInfo(ApiModel):
    name: str
    enabled: bool
    symbols: list[str]
    timeframe: str
    params: dict[str, Any]
    has_grid: bool
    n_combos: int | None


class WfoWindowsModel(ApiModel):
    is_days: int
    oos_days: int
    step_days: int
    embargo_days: int


class ParamGrid(ApiModel):
    strategy: str
    default: dict[str, list[Any]]
    per_symbol: dict[str, dict[str, list[Any]]]
    wfo: WfoWindowsModel
    n_combos: int


class SweepLaunch(ApiModel):
    strategy: StrategyId
    symbols: Annotated[list[Symbol], Field(min_length=1, max_length=50)]
    job_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] | None = None
    exchange: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")] = "bitget"
    start_ms: EpochMs | None = None
    end_ms: EpochMs | None = None
    is_days: Annotated[float, Field(gt=0, le=3650)] | None = None
    oos_days: Annotated[float, Field(gt=0, le=3650)] | None = None
    step_days: Annotated[float, Field(gt=0, le=3650)] | None = None
    embargo_days: Annotated[float, Field(ge=0, le=365)] | None = None
    batch_size: Annotated[int, Field(ge=1, le=100_000)] | None = None

    @field_validator("symbols")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("symbols must not repeat")
        return v

    @model_validator(mode="after")
    def _range(self) -> SweepLaunch:
        _check_range(self.start_ms, self.end_ms)
        return self


class JobProgress(ApiModel):
    job_id: str
    strategy: str
    symbols: list[str]
    source: str  # cli | api | telegram | db (a job known only from the database)
    status: JobState
    done: int
    total: int
    progress: float  # 0..1
    error: str | None = None
    submitted_at: int | None = None
    started_at: int | None = None
    finished_at: int | None = None
    cancel_requested: bool = False


class WfoResult(ApiModel):
    symbol: str
    strategy: str
    timeframe: str
    params: dict[str, Any]
    grade: str | None
    score: float | None
    metrics: dict[str, Any]


class ComboResult(ApiModel):
    symbol: str
    combo_key: str
    params: dict[str, Any]
    is_sharpe: float | None
    oos_sharpe: float | None
    consistency: float | None
    n_windows: int
    n_trades: int
    metrics: dict[str, Any]


class ComboPage(ApiModel):
    job_id: str
    total: int
    limit: int
    offset: int
    param_names: list[str]  # the axes a heatmap may use (parameters that vary across the combos)
    items: list[ComboResult]


class ApplyRequest(ApiModel):
    grades: Annotated[list[Grade], Field(min_length=1, max_length=5)] = ["A", "B"]
    dry_run: bool = False


class AppliedItem(ApiModel):
    strategy: str
    symbol: str
    grade: str | None
    params: dict[str, Any]


class ApplyResult(ApiModel):
    job_id: str
    dry_run: bool
    applied: list[AppliedItem]
    backup: str | None  # the strategies.yaml backup written before the edit


# -- portfolio ------------------------------------------------------------------------------------------
class PortfolioLaunch(ApiModel):
    strategies: Annotated[list[StrategyId], Field(min_length=1, max_length=20)]
    symbols: Annotated[list[Symbol], Field(min_length=1, max_length=50)]
    timeframe: Timeframe = "1h"
    exchange: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")] = "bitget"
    start_ms: EpochMs | None = None
    end_ms: EpochMs | None = None
    capital: Annotated[float, Field(gt=0, le=1e12)] | None = None  # None: risk.yaml initial_capital
    name: Annotated[str, StringConstraints(max_length=128)] = ""


    @model_validator(mode="after")
    def _range(self) -> PortfolioLaunch:
        _check_range(self.start_ms, self.end_ms)
        return self


class PortfolioProgress(ApiModel):
    run_id: str
    name: str
    status: JobState
    progress: float  # 0..1
    backtest_id: int | None = None  # the portfolio_backtests row once done
    error: str | None = None
    submitted_at: int
    finished_at: int | None = None


class PortfolioSummary(ApiModel):
    id: int
    name: str
    created_at: int
    strategies: list[str]
    symbols: list[str]
    start_ms: int
    end_ms: int
    initial_capital: float
    final_equity: float
    return_pct: float
    max_drawdown_pct: float | None
    sharpe: float | None
    trades: int | None
    benchmark_return_pct: float | None


class PortfolioPoint(ApiModel):
    timestamp: int
    equity: float
    margin: float
    open_positions: int


class PortfolioDetail(ApiModel):
    summary: PortfolioSummary
    metrics: dict[str, Any]
    params: dict[str, Any]
    equity_curve: list[PortfolioPoint]


class PortfolioCompare(ApiModel):
    items: list[PortfolioSummary]
    metrics: dict[str, dict[str, float | None]]  # metric -> {backtest id: value}
    best_return_id: int


# -- journal --------------------------------------------------------------------------------------------
class Snapshot(ApiModel):
    timestamp: int
    scope: str
    equity: float
    cash: float
    unrealized_pnl: float
    margin_used: float


class PositionEvent(ApiModel):
    event_id: str
    runner_id: str
    strategy: str
    symbol: str
    timestamp: int
    kind: str
    side: SideOrFlat
    price: float
    qty: float
    level: int | None = None
    reason: str | None = None


class EventPage(ApiModel):
    total: int
    limit: int
    offset: int
    items: list[PositionEvent]


class DailyPnl(ApiModel):
    day: str  # YYYY-MM-DD (UTC) of the trades' exit
    trades: int
    wins: int
    net_pnl: float
    fees: float
    cumulative_pnl: float


# -- logs -----------------------------------------------------------------------------------------------
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class LogLine(ApiModel):
    timestamp: int
    level: LogLevel
    logger: str
    message: str


# -- /ws/live -------------------------------------------------------------------------------------------
class Alert(ApiModel):
    kind: str
    message: str
    timestamp: int
    severity: Literal["info", "warning", "critical"] = "warning"


class LiveUpdate(ApiModel):
    """The periodic /ws/live message (SPEC §10), also served by GET /api/live/update."""

    type: Literal["update"] = "update"
    timestamp: int
    strategies: list[StrategyStatus]
    kill_switch: KillSwitchStatus | None
    simulator_positions: list[Position]
    grid_state: list[GridState]
    ranking: list[RankingEntry]
    executor: ExecutorStatus | None
    prices: dict[str, float]
    unavailable: list[str] = []  # sections the running system could not provide this tick


class TradeMessage(ApiModel):
    type: Literal["trade"] = "trade"
    data: Trade


class AlertMessage(ApiModel):
    type: Literal["alert"] = "alert"
    data: Alert


class OptimizationProgressMessage(ApiModel):
    type: Literal["optimization_progress"] = "optimization_progress"
    data: JobProgress


class PortfolioProgressMessage(ApiModel):
    type: Literal["portfolio_progress"] = "portfolio_progress"
    data: PortfolioProgress


LiveEvent = Annotated[TradeMessage | AlertMessage | OptimizationProgressMessage | PortfolioProgressMessage,
                      Field(discriminator="type")]
