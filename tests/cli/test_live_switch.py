"""`radar up --live` refuses to start unless live trading is switched on twice (the flag and RADAR_LIVE_TRADING=1)
and the three Bitget keys are in the environment; the refusal names what is missing, never a value.
Both refusals happen before Ray or any exchange is touched."""
from __future__ import annotations

import pytest

from radar.cli.main import main

KEYS = {"BITGET_API_KEY": "k-live-71c0", "BITGET_SECRET": "s-live-2e9a4b", "BITGET_PASSPHRASE": "p-live-88d1"}


@pytest.fixture()
def clean_env(monkeypatch, tmp_path):
    for var in ("RADAR_LIVE_TRADING", *KEYS):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path))
    return monkeypatch


def test_live_without_the_environment_switch_is_refused(clean_env, capsys):
    for var, value in KEYS.items():
        clean_env.setenv(var, value)

    code = main(["up", "--live", "--exchange", "emulator"])

    err = capsys.readouterr().err
    assert code == 2
    assert "RADAR_LIVE_TRADING=1" in err and "--live" in err
    assert not any(v in err for v in KEYS.values())


def test_live_switched_on_without_keys_names_each_missing_variable(clean_env, capsys):
    clean_env.setenv("RADAR_LIVE_TRADING", "1")
    clean_env.setenv("BITGET_API_KEY", KEYS["BITGET_API_KEY"])

    code = main(["up", "--live"])

    err = capsys.readouterr().err
    assert code == 2
    assert "BITGET_SECRET" in err and "BITGET_PASSPHRASE" in err and "BITGET_API_KEY" not in err
    assert KEYS["BITGET_API_KEY"] not in err
