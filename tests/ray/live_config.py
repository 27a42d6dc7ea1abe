"""One place for the live tests' configuration: the shipped config/ copied into the test's directory with
only the named strategy enabled on the given symbols (and optional parameter / risk.yaml overrides)."""
from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO_ROOT

GRID_ATR_FAST = {"leverage": 2, "ma_period": 10, "atr_multiplier_start": 1.5}  # trades often on 2017 BTC hours


def write_config(tmp_path: Path, symbols: Sequence[str], *, strategy: str = "grid_atr",
                 params: Mapping[str, Any] | None = None, risk: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
    """The config directory; `risk`: sections of risk.yaml to update, e.g. {"kill_switch": {...}}."""
    cfg = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", cfg)
    doc = yaml.safe_load((cfg / "strategies.yaml").read_text())
    for name, entry in doc.items():
        entry["enabled"] = name == strategy
    doc[strategy]["symbols"] = list(symbols)
    doc[strategy]["params"].update(params or {})
    (cfg / "strategies.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    if risk:
        doc = yaml.safe_load((cfg / "risk.yaml").read_text())
        for section, values in risk.items():
            doc[section].update(values)
        (cfg / "risk.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return cfg
