"""The dashboard in a real browser against the running system (see conftest.py: `radar demo` by default).

Shown here: the Scanner lists the replayed symbols with prices; a trade closed by the system appears live
on the Positions page; the WFO explorer launches a small sweep, its progress reaches 100 % and a heatmap
of the sweep's combos is drawn; the live connection comes back after a drop; every page renders without
an error. Screenshots of every page (and of the Scanner on a phone) are written to tests/e2e/artifacts/.
"""
from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest

from tests.e2e.support import ARTIFACTS, PageErrors, RunningSystem, shot

pytestmark = pytest.mark.slow

PAGES = ("scanner", "grid", "equity", "positions", "arena", "wfo", "portfolio", "journal", "logs", "settings")
SWEEP_STRATEGY = "bollinger_mr"  # the smallest grid (27 combos)
SWEEP_SYMBOL = "BTC/USDT:USDT"
# Windows of hours, not months: the demo's database holds only the candles replayed since it started
# (one 1h candle per second), so the sweep waits for two days of them: two IS+OOS windows.
SWEEP_WINDOWS = {"is-days": "1", "oos-days": "0.5", "step-days": "0.5", "embargo-days": "0"}
SWEEP_MIN_CANDLES = 48


def replayed_symbols(system: RunningSystem) -> set[str]:
    """What the system trades, from its own source: the fake's price table, or the enabled strategies of the
    configuration the demo's emulator replays."""
    if system.kind == "fake":
        from api.fake_client import PRICES

        return set(PRICES)
    from radar.config import load_config

    cfg = load_config()
    return {sym for entry in cfg.strategies.values() if entry.enabled for sym in entry.symbols}


def number(text: str) -> float:
    return float(text.replace(",", "").replace("+", "").replace("%", "").strip())


def wait_for_candles(system: RunningSystem, symbol: str, rows: int, timeout_s: float = 180.0) -> int:
    """Block until the system has stored `rows` candles of `symbol` (GET /api/data/status); returns the count."""
    deadline = time.monotonic() + timeout_s
    have = 0
    while time.monotonic() < deadline:
        series = httpx.get(f"{system.url}/api/data/status", timeout=10).json()["series"]
        have = max((s["rows"] for s in series if s["symbol"] == symbol and s["timeframe"] == "1h"), default=0)
        if have >= rows:
            return have
        time.sleep(1.0)
    pytest.fail(f"{symbol}: {have} stored 1h candles after {timeout_s:.0f} s, the sweep needs {rows}")


def goto(page: Any, route: str) -> None:
    page.goto(f"/#/{'' if route == 'scanner' else route}")
    page.get_by_test_id(f"page-{route}").wait_for()


def save_api_key(page: Any, key: str) -> None:
    goto(page, "settings")
    page.get_by_test_id("api-key-input").fill(key)
    page.get_by_test_id("api-key-save").click()
    page.get_by_test_id("api-key-state").filter(has_text=key[-4:]).wait_for()


def test_scanner_lists_every_replayed_symbol_with_a_live_price(desktop: tuple[Any, PageErrors],
                                                                system: RunningSystem) -> None:
    page, errors = desktop
    expected = replayed_symbols(system)

    goto(page, "scanner")
    page.get_by_test_id("connection-indicator").and_(page.locator("[data-state=open]")).wait_for(timeout=30_000)
    rows = page.get_by_test_id("scanner-row")
    rows.first.wait_for(timeout=30_000)
    # Every row with a price: a symbol's first price comes with its first replayed candle.
    page.wait_for_function("""n => {
        const cells = [...document.querySelectorAll('[data-testid=scanner-price]')];
        return cells.length >= n && cells.every(c => c.textContent.trim() !== '—');
    }""", arg=len(expected), timeout=60_000)
    shown = {rows.nth(i).get_attribute("data-symbol") for i in range(rows.count())}
    prices = {rows.nth(i).get_attribute("data-symbol"): number(rows.nth(i).get_by_test_id("scanner-price").inner_text())
              for i in range(rows.count())}
    shot(page, "scanner")

    assert shown == expected
    assert all(p > 0 for p in prices.values()), prices
    assert page.get_by_test_id("scanner-runner").count() >= len(expected)
    assert errors.errors == []


