"""The Telegram messages: short HTML (parse mode HTML) built by pure functions from the system's own types and
the `SystemControl` dicts. Every piece of text that did not come from this module is escaped; lists are
capped so a message stays far below Telegram's 4,096 characters. No function takes a secret."""
from __future__ import annotations

import html
import io
import math
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from radar.events import EventKind, TradeEvent, TradeResult
from radar.live.kill_switch import KillSwitchEvent
from radar.live.messages import Alert

MAX_MESSAGE = 4096
MAX_CAPTION = 1024
MAX_ROWS = 10  # rows of a list (positions, ranking, grades) shown in one message

# Alert kind -> (icon, title). Kinds of radar.live.watchdog plus the runner kill switch.
ALERT_TITLES: dict[str, tuple[str, str]] = {
    "feed_disconnected": ("🔌", "Feed disconnected"),
    "data_stale": ("⏳", "Market data stale"),
    "runner_dead": ("💀", "Runner not responding"),
    "all_stopped": ("🛑", "All runners stopped"),
    "kill_switch": ("🛑", "Global kill switch"),
    "runner_kill_switch": ("⛔", "Runner kill switch"),
    "missing_sl": ("🚨", "Position without stop-loss"),
    "disk": ("💾", "Low disk space"),
}
_SEVERITY_ICON = {"info": "ℹ️", "warning": "⚠️", "critical": "🚨"}
_NA = "n/a"


def esc(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def price(value: Any) -> str:
    """Enough digits for any coin: 64,012.50 / 1.2345 / 0.00012345."""
    v = _num(value)
    if v is None:
        return _NA
    if abs(v) >= 1000:
        return f"{v:,.2f}"
    if abs(v) >= 1:
        return f"{v:,.4f}"
    if v == 0:
        return "0"
    return f"{v:.{3 - int(math.floor(math.log10(abs(v))))}f}"  # 4 significant digits


def money(value: Any) -> str:
    v = _num(value)
    return _NA if v is None else f"{v:+,.2f}"


def pct(value: Any, signed: bool = True) -> str:
    v = _num(value)
    if v is None:
        return _NA
    return f"{v:+.2f}%" if signed else f"{v:.2f}%"


def side_word(side: Any) -> str:
    return {1: "LONG", -1: "SHORT"}.get(side, _NA) if isinstance(side, int) else _NA


def utc(ms: Any) -> str:
    v = _num(ms)
    return _NA if v is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(v / 1000))


def duration(seconds: Any) -> str:
    v = _num(seconds)
    if v is None or v < 0:
        return _NA
    s = int(v)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}d {h}h {m}m"
    if h:
        return f"{h}h {m}m"
    return f"{m}m {s}s"


def _pnl_icon(value: Any) -> str:
    v = _num(value)
    return "⚪" if v is None or v == 0 else ("🟩" if v > 0 else "🟥")


def _more(total: int, shown: int) -> list[str]:
    return [f"<i>… and {total - shown} more</i>"] if total > shown else []


def fit(text: str, limit: int = MAX_MESSAGE) -> str:
    """A message Telegram accepts: if too long (should not happen, lists are capped), the tags are dropped
    and the plain text is cut, since cutting HTML could leave a tag open and the message rejected."""
    if len(text) <= limit:
        return text
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    tail = "\n… (truncated)"
    n = limit - len(tail)
    while len(esc(plain[:n])) > limit - len(tail):  # escaping lengthens; cut until it fits
        n -= len(esc(plain[:n])) - (limit - len(tail))
    return esc(plain[:n]) + tail


# -- alerts ------------------------------------------------------------------------------------------------
def alert_html(alert: Alert) -> str:
    """Any `Alert` (watchdog kinds get their title; other kinds show the kind itself)."""
    icon, title = ALERT_TITLES.get(alert.kind, (_SEVERITY_ICON.get(alert.severity, "⚠️"),
                                                  alert.kind.replace("_", " ").capitalize()))
    return fit(f"{icon} <b>{esc(title)}</b>\n{esc(alert.message)}\n<i>{utc(alert.timestamp)}</i>")


# -- lifecycle ---------------------------------------------------------------------------------------------
def startup_html(mode: str, runners: int, symbols: int, strategies: Sequence[str] = ()) -> str:
    names = ", ".join(esc(s) for s in list(strategies)[:MAX_ROWS]) + (" …" if len(strategies) > MAX_ROWS else "")
    line = f"\nStrategies: {names}" if strategies else ""
    return f"🚀 <b>Scalp Radar started</b> ({esc(mode)})\n{runners} runners on {symbols} symbols{line}"


