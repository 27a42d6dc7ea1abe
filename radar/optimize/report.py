"""WFO reports: one JSON document and one self-contained HTML page per sweep.

Per symbol: the grade with every component, the winner's parameters and robustness figures, the best
IS combo of each window with its OOS result, the OOS equity stitched across windows (each window's IS
winner traded on its OOS window, chained), and a heatmap of mean OOS Sharpe over two parameters (the
mean over every other parameter's values).
"""
from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from radar.backtest.report import _CSS, equity_svg, format_value
from radar.errors import DataError


def heatmap(result: Any, symbol_plan: Any, x: str, y: str) -> tuple[list[Any], list[Any], np.ndarray]:
    """Mean OOS Sharpe per (y value, x value) over all other parameters: (x values, y values, grid)."""
    combos = symbol_plan.grid.combos
    names = symbol_plan.grid.names
    for p in (x, y):
        if p not in names:
            raise DataError(f"heatmap: {p!r} is not a parameter of this grid (grid: {', '.join(names)})")
    xs = sorted({c[x] for c in combos}, key=_sort_key)
    ys = sorted({c[y] for c in combos}, key=_sort_key)
    total = np.zeros((len(ys), len(xs)))
    count = np.zeros((len(ys), len(xs)))
    sharpe = result.aggregate.oos_sharpe_mean
    for i, c in enumerate(combos):
        r, k = ys.index(c[y]), xs.index(c[x])
        total[r, k] += sharpe[i]
        count[r, k] += 1
    with np.errstate(invalid="ignore"):
        return xs, ys, np.where(count > 0, total / np.maximum(count, 1), np.nan)


def default_axes(symbol_plan: Any) -> tuple[str, str]:
    """The two grid parameters with the most values (ties: grid order)."""
    names = list(symbol_plan.grid.names)
    ranked = sorted(names, key=lambda n: -len({c[n] for c in symbol_plan.grid.combos}))
    if len(ranked) < 2:
        raise DataError("heatmap: the grid varies fewer than two parameters")
    return ranked[0], ranked[1]


def report_dict(result: Any, plan: Any, axes: tuple[str, str] | None = None) -> dict[str, Any]:
    by_symbol = {s.symbol: s for s in plan.symbols}
    out = {"job_id": result.job_id, "strategy": result.strategy, "timeframe": plan.timeframe,
           "combos": result.combos, "windows": result.windows, "wall_s": result.wall_s, "symbols": []}
    for r in result.results:
        sp = by_symbol[r.symbol]
        x, y = axes or default_axes(sp)
        xs, ys, grid = heatmap(r, sp, x, y)
        d = r.to_dict()
        d["heatmap"] = {"x": x, "y": y, "x_values": xs, "y_values": ys, "oos_sharpe_mean": grid.tolist()}
        out["symbols"].append(d)
    return _clean(out)


def write_json(path: str | Path, result: Any, plan: Any, axes: tuple[str, str] | None = None) -> Path:
    p = _checked(path)
    p.write_text(json.dumps(report_dict(result, plan, axes), indent=1))
    return p


def write_html(path: str | Path, result: Any, plan: Any, axes: tuple[str, str] | None = None) -> Path:
    p = _checked(path)
    p.write_text(render_html(report_dict(result, plan, axes)), encoding="utf-8")
    return p