def test_scanner_on_a_phone_turns_the_sidebar_into_a_top_bar(browser: Any, system: RunningSystem) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, base_url=system.url)
    try:
        page = context.new_page()
        goto(page, "scanner")
        page.get_by_test_id("scanner-row").first.wait_for(timeout=30_000)
        nav = page.get_by_test_id("nav-wfo").bounding_box()
        first = page.get_by_test_id("nav-scanner").bounding_box()
        table = page.get_by_test_id("scanner-table").bounding_box()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        shot(page, "scanner-phone", full_page=False)
    finally:
        context.close()

    assert nav is not None and first is not None and table is not None
    assert abs(nav["y"] - first["y"]) < 2  # the links sit in one row ...
    assert first["y"] + first["height"] <= table["y"]  # ... above the content, not beside it
    assert overflow <= 0  # wide tables scroll inside their card, the page itself does not


def test_a_trade_closed_by_the_system_appears_live_on_the_positions_page(desktop: tuple[Any, PageErrors],
                                                                          system: RunningSystem) -> None:
    page, errors = desktop
    goto(page, "positions")
    page.get_by_test_id("connection-indicator").and_(page.locator("[data-state=open]")).wait_for(timeout=30_000)
    opened_at = time.monotonic()

    live_row = page.locator("[data-testid=trade-row][data-live=true]").first
    live_row.wait_for(timeout=120_000)
    waited = time.monotonic() - opened_at
    trade_id = live_row.get_attribute("data-trade-id")
    runner = live_row.locator("td").nth(1).inner_text()
    shot(page, "positions")

    assert trade_id and trade_id.startswith(f"{runner}")
    assert number(page.get_by_test_id("live-trade-count").locator(".stat-value").inner_text()) >= 1
    if system.kind == "demo":
        # The pushed trade is in the system's journal too: the page showed a trade the system made.
        journal = httpx.get(f"{system.url}/api/simulator/trades", params={"runner_id": runner, "limit": 1000}).json()
        assert trade_id in {t["trade_id"] for t in journal["items"]}
    assert errors.errors == []
    (ARTIFACTS / "trade-wait.txt").write_text(f"first live trade after {waited:.1f} s: {runner}\n")