def shutdown_html(reason: str, uptime_s: float | None = None, session_pnl: float | None = None) -> str:
    parts = [f"🏁 <b>Scalp Radar stopped</b>: {esc(reason)}"]
    if uptime_s is not None:
        parts.append(f"Uptime {duration(uptime_s)}")
    if session_pnl is not None:
        parts.append(f"Session PnL <b>{money(session_pnl)}</b>")
    return "\n".join(parts)


# -- trades -----------------------------------------------------------------------------------------------
def trade_opened_html(event: TradeEvent) -> str:
    level = f" (level {event.level + 1})" if event.level >= 0 else ""
    return (f"🟢 <b>Opened {side_word(event.side)}</b> {esc(event.symbol)}{level}\n"
            f"<code>{esc(event.strategy)}</code> @ {price(event.price)} × {event.quantity:g}")


def trade_closed_html(trade: TradeResult) -> str:
    icon = "✅" if trade.net > 0 else "❌"
    reason = f" ({esc(trade.reason)})" if trade.reason else ""
    return (f"{icon} <b>Closed {side_word(trade.side)}</b> {esc(trade.symbol)}{reason}\n"
            f"<code>{esc(trade.strategy)}</code> {price(trade.entry_price)} → {price(trade.exit_price)}\n"
            f"PnL <b>{money(trade.net)}</b> ({pct(trade.return_frac * 100)})")


def kill_switch_runner_html(event: TradeEvent) -> str:
    return (f"⛔ <b>Runner kill switch</b>: {esc(event.reason or 'kill_switch')}\n"
            f"<code>{esc(event.strategy)}</code> {esc(event.symbol)} stopped, no new entries "
            f"(runner {esc(event.runner_id)})")


def trade_event_html(event: TradeEvent) -> str:
    """Any runner event: open, close (with its trade when the event carries one), runner kill switch."""
    if event.kind is EventKind.OPEN:
        return trade_opened_html(event)
    if event.kind is EventKind.KILL_SWITCH:
        return kill_switch_runner_html(event)
    if event.trade is not None:
        return trade_closed_html(event.trade)
    return (f"☑️ <b>Closed {side_word(event.side)}</b> {esc(event.symbol)} ({esc(event.reason or 'exit')})\n"
            f"<code>{esc(event.strategy)}</code> @ {price(event.price)}")


def kill_switch_global_html(event: KillSwitchEvent) -> str:
    """A `GlobalKillSwitch` event: trip (drawdown), release (freeze over) or reset (by hand)."""
    if event.kind == "trip":
        return (f"🛑 <b>Global kill switch ON</b>\nDrawdown {pct(event.drawdown_pct, False)} from peak "
                f"{price(event.peak)} (equity {price(event.equity)})\nNew entries blocked until {utc(event.frozen_until)}")
    if event.kind == "release":
        return f"🟢 <b>Global kill switch released</b>\nEquity {price(event.equity)}, entries allowed again"
    return f"🟢 <b>Global kill switch reset</b>\nEquity {price(event.equity)}"


# -- WFO ----------------------------------------------------------------------------------------------------
def wfo_launched_html(job_id: str, strategy: str, symbol: str) -> str:
    return (f"🧪 <b>WFO launched</b>: <code>{esc(strategy)}</code> {esc(symbol)}\n"
            f"Job <code>{esc(job_id)}</code>, I will report back when it finishes.")


def wfo_finished_html(job: Mapping[str, Any]) -> str:
    """A finished (or failed/cancelled/lost) sweep, with the grade per symbol."""
    status = str(job.get("status", "unknown"))
    head = {"done": "✅ <b>WFO finished</b>", "failed": "❌ <b>WFO failed</b>",
            "cancelled": "⏹ <b>WFO cancelled</b>"}.get(status, f"❓ <b>WFO {esc(status)}</b>")
    lines = [f"{head}: <code>{esc(job.get('strategy', '?'))}</code> (job <code>{esc(job.get('job_id', '?'))}</code>)"]
    if job.get("error"):
        lines.append(f"Error: {esc(str(job['error'])[:300])}")
    results = list(((job.get("summary") or {}).get("results")) or [])
    for r in results[:MAX_ROWS]:
        score = _num(r.get("score"))
        sharpe = _num(r.get("oos_sharpe"))
        lines.append(f"{esc(r.get('symbol', '?'))}: grade <b>{esc(r.get('grade', '?'))}</b>"
                     + (f" ({score:.0f}/100)" if score is not None else "")
                     + (f", OOS Sharpe {sharpe:.2f}" if sharpe is not None else ""))
    lines += _more(len(results), MAX_ROWS)
    if status == "done" and not results:
        lines.append("No graded result.")
    return fit("\n".join(lines))


