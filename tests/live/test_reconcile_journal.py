"""The reconcile_events table: written by ReconcileJournal, and added to a version-1 database on open."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text

from radar.data.schema import SCHEMA_VERSION
from radar.data.store import CandleStore
from radar.errors import DataError
from radar.live.reconcile_journal import ReconcileJournal

T0 = 1_700_002_800_000


def test_a_version_1_database_gets_the_reconcile_events_table_when_opened(tmp_path):
    # Arrange: a database as version 1 left it (no reconcile_events)
    url = f"sqlite:///{tmp_path / 'radar.db'}"
    CandleStore(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE reconcile_events"))
        conn.execute(text("UPDATE schema_version SET version = 1"))

    # Act
    CandleStore(url).close()

    # Assert
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version FROM schema_version")).scalar_one() == SCHEMA_VERSION == 2
    assert "reconcile_events" in inspect(engine).get_table_names()


def test_decisions_are_written_with_extra_keys_in_the_payload_and_read_back_oldest_first():
    journal = ReconcileJournal(create_engine("sqlite://"))

    journal.record({"timestamp": T0 + 5, "kind": "replace_sl", "symbol": "BTC/USDT:USDT", "runner_id": None,
                    "outcome": "done", "detail": "no stop-loss on the exchange; stop at 3739.54", "order_id": "991",
                    "sl_price": 3739.54})
    journal.record({"timestamp": T0, "source": "watchdog", "kind": "adopt", "symbol": "BTC/USDT:USDT",
                    "outcome": "done", "detail": "adopted"})

    rows = journal.events()
    assert [(r["timestamp"], r["source"], r["kind"]) for r in rows] == [(T0, "watchdog", "adopt"), (T0 + 5, "boot", "replace_sl")]
    assert rows[1]["payload"] == {"order_id": "991", "sl_price": 3739.54}
    assert journal.events(since_ms=T0 + 1)[0]["kind"] == "replace_sl"


def test_an_entry_without_its_kind_or_outcome_is_refused():
    journal = ReconcileJournal(create_engine("sqlite://"))

    with pytest.raises(DataError, match="without kind, outcome"):
        journal.record({"timestamp": T0, "symbol": "BTC/USDT:USDT", "detail": "?"})
