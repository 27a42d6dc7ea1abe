"""What the browser tests share: the running system's address, page error capture and screenshots."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@dataclass(frozen=True)
class RunningSystem:
    kind: str  # "demo" | "fake"
    url: str  # http://127.0.0.1:PORT (the dashboard is at /)
    api_key: str  # the server's RADAR_API_KEY, typed into the Settings page by the tests
    log: Path


class PageErrors:
    """Uncaught exceptions and console errors of one page; failed resource loads (an API answering 503
    for a part of the system that is not running) are kept apart, they are not bugs of the page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.failed_loads: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("console", self._console)

    def _console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        (self.failed_loads if msg.text.startswith("Failed to load resource") else self.errors).append(msg.text)


def shot(page: Any, name: str, full_page: bool = True) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