# -- status, heartbeat, reports -----------------------------------------------------------------------------
def _feed_line(feed: Mapping[str, Any] | None) -> str:
    if not feed:
        return f"Feed {_NA}"
    ok = feed.get("connected")
    age = _num(feed.get("last_message_age_s"))
    parts = ["Feed " + ("🟢 connected" if ok else "🔴 disconnected" if ok is False else _NA)]
    if age is not None:
        parts.append(f"last message {age:.0f}s ago")
    if feed.get("stale_streams"):
        parts.append(f"{int(feed['stale_streams'])} stale stream(s)")
    if feed.get("reconnects"):
        parts.append(f"{int(feed['reconnects'])} reconnects")
    return ", ".join(parts)


def _status_lines(status: Mapping[str, Any]) -> list[str]:
    active, total = status.get("runners_active"), status.get("runners_total")
    runners = f"{active}/{total}" if active is not None and total is not None else str(active if active is not None else _NA)
    lines = [f"Runners active: <b>{esc(runners)}</b>",
             f"Open positions: <b>{esc(status.get('open_positions', _NA))}</b>",
             f"Session PnL: <b>{money(status.get('session_pnl'))}</b>"]
    if _num(status.get("equity")) is not None:
        lines.append(f"Equity: {price(status['equity'])}")
    if status.get("kill_switch"):
        lines.append("🛑 Global kill switch <b>ON</b>")
    lines.append(_feed_line(status.get("feed")))
    return lines


def heartbeat_html(status: Mapping[str, Any], uptime_s: float) -> str:
    mode = f" ({esc(status['mode'])})" if status.get("mode") else ""
    return "\n".join([f"💓 <b>Heartbeat</b>{mode}, uptime {duration(uptime_s)}", *_status_lines(status)])


def status_html(status: Mapping[str, Any], uptime_s: float | None = None) -> str:
    mode = f" ({esc(status['mode'])})" if status.get("mode") else ""
    up = f", uptime {duration(uptime_s)}" if uptime_s is not None else ""
    return "\n".join([f"📟 <b>Status</b>{mode}{up}", *_status_lines(status)])


def positions_html(positions: Sequence[Mapping[str, Any]]) -> str:
    if not positions:
        return "📭 <b>No open position</b>"
    lines = [f"📂 <b>Open positions</b> ({len(positions)})"]
    for p in list(positions)[:MAX_ROWS]:
        sl = p.get("stop_loss")
        levels = f" ×{int(p['levels'])} lv" if p.get("levels") else ""
        lines.append(f"{side_word(p.get('side'))} {esc(p.get('symbol', '?'))} <code>{esc(p.get('strategy', '?'))}</code>"
                     f"{levels} @ {price(p.get('entry_price'))}, uPnL {money(p.get('unrealized_pnl'))}, "
                     f"SL {price(sl) if sl is not None else '<b>none</b>'}")
    lines += _more(len(positions), MAX_ROWS)
    return fit("\n".join(lines))


def _trade_line(label: str, t: Mapping[str, Any] | None) -> str:
    if not t:
        return f"{label}: {_NA}"
    return (f"{label}: <b>{money(t.get('net'))}</b> {side_word(t.get('side'))} {esc(t.get('symbol', '?'))} "
            f"<code>{esc(t.get('strategy', '?'))}</code> ({utc(t.get('exit_ts'))})")


def _by_strategy_lines(by_strategy: Mapping[str, Any]) -> list[str]:
    rows = sorted(by_strategy.items(), key=lambda kv: -(_num(kv[1]) or 0.0))
    lines = [f"{_pnl_icon(v)} <code>{esc(k)}</code> {money(v)}" for k, v in rows[:MAX_ROWS]]
    return lines + _more(len(rows), MAX_ROWS)


