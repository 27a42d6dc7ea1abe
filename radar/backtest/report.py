"""A self-contained HTML backtest report: metrics table, equity and drawdown charts, trade markers, trades.

No JavaScript, no CDN, no dependency: the charts are inline SVG written here, so the file opens offline
and can be attached to a message as is. The equity path has exactly one vertex per curve point (the
tests count them); thinning it would hide the intra-trade drawdowns the report exists to show.
"""
from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from radar.events import TradeResult

WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 1000, 320, 70, 15, 15, 30
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px} .sub{color:#667;font-size:13px}
table{border-collapse:collapse;font-size:13px;background:#fff} td,th{border:1px solid #dde;padding:3px 8px}
th{background:#eef1f6;text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
svg{background:#fff;border:1px solid #dde} .equity{fill:none;stroke:#2563eb;stroke-width:1.2}
.drawdown{fill:#fca5a5;stroke:#dc2626;stroke-width:0.8} .grid{stroke:#e5e7eb;stroke-width:1} text{font-size:11px;fill:#556}
.entry{fill:#16a34a} .exit-win{fill:#2563eb} .exit-loss{fill:#dc2626} .note{font-size:13px;color:#445}
"""


@dataclass(frozen=True, slots=True)
class ReportData:
    """What a report shows; both `radar backtest` and `radar portfolio` build one."""

    title: str
    subtitle: str
    metrics: Mapping[str, Any]  # name -> value, shown in this order
    equity_ts: np.ndarray  # int64 ms
    equity: np.ndarray
    initial_capital: float
    trades: Sequence[TradeResult] = ()
    notes: Sequence[str] = ()


def format_value(value: Any) -> str:
    """How a metric value is written in the report (tests format expected values with this contract:
    floats with 4 decimals, infinities as 'inf', None as '-')."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.4f}"
    return str(value)


def _fmt_ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def drawdown_pct(equity: np.ndarray) -> np.ndarray:
    """Fall from the running peak of the equity, in percent (0 at a new high)."""
    eq = np.asarray(equity, dtype=np.float64)
    if eq.size == 0:
        return eq
    peak = np.maximum.accumulate(eq)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, (peak - eq) / peak * 100.0, 0.0)
    return dd


class _Scale:
    def __init__(self, x0: float, x1: float, y0: float, y1: float) -> None:
        self.x0, self.x1 = x0, (x1 if x1 > x0 else x0 + 1.0)
        pad = (y1 - y0) * 0.05 if y1 > y0 else max(abs(y0) * 0.01, 1.0)
        self.y0, self.y1 = y0 - pad, y1 + pad

    def x(self, v: float) -> float:
        return PAD_L + (v - self.x0) / (self.x1 - self.x0) * (WIDTH - PAD_L - PAD_R)

    def y(self, v: float) -> float:
        return PAD_T + (self.y1 - v) / (self.y1 - self.y0) * (HEIGHT - PAD_T - PAD_B)


def _axes(s: _Scale, y_label: str) -> list[str]:
    out = []
    for k in range(5):
        v = s.y0 + (s.y1 - s.y0) * k / 4
        y = s.y(v)
        out.append(f'<line class="grid" x1="{PAD_L}" y1="{y:.1f}" x2="{WIDTH - PAD_R}" y2="{y:.1f}"/>')
        out.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{v:,.1f}</text>')
    for k in range(5):
        t = s.x0 + (s.x1 - s.x0) * k / 4
        out.append(f'<text x="{s.x(t):.1f}" y="{HEIGHT - 10}" text-anchor="middle">{_fmt_ts(int(t))[:10]}</text>')
    out.append(f'<text x="4" y="12">{html.escape(y_label)}</text>')
    return out


def _path(xs: Sequence[float], ys: Sequence[float]) -> str:
    return "M" + " L".join(f"{x:.2f},{y:.2f}" for x, y in zip(xs, ys))


def equity_svg(ts: np.ndarray, equity: np.ndarray, trades: Sequence[TradeResult] = ()) -> str:
    """Equity curve (one path vertex per point) with entry/exit markers placed on the curve."""
    ts = np.asarray(ts, dtype=np.int64)
    eq = np.asarray(equity, dtype=np.float64)
    if eq.size == 0:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="40"><text x="10" y="25">no data</text></svg>'
    s = _Scale(float(ts[0]), float(ts[-1]), float(np.min(eq)), float(np.max(eq)))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-equity" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}">', *_axes(s, "equity")]
    parts.append(f'<path class="equity" d="{_path([s.x(t) for t in ts.tolist()], [s.y(v) for v in eq.tolist()])}"/>')
    for t in trades:
        for when, cls, label in ((t.entry_ts, "entry", "entry"),
                                 (t.exit_ts, "exit-win" if t.net > 0 else "exit-loss", f"exit ({t.reason})")):
            i = min(int(np.searchsorted(ts, when, side="right")) - 1, len(ts) - 1)
            if i < 0:
                continue
            x, y = s.x(float(ts[i])), s.y(float(eq[i]))
            shape = (f'<polygon class="{cls} marker" points="{x:.1f},{y - 5:.1f} {x - 4:.1f},{y + 3:.1f} '
                     f'{x + 4:.1f},{y + 3:.1f}">' if cls == "entry" else
                     f'<circle class="{cls} marker" cx="{x:.1f}" cy="{y:.1f}" r="3">')
            tip = f"{label} {_fmt_ts(int(when))} {'long' if t.side > 0 else 'short'} net {t.net:,.2f}"
            parts.append(f'{shape}<title>{html.escape(tip)}</title></{"polygon" if cls == "entry" else "circle"}>')
    parts.append("</svg>")
    return "".join(parts)


def drawdown_svg(ts: np.ndarray, equity: np.ndarray) -> str:
    """Drawdown from the running peak (percent), drawn as a filled area below zero."""
    ts = np.asarray(ts, dtype=np.int64)
    dd = drawdown_pct(equity)
    if dd.size == 0:
        return ""
    s = _Scale(float(ts[0]), float(ts[-1]), -float(np.max(dd)), 0.0)
    xs = [s.x(t) for t in ts.tolist()]
    ys = [s.y(-v) for v in dd.tolist()]
    area = _path([xs[0], *xs, xs[-1]], [s.y(0.0), *ys, s.y(0.0)]) + " Z"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-drawdown" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}">' + "".join(_axes(s, "drawdown %")) +
            f'<path class="drawdown" d="{area}"/></svg>')


def _metrics_table(metrics: Mapping[str, Any]) -> str:
    rows = "".join(f'<tr><th>{html.escape(str(k))}</th><td class="num metric" data-name="{html.escape(str(k))}">'
                   f'{html.escape(format_value(v))}</td></tr>' for k, v in metrics.items())
    return f'<table class="metrics">{rows}</table>'


def _trades_table(trades: Sequence[TradeResult]) -> str:
    head = ("#", "runner", "side", "entry (UTC)", "exit (UTC)", "entry price", "exit price", "qty", "legs", "net",
            "fees", "funding", "return %", "reason")
    rows = []
    for k, t in enumerate(trades, 1):
        cells = (str(k), t.runner_id, "long" if t.side > 0 else "short", _fmt_ts(t.entry_ts), _fmt_ts(t.exit_ts),
                 f"{t.entry_price:,.6g}", f"{t.exit_price:,.6g}", f"{t.quantity:.6g}", str(t.positions),
                 f"{t.net:,.2f}", f"{t.fees:,.2f}", f"{t.funding:,.2f}", f"{t.return_frac * 100:.3f}",
                 t.reason + (" (not counted)" if t.end_of_data else ""))
        rows.append("<tr>" + "".join(f'<td class="num">{html.escape(c)}</td>' if i in (5, 6, 7, 9, 10, 11, 12)
                                     else f"<td>{html.escape(c)}</td>" for i, c in enumerate(cells)) + "</tr>")
    header = "".join(f"<th>{h}</th>" for h in head)
    return f'<table class="trades"><tr>{header}</tr>{"".join(rows)}</table>'


def render_report(data: ReportData) -> str:
    """The whole HTML document."""
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in data.notes)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(data.title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(data.title)}</h1><div class=\"sub\">{html.escape(data.subtitle)}</div>{notes}"
        f"<h2>Metrics</h2>{_metrics_table(data.metrics)}"
        f"<h2>Equity</h2>{equity_svg(data.equity_ts, data.equity, data.trades)}"
        f"<h2>Drawdown</h2>{drawdown_svg(data.equity_ts, data.equity)}"
        f"<h2>Trades ({len(data.trades)})</h2>{_trades_table(data.trades)}"
        "</body></html>\n"
    )


def write_report(path: str | Path, data: ReportData) -> Path:
    """Write the report; the parent directory must exist (a typo should fail, not create folders)."""
    from radar.errors import DataError

    p = Path(path)
    if not p.parent.is_dir():
        raise DataError(f"report {p}: directory {p.parent} does not exist")
    p.write_text(render_report(data), encoding="utf-8")
    return p


__all__ = ["ReportData", "drawdown_pct", "drawdown_svg", "equity_svg", "format_value", "render_report", "write_report"]
