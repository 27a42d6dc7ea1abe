"""`radar wfo apply`: write winning parameters into `per_asset` of strategies.yaml.

The file is edited with ruamel.yaml's round-trip mode so comments, order and formatting survive; a
timestamped backup is written first, and the edited file must still load (else the backup is put back).
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from radar.errors import ConfigError


def apply_results(path: Path, results: Iterable[Mapping[str, Any]], grades: set[str],
                  dry_run: bool = False) -> tuple[list[dict[str, Any]], Path | None]:
    """Apply every result whose grade is in `grades`; returns (applied items, backup path)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    from radar.config import load_config
    from radar.strategies.params import parse_params

    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    yaml = YAML()  # round-trip: keeps comments and key order
    doc = yaml.load(path.read_text())
    applied = []
    for r in results:
        if (r.get("grade") or "") not in grades:
            continue
        strategy, symbol = r["strategy"], r["symbol"]
        entry = doc.get(strategy) if hasattr(doc, "get") else None
        if entry is None:
            raise ConfigError(f"{path}: {strategy}: strategy not in the file")
        base = parse_params(strategy, dict(entry.get("params") or {})).model_dump()
        changed = {k: v for k, v in r["params"].items() if k in base and _differs(base[k], v)}
        if "per_asset" not in entry or entry["per_asset"] is None:
            entry["per_asset"] = CommentedMap()
        entry["per_asset"][symbol] = CommentedMap((k, list(v) if isinstance(v, tuple) else v) for k, v in changed.items())
        applied.append({"strategy": strategy, "symbol": symbol, "grade": r.get("grade"), "params": changed})
    if dry_run or not applied:
        return applied, None
    backup = path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copy2(path, backup)
    with path.open("w") as fh:
        yaml.dump(doc, fh)
    try:
        load_config(path.parent)
    except ConfigError:
        shutil.copy2(backup, path)
        raise
    return applied, backup


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) != list(b)
    return a != b