def pnl_html(report: Mapping[str, Any]) -> str:
    days = report.get("days", "?")
    trades, wins = report.get("trades"), report.get("wins")
    win = f", {wins}/{trades} won" if isinstance(trades, int) and isinstance(wins, int) and trades else ""
    lines = [f"💰 <b>PnL, last {esc(days)} day(s)</b>: <b>{money(report.get('net'))}</b>",
             f"{esc(trades if trades is not None else _NA)} trades{win}"]
    lines += _by_strategy_lines(report.get("by_strategy") or {})
    return fit("\n".join(lines))


def daily_summary_html(report: Mapping[str, Any], day_ms: int) -> str:
    """The end-of-day notice (`report`: `SystemControl.pnl(1)`)."""
    trades, wins = report.get("trades"), report.get("wins")
    win = f", {wins} won" if isinstance(wins, int) else ""
    lines = [f"📅 <b>Daily summary</b> {time.strftime('%Y-%m-%d', time.gmtime(day_ms / 1000))}",
             f"PnL <b>{money(report.get('net'))}</b> over {esc(trades if trades is not None else _NA)} trades{win}"]
    lines += _by_strategy_lines(report.get("by_strategy") or {})
    lines += [_trade_line("Best", report.get("best")), _trade_line("Worst", report.get("worst"))]
    return fit("\n".join(lines))


def weekly_report_html(report: Mapping[str, Any]) -> str:
    """The weekly report's caption (`report`: `SystemControl.pnl(7)`); the sparkline goes as the photo.
    Kept under Telegram's 1,024-character caption limit by the row caps."""
    days = report.get("days", 7)
    trades, wins = report.get("trades"), report.get("wins")
    win = f", {wins} won" if isinstance(wins, int) else ""
    lines = [f"📊 <b>Weekly report</b> ({esc(days)} days): <b>{money(report.get('net'))}</b>",
             f"{esc(trades if trades is not None else _NA)} trades{win}"]
    lines += _by_strategy_lines(report.get("by_strategy") or {})
    lines += [_trade_line("Best", report.get("best")), _trade_line("Worst", report.get("worst"))]
    return "\n".join(lines)


def ranking_html(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "🏟 <b>Arena</b>: no runner yet"
    lines = ["🏟 <b>Arena ranking</b>"]
    for i, r in enumerate(list(rows)[:MAX_ROWS]):
        wr = _num(r.get("win_rate"))
        lines.append(f"{esc(r.get('rank', i + 1))}. <code>{esc(r.get('strategy', '?'))}</code> {esc(r.get('symbol', '?'))} "
                     f"{pct(r.get('return_pct'))}, DD {pct(r.get('max_drawdown_pct'), False)}, "
                     f"{esc(r.get('trades', _NA))} trades" + (f", win {wr * 100:.0f}%" if wr is not None else ""))
    lines += _more(len(rows), MAX_ROWS)
    return fit("\n".join(lines))


# -- chart ----------------------------------------------------------------------------------------------------
def sparkline_png(equity: Sequence[float], width_px: int = 480, height_px: int = 140) -> bytes:
    """The equity curve as a small PNG (no axes: first/last/min/max are in the caption). Agg, no pyplot,
    so it is safe from any thread and touches no global figure state."""
    values = [float(v) for v in equity]
    if len(values) < 2:
        raise ValueError(f"sparkline: need at least 2 equity points, got {len(values)}")
    if not all(math.isfinite(v) for v in values):
        raise ValueError("sparkline: equity must be finite numbers (got NaN or inf)")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.04, 0.98, 0.92))
    colour = "#1a9850" if values[-1] >= values[0] else "#d73027"
    xs = range(len(values))
    ax.plot(xs, values, color=colour, linewidth=1.6)
    ax.fill_between(xs, values, min(values), color=colour, alpha=0.15)
    ax.axhline(values[0], color="#888888", linewidth=0.6, linestyle="--")
    ax.set_xlim(0, len(values) - 1)
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def help_html() -> str:
    return "\n".join([
        "🤖 <b>Scalp Radar commands</b>",
        "/status: runners, positions, session PnL, feed",
        "/positions: open positions",
        "/pnl [days]: realised PnL (default 1 day)",
        "/ranking: the Arena",
        "/kill: global kill switch ON (asks to confirm)",
        "/resume: global kill switch OFF",
        "/wfo &lt;strategy&gt; &lt;symbol&gt;: launch a walk-forward sweep",
        "/help: this list",
    ])