def test_the_wfo_explorer_runs_a_small_sweep_to_100_percent_and_draws_its_heatmap(
        desktop: tuple[Any, PageErrors], system: RunningSystem) -> None:
    page, errors = desktop
    if system.kind == "demo":
        wait_for_candles(system, SWEEP_SYMBOL, SWEEP_MIN_CANDLES)
    save_api_key(page, system.api_key)
    goto(page, "wfo")
    page.get_by_test_id("wfo-strategy").locator(f"option[value={SWEEP_STRATEGY}]").wait_for(state="attached")

    page.get_by_test_id("wfo-strategy").select_option(SWEEP_STRATEGY)
    page.get_by_test_id("wfo-symbols").fill(SWEEP_SYMBOL)
    for field, value in SWEEP_WINDOWS.items():
        page.get_by_test_id(f"wfo-{field}").fill(value)
    page.get_by_test_id("wfo-launch").click()
    launched = page.get_by_test_id("wfo-launch-result")
    launched.wait_for(timeout=30_000)
    job_id = launched.inner_text().removeprefix("queued ").strip()
    job = page.get_by_test_id("wfo-job")
    job.filter(has_text=job_id).wait_for()

    seen = []
    deadline = time.monotonic() + 300
    progress = page.get_by_test_id("wfo-progress")
    while time.monotonic() < deadline:
        value = int(progress.get_attribute("aria-valuenow") or 0)
        if not seen or seen[-1] != value:
            seen.append(value)
        if value >= 100 or progress.get_attribute("data-status") in ("failed", "cancelled"):
            break
        time.sleep(0.2)
    # the status text follows the progress bar on the next poll of the job
    status_el = page.get_by_test_id("wfo-job-status")
    end = time.monotonic() + 30
    while status_el.inner_text() == "running" and time.monotonic() < end:
        time.sleep(0.2)
    status = status_el.inner_text()
    assert seen and seen[-1] == 100, f"progress seen {seen}, status {status}; log tail in {system.log}"
    assert seen == sorted(seen), f"progress went backwards: {seen}"
    assert status == "done"

    if system.kind == "fake":
        # The fake's job manager writes no results; the demo database's finished sweep has the combos.
        page.locator("[data-testid=wfo-job-row][data-job-id=wfo-grid_atr-demo]").click()
        job_id = "wfo-grid_atr-demo"
    heatmap = page.get_by_test_id("wfo-heatmap")
    heatmap.wait_for(timeout=60_000)
    cells = page.get_by_test_id("heatmap-cell")
    combos = httpx.get(f"{system.url}/api/wfo/jobs/{job_id}/combos", params={"limit": 10_000}).json()
    shot(page, "wfo")

    xs = {json.dumps(c["params"][combos["param_names"][0]]) for c in combos["items"]}
    assert cells.count() == int(heatmap.get_attribute("data-cells") or 0) >= len(xs) >= 2
    assert page.get_by_test_id("wfo-results").locator("tbody tr").count() >= 1
    assert page.get_by_test_id("wfo-grade").first.inner_text() in {"A", "B", "C", "D", "F"}
    assert errors.errors == []
    (ARTIFACTS / "wfo-progress.txt").write_text(f"{job_id}: aria-valuenow seen {seen}\n")


def test_the_live_connection_comes_back_after_a_drop(browser: Any, system: RunningSystem) -> None:
    context = browser.new_context(base_url=system.url)
    page = context.new_page()
    sockets: list[Any] = []

    def route(ws: Any) -> None:
        sockets.append(ws)
        if len(sockets) == 2:
            ws.close(code=1013, reason="test: still down")  # the first retry fails too: the back-off grows
        else:
            ws.connect_to_server()

    try:
        page.route_web_socket(re.compile(r".*/ws/live$"), route)
        goto(page, "scanner")
        indicator = page.get_by_test_id("connection-indicator")
        indicator.and_(page.locator("[data-state=open]")).wait_for(timeout=30_000)
        page.evaluate("""() => {
            const el = document.querySelector('[data-testid=connection-indicator]');
            window.__states = [el.dataset.state];
            new MutationObserver(() => window.__states.push(el.dataset.state))
                .observe(el, {attributes: true, attributeFilter: ['data-state']});
        }""")

        sockets[0].close(code=1012, reason="test: server restart")
        page.wait_for_function("() => window.__states.at(-1) === 'open' && window.__states.length > 1",
                               timeout=30_000)
        states = page.evaluate("window.__states")
        label_seen = indicator.inner_text()
    finally:
        context.close()

    assert len(sockets) == 3  # the dropped one, the refused retry, the one that stayed
    assert states[0] == "open" and states[-1] == "open"
    assert "reconnecting" in states
    assert label_seen == "live"


def test_every_page_renders_without_errors(desktop: tuple[Any, PageErrors], system: RunningSystem) -> None:
    page, errors = desktop
    rendered = {}
    for route in PAGES:
        goto(page, route)
        page.get_by_test_id("status-strip").wait_for(timeout=30_000)
        page.wait_for_load_state("networkidle")
        if route == "grid":
            page.get_by_test_id("grid-chart").locator("canvas").first.wait_for(timeout=30_000)
        rendered[route] = page.get_by_test_id(f"page-{route}").inner_text()
        shot(page, route if route not in ("wfo", "positions", "scanner") else f"{route}-revisited")

    assert all(text.strip() for text in rendered.values())
    assert "Candles are built from the live prices" in rendered["grid"]
    assert errors.errors == [], errors.errors
    (ARTIFACTS / "failed-loads.txt").write_text("\n".join(errors.failed_loads) + "\n")
