"""Crash recovery of the live paper system (SPEC §9): `kill -9` of the whole `radar up` process tree (the
radar process and its own local Ray) at a random moment, `radar stop` / SIGTERM, and a runner actor killed
by Ray mid-position. After each restart the journal equals the runner on the same candles: nothing lost,
nothing doubled, and the state files always parse."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import ray
import yaml

from actors.live_system import LiveOptions, LiveSystem
from radar.data.store import CandleStore
from radar.exchange.emulator import BitgetEmulator, Clock, EmulatorThread, MarketData, load_csv_candles
from radar.live.journal import TradeJournal
from radar.live.state import read_json
from tests.conftest import REPO_ROOT, SHARED_DATA
from tests.ray.test_live_paper import SYM, _key, _reference_trades, one_symbol_config  # noqa: F401 (fixture)

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(240)]
H = 3_600_000
CSV_SLICE = (3000, 3800)
SPEED = 180_000.0  # 50 hourly candles per real second
MARK = "RADAR_RECOVERY_TEST_RUN"  # env marker: finds every process (radar + its Ray) of one launch


# ---------------------------------------------------------------- helpers
@pytest.fixture()
def csv_slice(tmp_path: Path) -> Path:
    src = (SHARED_DATA / "BTC-USD_1h_bitfinex.csv").read_text().splitlines()
    path = tmp_path / "btc.csv"
    path.write_text("\n".join([src[0], *src[1 + CSV_SLICE[0]:1 + CSV_SLICE[1]]]) + "\n")
    return path


@pytest.fixture()
def config_dir(tmp_path: Path, one_symbol_config) -> Path:  # the fixture wrote tmp_path/config
    return tmp_path / "config"


def _env(tmp_path: Path, config_dir: Path, mark: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    env.update(RADAR_DATA_DIR=str(tmp_path / "data"), DATABASE_URL=f"sqlite:///{tmp_path / 'radar.db'}",
               RADAR_CONFIG_DIR=str(config_dir), PYTHONPATH=str(REPO_ROOT), **{MARK: mark})
    return env


_LAUNCHED: list[tuple[subprocess.Popen, str]] = []


@pytest.fixture(autouse=True)
def _no_system_outlives_its_test():
    """A failed assertion must not leave a `radar up` (and its own Ray) running for the rest of the session."""
    yield
    while _LAUNCHED:
        proc, mark = _LAUNCHED.pop()
        if proc.poll() is None or _marked_pids(mark):
            _kill_tree(proc, mark)


def _launch(tmp_path: Path, config_dir: Path, csv: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    mark = uuid.uuid4().hex
    cmd = [str(Path(sys.executable).parent / "radar"), "--config", str(config_dir), "up", "--exchange", "emulator",
           "--data", str(csv), "--speed", str(SPEED), "--json", "--api-port", "0", *extra]
    proc = subprocess.Popen(cmd, env=_env(tmp_path, config_dir, mark), cwd=REPO_ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _LAUNCHED.append((proc, mark))
    return proc, mark


def _marked_pids(mark: str) -> list[int]:
    """Live (non-zombie) processes started by one launch: they all inherit its environment marker."""
    needle = f"{MARK}={mark}".encode()
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if needle in (d / "environ").read_bytes() and (d / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                pids.append(int(d.name))
        except OSError:
            continue
    return pids


def _kill_tree(proc: subprocess.Popen, mark: str) -> list[int]:
    """kill -9 the process group, then any process of this launch outside it (Ray may start its daemons in
    their own sessions); returns the pids that had to be killed individually."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # the group is gone already; stragglers are looked up by marker below
        pass
    proc.communicate(timeout=30)
    stragglers = [p for p in _marked_pids(mark) if p != os.getpid()]
    for pid in stragglers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while _marked_pids(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    return stragglers


def _db_candles(tmp_path: Path) -> list:
    try:
        return CandleStore(f"sqlite:///{tmp_path / 'radar.db'}").load_candles("bitget", SYM, "1h").candles(SYM, "1h")
    except Exception:  # the tables do not exist before the first flush
        return []


def _journal(db_url: str) -> list[dict]:
    return sorted(TradeJournal(CandleStore(db_url).engine).trades(limit=100_000), key=lambda t: t["exit_ts"])


def _runner_last_ts(data_dir: Path) -> int:
    doc = read_json(data_dir / "simulator_state.json")
    return int(_find_last_ts(doc))


def _find_last_ts(doc) -> int:
    """The host state's runner `last_ts` (the state file wraps the payload in an envelope)."""
    if isinstance(doc, dict):
        if "last_ts" in doc and "runner_id" in doc:
            return doc["last_ts"]
        for v in doc.values():
            found = _find_last_ts(v)
            if found is not None:
                return found
    return None  # type: ignore[return-value]


def _wait_until_trading(proc: subprocess.Popen, tmp_path: Path, timeout_s: float = 90.0) -> None:
    """Until a trade is journaled (state file written) and the feed has flushed candles to the DB."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"radar up exited early: {proc.communicate()[1][-3000:]}"
        if (tmp_path / "data" / "simulator_state.json").exists() and _db_candles(tmp_path):
            return
        time.sleep(0.2)
    raise AssertionError("radar up made no trade in time")


def _assert_journal_equals_reference(cfg, csv: Path, tmp_path: Path, launches: int = 2) -> int:
    db = f"sqlite:///{tmp_path / 'radar.db'}"
    journal = _journal(db)
    ids = [t["trade_id"] for t in journal]
    assert len(ids) == len(set(ids)), "a trade id appears twice in the journal"
    keys = [_key(t) for t in journal]
    assert len(keys) == len(set(keys)), "the same trade was journaled twice under different ids"
    stored = {c.timestamp: c for c in _db_candles(tmp_path)}
    first = min(stored)  # the first candle the fresh runner traded
    last = _runner_last_ts(tmp_path / "data")
    truth = {c.timestamp: c for c in load_csv_candles(csv).candles(SYM, "1h")}
    # The candles the runner saw: as stored by the feed, else (not flushed before a kill -9) the exchange's.
    candles = [stored.get(ts) or truth[ts] for ts in range(first, last + H, H)]
    differ = [ts for ts, c in stored.items() if (c.open, c.high, c.low, c.close) !=
              (truth[ts].open, truth[ts].high, truth[ts].low, truth[ts].close)]
    # A fresh subscription may close its first candle with the values seen so far (once per launch).
    assert len(differ) <= launches, f"candles stored with partial values: {differ}"
    expected = [t for t in _reference_trades(cfg, candles) if not t.end_of_data]
    assert len(expected) >= 5
    assert keys == [_key(t) for t in expected]
    return len(candles)


# ---------------------------------------------------------------- 1. kill -9 of the whole process tree
@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_of_radar_up_and_its_ray_then_restart_loses_and_doubles_no_trade(
        seed, tmp_path, one_symbol_config, config_dir, csv_slice):
    rng = random.Random(seed)
    # Arrange: a first run that has traded
    proc, mark = _launch(tmp_path, config_dir, csv_slice)
    _wait_until_trading(proc, tmp_path)
    time.sleep(rng.uniform(0.0, 2.0))  # the random moment
    # Act: kill -9 everything of that launch
    _kill_tree(proc, mark)
    # Assert: nothing of it survives; both state files parse
    assert _marked_pids(mark) == []
    sim = read_json(tmp_path / "data" / "simulator_state.json")
    read_json(tmp_path / "data" / "executor_state.json")  # may not exist yet; must not be corrupt
    assert sim is not None
    # Act: restart on the same data dir, the replay continuing a few candles after where it stopped
    stored = _db_candles(tmp_path)
    resume = max(_runner_last_ts(tmp_path / "data"), stored[-1].timestamp) + 6 * H
    proc, mark = _launch(tmp_path, config_dir, csv_slice, "--emulator-start", str(resume), "--duration", "6")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert _marked_pids(mark) == []
    # Assert: the restored runner went on, and the journal equals the runner on the same candles
    assert summary["runners"][0]["restored"] is True
    assert summary["feed"]["backfilled"] >= 5  # the candles that closed between the crash and the resume
    n = _assert_journal_equals_reference(one_symbol_config, csv_slice, tmp_path)
    assert n > (resume - stored[0].timestamp) // H


# ---------------------------------------------------------------- 4. radar stop / SIGTERM
def test_radar_stop_and_sigterm_save_state_flush_every_candle_and_restart_seamlessly(
        tmp_path, one_symbol_config, config_dir, csv_slice):
    # Arrange
    proc, mark = _launch(tmp_path, config_dir, csv_slice)
    _wait_until_trading(proc, tmp_path)
    # Act: radar stop
    stop = subprocess.run([str(Path(sys.executable).parent / "radar"), "stop"], env=_env(tmp_path, config_dir, "stop"),
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert stop.returncode == 0, stop.stderr
    out, err = proc.communicate(timeout=60)
    # Assert: clean exit, every candle the runner traded is in the DB, contiguous
    assert proc.returncode == 0, err[-3000:]
    _assert_state_and_candles(tmp_path)
    # Act: restart (resume a few candles later), stop it with SIGTERM
    resume = _runner_last_ts(tmp_path / "data") + 4 * H
    proc, mark = _launch(tmp_path, config_dir, csv_slice, "--emulator-start", str(resume))
    _wait_for_candles_after(proc, tmp_path, resume + 60 * H)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    # Assert
    assert proc.returncode == 0, err[-3000:]
    assert json.loads(out.strip().splitlines()[-1])["runners"][0]["restored"] is True
    _assert_state_and_candles(tmp_path)
    _assert_journal_equals_reference(one_symbol_config, csv_slice, tmp_path)
    assert _marked_pids(mark) == []


def _assert_state_and_candles(tmp_path: Path) -> None:
    last = _runner_last_ts(tmp_path / "data")
    assert read_json(tmp_path / "data" / "executor_state.json") is not None
    ts = [c.timestamp for c in _db_candles(tmp_path)]
    assert ts[-1] >= last, "candles the runner traded were not flushed to the DB"
    assert ts == list(range(ts[0], ts[-1] + H, H)), "the stored candles have a gap"
    assert not (tmp_path / "data" / "radar.stop").exists()


def _wait_for_candles_after(proc: subprocess.Popen, tmp_path: Path, ts: int, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"radar up exited early: {proc.communicate()[1][-3000:]}"
        stored = _db_candles(tmp_path)
        if stored and stored[-1].timestamp >= ts:
            return
        time.sleep(0.2)
    raise AssertionError("radar up did not get past the resume point in time")


# ---------------------------------------------------------------- 2. a runner actor killed by Ray
def test_runner_actor_killed_mid_position_is_restarted_restores_and_matches_the_reference(
        ray_session, one_symbol_config, tmp_path):
    # Arrange
    candles = load_csv_candles(SHARED_DATA / "BTC-USD_1h_bitfinex.csv").slice(*CSV_SLICE)
    clock = Clock.replay(int(candles.timestamp[0]) + H, SPEED, running=False)
    emulator = BitgetEmulator(MarketData().add("BTCUSDT", "1h", candles), clock)
    db = f"sqlite:///{tmp_path / 'radar.db'}"
    with EmulatorThread(emulator) as url:
        system = LiveSystem(one_symbol_config, LiveOptions(str(tmp_path / "data"), db, exchange_url=url,
                                                          speed=SPEED, flush_every_s=0.5)).boot()
        try:
            runner = system.runners["grid_atr"]
            clock.start()
            _wait_for_open_position(system)
            # Act
            ray.kill(runner, no_restart=False)
            restored = _wait_restarted(runner)
            seen = system.wait_for_candles(300, timeout_s=60)
            ray.get(system.feed.stop.remote())  # every emitted candle handed over, then read both ends
            st = ray.get(runner.status.remote())
            health = ray.get(system.feed.health.remote())
        finally:
            system.shutdown()
    # Assert
    assert restored and st["restored"] is True and seen >= 300
    stored = CandleStore(db).load_candles("bitget", SYM, "1h").candles(SYM, "1h")
    last = st["last_processed"][SYM]
    traded = [c for c in stored if c.timestamp <= last]
    assert [c.timestamp for c in traded] == list(range(traded[0].timestamp, last + H, H))
    journal = _journal(db)
    assert len({t["trade_id"] for t in journal}) == len(journal)
    expected = [t for t in _reference_trades(one_symbol_config, traded) if not t.end_of_data]
    assert len(expected) >= 5
    assert [_key(t) for t in journal] == [_key(t) for t in expected]
    assert health.last_candle_ms[f"{SYM}|1h"] == last


def _wait_for_open_position(system: LiveSystem, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        st = ray.get(system.runners["grid_atr"].status.remote())
        if st["events"] > 0 and ray.get(system.executor.status.remote())["open_positions"]:
            return
        time.sleep(0.02)
    raise AssertionError("no open position in time")


def _wait_restarted(runner, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:  # the dying instance (a fresh one: restored False) may still answer right after ray.kill
            if ray.get(runner.status.remote(), timeout=5)["restored"]:
                return True
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
            pass
        time.sleep(0.05)
    return False

