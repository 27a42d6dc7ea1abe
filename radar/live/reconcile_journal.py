"""ReconcileJournal: writer and reader of `reconcile_events` (one row per reconciliation decision).

`record` has the `journal` callable shape `radar.live.reconcile` takes (`Callable[[dict], None]`), so the
executor passes `ReconcileJournal(engine).record` as is. A failed write raises `DataError`: a decision
that changed the exchange must not pass unrecorded without the caller hearing about it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, Table, select
from sqlalchemy.exc import SQLAlchemyError

from radar.data.schema import Base, ReconcileEventRow
from radar.errors import DataError

_events: Table = ReconcileEventRow.__table__  # type: ignore[assignment]
_COLUMNS = ("timestamp", "source", "kind", "symbol", "runner_id", "outcome", "detail")


class ReconcileJournal:
    def __init__(self, engine: Engine, source: str = "boot") -> None:
        """`source` is written when an entry does not name its own (`boot` or `watchdog`)."""
        self.engine = engine
        self.source = source
        Base.metadata.create_all(engine, tables=[_events])  # only creates it when missing

    def record(self, entry: Mapping[str, Any]) -> None:
        """One decision as `apply_reconciliation` journals it; keys beyond the columns go to `payload`."""
        missing = [k for k in ("timestamp", "kind", "symbol", "outcome") if entry.get(k) is None]
        if missing:
            raise DataError(f"reconcile journal: entry without {', '.join(missing)}: {dict(entry)!r}")
        row = {k: entry.get(k) for k in _COLUMNS}
        row["source"] = row["source"] or self.source
        row["detail"] = str(row["detail"] or "")
        row["payload"] = {k: v for k, v in entry.items() if k not in _COLUMNS} or None
        try:
            with self.engine.begin() as conn:
                conn.execute(_events.insert(), [row])
        except SQLAlchemyError as exc:
            raise DataError(f"reconcile journal: writing the {entry['kind']} decision for {entry['symbol']} failed: "
                            f"{getattr(exc, 'orig', None) or exc}") from exc

    def events(self, symbol: str | None = None, since_ms: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Oldest first."""
        q = select(_events)
        if symbol is not None:
            q = q.where(_events.c.symbol == symbol)
        if since_ms is not None:
            q = q.where(_events.c.timestamp >= since_ms)
        q = q.order_by(_events.c.timestamp.desc(), _events.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        return rows[::-1]
