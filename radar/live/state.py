"""Atomic JSON state files (SPEC §9): `data/simulator_state.json` and `data/executor_state.json`.

A save writes a temp file in the same directory, fsyncs it and `os.replace`s it over the old file, so a
crash at any moment leaves either the old or the new file, never a torn one. A file that cannot be
parsed is reported as an error naming the file: restoring from "nothing" would silently restart every
runner from scratch and lose its positions.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radar.errors import RadarError
from radar.live.clock import Clock, WallClock

STATE_FILE_VERSION = 1
SIMULATOR_FILE = "simulator_state.json"
EXECUTOR_FILE = "executor_state.json"


class StateFileError(RadarError):
    """A state file exists but cannot be used (corrupt, wrong version or wrong kind)."""


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Replace `path` with `obj` as strict JSON (no NaN), atomically and durably."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, allow_nan=False, separators=(",", ":"))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # The rename itself is only durable once the directory entry is flushed (POSIX); Windows has no dir fds.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_json(path: str | Path) -> Any | None:
    """The parsed content of `path`, None if the file does not exist; a corrupt file raises StateFileError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"{path}: cannot read state file ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise StateFileError(f"{path}: state file is empty (corrupt); move it aside to start fresh or restore a backup")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise StateFileError(f"{path}: state file is not UTF-8 text at byte {exc.start} (corrupt); "
                             "move it aside to start fresh or restore a backup") from exc
    except json.JSONDecodeError as exc:
        raise StateFileError(f"{path}: corrupt JSON at line {exc.lineno} column {exc.colno} ({exc.msg}); "
                             "move it aside to start fresh or restore a backup") from exc


@dataclass(frozen=True, slots=True)
class SavedState:
    kind: str  # "simulator" | "executor"
    version: int
    save_count: int
    saved_at_ms: int
    payload: dict[str, Any]


class StateFiles:
    """The two state files of a data directory, each wrapped in an envelope with a version and a save counter
    (the counter continues across restarts, so "saved N times" is visible and monotonic)."""

    def __init__(self, data_dir: str | Path, clock: Clock | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.clock = clock or WallClock()
        self._counts: dict[str, int] = {}

    @property
    def simulator_path(self) -> Path:
        return self.data_dir / SIMULATOR_FILE

    @property
    def executor_path(self) -> Path:
        return self.data_dir / EXECUTOR_FILE

    def _path(self, kind: str) -> Path:
        if kind == "simulator":
            return self.simulator_path
        if kind == "executor":
            return self.executor_path
        raise ValueError(f"unknown state kind {kind!r}; expected 'simulator' or 'executor'")

    def save(self, kind: str, payload: dict[str, Any]) -> SavedState:
        path = self._path(kind)
        if kind not in self._counts:
            previous = self._load_envelope(kind, path)
            self._counts[kind] = previous.save_count if previous else 0
        count = self._counts[kind] + 1
        saved = SavedState(kind, STATE_FILE_VERSION, count, self.clock.now_ms(), payload)
        write_json_atomic(path, {"kind": kind, "version": saved.version, "save_count": count,
                                 "saved_at_ms": saved.saved_at_ms, "payload": payload})
        self._counts[kind] = count  # only after the file is in place: a failed save is not counted
        return saved

    def load(self, kind: str) -> SavedState | None:
        saved = self._load_envelope(kind, self._path(kind))
        if saved is not None:
            self._counts[kind] = saved.save_count
        return saved

    def save_simulator(self, payload: dict[str, Any]) -> SavedState:
        return self.save("simulator", payload)

    def save_executor(self, payload: dict[str, Any]) -> SavedState:
        return self.save("executor", payload)

    def load_simulator(self) -> SavedState | None:
        return self.load("simulator")

    def load_executor(self) -> SavedState | None:
        return self.load("executor")

    @staticmethod
    def _load_envelope(kind: str, path: Path) -> SavedState | None:
        data = read_json(path)
        if data is None:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
            raise StateFileError(f"{path}: not a {kind} state file (expected an object with a 'payload' object)")
        if data.get("kind") != kind:
            raise StateFileError(f"{path}: holds {data.get('kind')!r} state, expected {kind!r}")
        if data.get("version") != STATE_FILE_VERSION:
            raise StateFileError(f"{path}: state file version {data.get('version')!r} is not supported "
                                 f"(this build reads version {STATE_FILE_VERSION})")
        try:
            return SavedState(kind, int(data["version"]), int(data["save_count"]), int(data["saved_at_ms"]), data["payload"])
        except (KeyError, TypeError, ValueError) as exc:
            raise StateFileError(f"{path}: state file envelope is incomplete ({exc!r})") from exc