def render_html(rep: dict[str, Any]) -> str:
    parts = ["<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<title>WFO {html.escape(rep['strategy'])}</title><style>{_CSS}{_HEAT_CSS}</style></head><body>",
             f"<h1>WFO {html.escape(rep['strategy'])} ({html.escape(rep['timeframe'])})</h1>",
             f"<div class=\"sub\">job {html.escape(rep['job_id'])}: {rep['combos']} combos x {rep['windows']} "
             f"windows, {format_value(rep['wall_s'])} s</div>"]
    for s in rep["symbols"]:
        g = s["grade"]
        parts.append(f"<h2>{html.escape(s['symbol'])}: grade {html.escape(str(g['letter']))} "
                     f"({format_value(g['score'])}/100)</h2>")
        parts.append(_table("Grade breakdown", {k: v for k, v in g.items() if not isinstance(v, (dict, list))}))
        parts.append(_table("Best parameters", s["best_params"]))
        parts.append(_table("Robustness", {k: v for k, v in s["robustness"].items() if not isinstance(v, dict)}))
        parts.append("<h3>Best IS combo per window</h3>" + _windows_table(s["windows"]))
        eq = s["stitched_equity"]
        if eq:
            ts = np.array([p[0] for p in eq], dtype=np.int64)
            parts.append("<h3>OOS equity, stitched across windows</h3>" + equity_svg(ts, np.array([p[1] for p in eq])))
        parts.append(f"<h3>Mean OOS Sharpe: {html.escape(s['heatmap']['y'])} x {html.escape(s['heatmap']['x'])}</h3>")
        parts.append(_heatmap_svg(s["heatmap"]))
    parts.append("</body></html>\n")
    return "".join(parts)


def _table(title: str, values: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(format_value(v))}</td></tr>"
                   for k, v in values.items())
    return f"<h3>{html.escape(title)}</h3><table class=\"metrics\">{rows}</table>"


def _windows_table(windows: list[dict[str, Any]]) -> str:
    cols = ("window", "best_is_params", "is_sharpe", "is_trades", "oos_sharpe", "oos_trades", "oos_return_pct")
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(w.get(c)))}</td>" for c in cols) + "</tr>"
                   for w in windows)
    return f"<table class=\"trades\"><tr>{head}</tr>{body}</table>"


def _cell(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}={format_value(x)}" for k, x in v.items())
    return format_value(v)


def _heatmap_svg(h: dict[str, Any]) -> str:
    xs, ys, grid = h["x_values"], h["y_values"], h["oos_sharpe_mean"]
    cell, left, top = 56, 90, 30
    vals = [v for row in grid for v in row if v is not None]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    span = (hi - lo) or 1.0
    w, hgt = left + cell * len(xs) + 10, top + cell * len(ys) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="{w}" height="{hgt}">']
    for r, yv in enumerate(ys):
        out.append(f'<text x="{left - 6}" y="{top + r * cell + cell / 2 + 4}" text-anchor="end">{html.escape(str(yv))}</text>')
        for k, xv in enumerate(xs):
            v = grid[r][k]
            t = 0.5 if v is None else (v - lo) / span
            color = f"rgb({int(220 - 160 * t)},{int(80 + 140 * t)},{int(90 + 20 * t)})"
            out.append(f'<rect class="cell" x="{left + k * cell}" y="{top + r * cell}" width="{cell - 2}" '
                       f'height="{cell - 2}" fill="{color}"><title>{html.escape(h["y"])}={yv}, {html.escape(h["x"])}={xv}: '
                       f'{format_value(v)}</title></rect>')
            out.append(f'<text x="{left + k * cell + cell / 2 - 1}" y="{top + r * cell + cell / 2 + 4}" '
                       f'text-anchor="middle">{format_value(v)}</text>')
    for k, xv in enumerate(xs):
        out.append(f'<text x="{left + k * cell + cell / 2}" y="{top + len(ys) * cell + 16}" '
                   f'text-anchor="middle">{html.escape(str(xv))}</text>')
    out.append(f'<text x="{left}" y="{top - 10}">{html.escape(h["y"])} (rows) x {html.escape(h["x"])} (columns)</text>')
    out.append("</svg>")
    return "".join(out)


_HEAT_CSS = ".heatmap text{font-size:11px;font-family:sans-serif}"


def _checked(path: str | Path) -> Path:
    p = Path(path)
    if not p.parent.is_dir():
        raise DataError(f"report {p}: directory {p.parent} does not exist")
    return p


def _sort_key(v: Any) -> Any:
    return (0, v) if isinstance(v, (int, float)) else (1, str(v))


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
