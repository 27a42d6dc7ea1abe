"""SQLAlchemy 2 table definitions for every table of SPEC §3.

One consistent schema strategy: `Base.metadata.create_all` runs when a store opens (it only creates
missing tables), and the `schema_version` table holds one row with `SCHEMA_VERSION`. A later issue that
adds columns bumps `SCHEMA_VERSION` and registers an upgrade step in `radar.data.store.MIGRATIONS`.

All timestamps are epoch milliseconds (UTC) in BigInteger columns, the same unit the rest of the system
uses, so no timezone conversion happens at the database boundary. Flexible payloads are JSON columns.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 2  # 2: reconcile_events


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class SchemaVersion(Base):
    __tablename__ = "schema_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class CandleRow(Base):
    """One OHLCV candle. The composite primary key is the uniqueness rule; on SQLite the table is
    WITHOUT ROWID so rows live in the key's B-tree (no second index to maintain, range scans in order)."""

    __tablename__ = "candles"
    __table_args__ = {"sqlite_with_rowid": False}

    exchange: Mapped[str] = mapped_column(String(32), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    timeframe: Mapped[str] = mapped_column(String(8), primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    open: Mapped[float] = mapped_column(Float, nullable=False)
    high: Mapped[float] = mapped_column(Float, nullable=False)
    low: Mapped[float] = mapped_column(Float, nullable=False)
    close: Mapped[float] = mapped_column(Float, nullable=False)
    volume: Mapped[float] = mapped_column(Float, nullable=False)


class FundingRateRow(Base):
    __tablename__ = "funding_rates"
    __table_args__ = {"sqlite_with_rowid": False}

    exchange: Mapped[str] = mapped_column(String(32), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    rate: Mapped[float] = mapped_column(Float, nullable=False)


class OpenInterestRow(Base):
    """Open interest as the exchange reports it (base-currency amount for Bitget/ccxt `openInterestAmount`)."""

    __tablename__ = "open_interest"
    __table_args__ = {"sqlite_with_rowid": False}

    exchange: Mapped[str] = mapped_column(String(32), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)


class SimulationTradeRow(Base):
    """A closed trade of a paper/live runner; `trade_id` is deterministic so a replay cannot duplicate it."""

    __tablename__ = "simulation_trades"
    __table_args__ = (Index("ix_simulation_trades_runner_exit", "runner_id", "exit_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trade_id: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    runner_id: Mapped[str] = mapped_column(String(128), nullable=False)
    strategy: Mapped[str] = mapped_column(String(64), nullable=False)
    symbol: Mapped[str] = mapped_column(String(64), nullable=False)
    side: Mapped[str] = mapped_column(String(8), nullable=False)
    entry_ts: Mapped[int] = mapped_column(BigInteger, nullable=False)
    exit_ts: Mapped[int] = mapped_column(BigInteger, nullable=False)
    entry_price: Mapped[float] = mapped_column(Float, nullable=False)
    exit_price: Mapped[float] = mapped_column(Float, nullable=False)
    qty: Mapped[float] = mapped_column(Float, nullable=False)
    gross_pnl: Mapped[float] = mapped_column(Float, nullable=False)
    fees: Mapped[float] = mapped_column(Float, nullable=False)
    slippage: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    funding: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    net_pnl: Mapped[float] = mapped_column(Float, nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class PositionEventRow(Base):
    """Open/add/close/liquidate events of a runner's positions (what the executor mirrors to the exchange)."""

    __tablename__ = "position_events"
    __table_args__ = (
        UniqueConstraint("event_id", name="uq_position_events_event_id"),
        Index("ix_position_events_runner_ts", "runner_id", "timestamp"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(128), nullable=False)
    runner_id: Mapped[str] = mapped_column(String(128), nullable=False)
    strategy: Mapped[str] = mapped_column(String(64), nullable=False)
    symbol: Mapped[str] = mapped_column(String(64), nullable=False)
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    side: Mapped[str] = mapped_column(String(8), nullable=False)
    price: Mapped[float] = mapped_column(Float, nullable=False)
    qty: Mapped[float] = mapped_column(Float, nullable=False)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class PortfolioSnapshotRow(Base):
    __tablename__ = "portfolio_snapshots"
    __table_args__ = (Index("ix_portfolio_snapshots_scope_ts", "scope", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(128), nullable=False)  # "paper", "live" or a runner id
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
    equity: Mapped[float] = mapped_column(Float, nullable=False)
    cash: Mapped[float] = mapped_column(Float, nullable=False)
    unrealized_pnl: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    margin_used: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class OptimizationJobRow(Base):
    __tablename__ = "optimization_jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, default="wfo")
    strategy: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # queued/running/done/failed/cancelled
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class OptimizationResultRow(Base):
    """The outcome of one job for one symbol: the chosen parameters and their out-of-sample metrics."""

    __tablename__ = "optimization_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("optimization_jobs.id", ondelete="CASCADE"), nullable=False, index=True)
    strategy: Mapped[str] = mapped_column(String(64), nullable=False)
    symbol: Mapped[str] = mapped_column(String(64), nullable=False)
    timeframe: Mapped[str] = mapped_column(String(8), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    grade: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class WfoComboResultRow(Base):
    """One parameter combo of a WFO sweep, aggregated over its windows."""

    __tablename__ = "wfo_combo_results"
    __table_args__ = (UniqueConstraint("job_id", "symbol", "combo_key", name="uq_wfo_combo"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("optimization_jobs.id", ondelete="CASCADE"), nullable=False, index=True)
    symbol: Mapped[str] = mapped_column(String(64), nullable=False)
    combo_key: Mapped[str] = mapped_column(String(256), nullable=False)  # canonical params string
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    is_sharpe: Mapped[float | None] = mapped_column(Float, nullable=True)
    oos_sharpe: Mapped[float | None] = mapped_column(Float, nullable=True)
    consistency: Mapped[float | None] = mapped_column(Float, nullable=True)
    n_windows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    n_trades: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class WfoWindowMetricsRow(Base):
    """Metrics of every combo on one window of a sweep, saved as soon as the window completes: what a
    re-run with the same job id resumes from. `data` is a float64 array [n_combos, len(columns)]."""

    __tablename__ = "wfo_window_metrics"
    __table_args__ = (UniqueConstraint("job_id", "symbol", "window", "phase", name="uq_wfo_window"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("optimization_jobs.id", ondelete="CASCADE"), nullable=False, index=True)
    symbol: Mapped[str] = mapped_column(String(64), nullable=False)
    window: Mapped[int] = mapped_column(Integer, nullable=False)
    phase: Mapped[str] = mapped_column(String(8), nullable=False)
    n_combos: Mapped[int] = mapped_column(Integer, nullable=False)
    columns: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class PortfolioBacktestRow(Base):
    __tablename__ = "portfolio_backtests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    strategies: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    symbols: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    start_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    end_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    initial_capital: Mapped[float] = mapped_column(Float, nullable=False)
    final_equity: Mapped[float] = mapped_column(Float, nullable=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    equity_curve: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class LiveOrderRow(Base):
    """A real exchange order. `client_oid` is generated before sending, so a retry after a crash finds it."""

    __tablename__ = "live_orders"
    __table_args__ = (Index("ix_live_orders_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_oid: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    exchange_order_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    exchange: Mapped[str] = mapped_column(String(32), nullable=False)
    symbol: Mapped[str] = mapped_column(String(64), nullable=False)
    runner_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    side: Mapped[str] = mapped_column(String(8), nullable=False)
    order_type: Mapped[str] = mapped_column(String(16), nullable=False)
    reduce_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    qty: Mapped[float] = mapped_column(Float, nullable=False)
    price: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    filled_qty: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    avg_fill_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    fills: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReconcileEventRow(Base):
    """One decision of the live executor's reconciliation with the exchange (at boot, or the watchdog's
    stop-loss guard): what was found, what was done and how it ended. Written by `radar.live.reconcile_journal`."""

    __tablename__ = "reconcile_events"
    __table_args__ = (Index("ix_reconcile_events_symbol_ts", "symbol", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # boot | watchdog
    kind: Mapped[str] = mapped_column(String(32), nullable=False)  # adopt | drop | resize | cancel_orphan | replace_sl | ok
    symbol: Mapped[str] = mapped_column(String(64), nullable=False)
    runner_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)  # done | closed | failed
    detail: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


candles_table = CandleRow.__table__
funding_rates_table = FundingRateRow.__table__
open_interest_table = OpenInterestRow.__table__
