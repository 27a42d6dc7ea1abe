"""Atomic state files: a crash mid-write keeps the old file, a corrupt file is an error, counters persist."""
from __future__ import annotations

import json
import os

import pytest

from radar.live.clock import ManualClock
from radar.live.state import StateFileError, StateFiles, read_json, write_json_atomic


def test_write_then_read_round_trips_the_object(tmp_path):
    # Arrange
    path = tmp_path / "state.json"
    obj = {"runners": {"grid_atr:BTC/USDT:USDT": {"capital": 9876.5, "index": 42}}, "seq": [1, 2, 3]}

    # Act
    write_json_atomic(path, obj)

    # Assert
    assert read_json(path) == obj
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp file left behind


def test_crash_before_replace_leaves_the_old_file_intact_and_no_temp_file(tmp_path, monkeypatch):
    # Arrange
    path = tmp_path / "simulator_state.json"
    write_json_atomic(path, {"capital": 10_000.0})

    def crash(src, dst):
        raise OSError("simulated power loss")

    monkeypatch.setattr(os, "replace", crash)

    # Act
    with pytest.raises(OSError, match="simulated power loss"):
        write_json_atomic(path, {"capital": 1.0})

    # Assert
    assert json.loads(path.read_text()) == {"capital": 10_000.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["simulator_state.json"]


def test_truncated_file_is_reported_with_its_path_and_position(tmp_path):
    # Arrange
    path = tmp_path / "executor_state.json"
    path.write_text('{"capital": 100.0, "positions": [')

    # Act / Assert
    with pytest.raises(StateFileError, match=r"executor_state\.json: corrupt JSON at line 1 column 34"):
        read_json(path)


def test_empty_file_is_corrupt_not_an_empty_state(tmp_path):
    path = tmp_path / "simulator_state.json"
    path.write_bytes(b"")

    with pytest.raises(StateFileError, match="empty"):
        read_json(path)


def test_missing_file_reads_as_none(tmp_path):
    assert read_json(tmp_path / "absent.json") is None


def test_nan_is_refused_so_the_file_stays_strict_json(tmp_path):
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "x.json", {"v": float("nan")})
    assert not list(tmp_path.iterdir())


def test_state_files_keep_a_save_counter_across_instances(tmp_path):
    # Arrange
    clock = ManualClock(1_700_000_000_000)
    files = StateFiles(tmp_path, clock)
    files.save_simulator({"a": 1})
    clock.advance(60_000)
    files.save_simulator({"a": 2})

    # Act: a restarted process continues the counter
    restarted = StateFiles(tmp_path, clock)
    clock.advance(60_000)
    third = restarted.save_simulator({"a": 3})
    loaded = StateFiles(tmp_path).load_simulator()

    # Assert
    assert third.save_count == 3
    assert loaded is not None
    assert (loaded.save_count, loaded.saved_at_ms, loaded.payload) == (3, 1_700_000_120_000, {"a": 3})
    assert StateFiles(tmp_path).load_executor() is None


def test_state_file_of_the_wrong_kind_or_version_is_refused(tmp_path):
    # Arrange
    write_json_atomic(tmp_path / "executor_state.json", {"kind": "simulator", "version": 1, "save_count": 1,
                                                         "saved_at_ms": 0, "payload": {}})
    write_json_atomic(tmp_path / "simulator_state.json", {"kind": "simulator", "version": 99, "save_count": 1,
                                                          "saved_at_ms": 0, "payload": {}})
    files = StateFiles(tmp_path)

    # Act / Assert
    with pytest.raises(StateFileError, match="holds 'simulator' state, expected 'executor'"):
        files.load_executor()
    with pytest.raises(StateFileError, match="version 99 is not supported"):
        files.load_simulator()
