"""The /ws/live hub: one `update` payload per tick, built once and fanned out; events pushed at once.

Each client has a bounded queue and its own sender task. Broadcasting only does `put_nowait` on every
queue, so one slow or dead client never delays the others: a client whose queue is full (it fell
`queue_size` messages behind) or whose send does not finish within `send_timeout_s` is dropped (closed
with code 1013, "try again later"). A new client gets the latest update at once instead of waiting a tick.

The update is built from the system client's sections, each with a time limit; a section that fails or
times out is sent empty and named in `unavailable`, so one missing actor does not stop the feed.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from api.client import SystemClient
from api.models import LiveUpdate

log = logging.getLogger("radar.api.ws")

CLOSE_TRY_AGAIN = 1013
RESUBSCRIBE_S = 1.0


class LiveSocket(Protocol):
    """The part of starlette's WebSocket the hub uses (tests pass stand-ins)."""

    async def accept(self) -> None: ...

    async def send_text(self, data: str) -> None: ...

    async def receive(self) -> Any: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass(eq=False)
class _Subscriber:
    ws: LiveSocket
    queue: asyncio.Queue
    sent: int = 0
    drop_reason: str | None = None
    stop: Callable[[], Any] | None = field(default=None, repr=False)  # ends this client's serve()

    def drop(self, reason: str) -> None:
        if self.drop_reason is None:
            self.drop_reason = reason
            if self.stop is not None:
                self.stop()


class LiveHub:
    def __init__(self, client: SystemClient, interval_s: float = 3.0, queue_size: int = 8,
                 send_timeout_s: float = 5.0, section_timeout_s: float | None = None) -> None:
        self.client = client
        self.interval_s = interval_s
        self.queue_size = queue_size
        self.send_timeout_s = send_timeout_s
        # At least 2 s: a short update interval (tests, a fast dashboard) must not turn a busy machine's slower
        # actor round into an empty section.
        self.section_timeout_s = section_timeout_s or max(2.0, min(interval_s, 5.0))
        self.subscribers: set[_Subscriber] = set()
        self.latest: str | None = None
        self.ticks = 0
        self.events = 0
        self.dropped = 0
        self._tasks: list[asyncio.Task] = []
        self._wake = asyncio.Event()

    # -- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._tick_loop(), name="ws-live-tick"),
                           asyncio.create_task(self._event_loop(), name="ws-live-events")]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(BaseException):
                await t
        self._tasks = []
        for sub in list(self.subscribers):
            sub.drop("server shutting down")

    # -- the update ----------------------------------------------------------------------------------
    async def build_update(self) -> LiveUpdate:
        c = self.client
        sections = {"strategies": c.strategies(), "kill_switch": c.kill_switch(),
                    "simulator_positions": c.positions(), "grid_state": c.grid_state(),
                    "ranking": c.ranking("return"), "executor": c.executor_status(), "prices": c.prices()}
        results = await asyncio.gather(*(asyncio.wait_for(coro, self.section_timeout_s) for coro in sections.values()),
                                       return_exceptions=True)
        values: dict[str, Any] = {}
        unavailable = []
        empty = {"kill_switch": None, "executor": None, "prices": {}}
        for name, value in zip(sections, results):
            if isinstance(value, BaseException):
                unavailable.append(name)
                values[name] = empty.get(name, [])
            else:
                values[name] = value
        return LiveUpdate(timestamp=int(time.time() * 1000), unavailable=unavailable, **values)

    async def _tick_loop(self) -> None:
        while True:
            started = time.monotonic()
            self._wake.clear()
            if self.subscribers:
                try:
                    text = (await self.build_update()).model_dump_json()
                    self.latest = text
                    self.broadcast(text)
                    self.ticks += 1
                except Exception:  # one failed tick must not end the feed
                    log.exception("building the /ws/live update failed")
            else:
                self.latest = None  # nobody listening: the actors are not polled, and the last update goes stale
            # The first client of an idle hub wakes it: its first update comes now, not one interval later.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, self.interval_s - (time.monotonic() - started)))

    async def _event_loop(self) -> None:
        while True:
            try:
                async for event in self.client.events():
                    self.events += 1
                    self.broadcast(event.model_dump_json())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the system went away: try again shortly
                log.warning("event stream ended (%s); re-subscribing in %.0f s", exc, RESUBSCRIBE_S)
            await asyncio.sleep(RESUBSCRIBE_S)

    # -- fan-out -------------------------------------------------------------------------------------
    def broadcast(self, text: str) -> int:
        """Queue `text` for every client; returns how many got it. Never waits."""
        n = 0
        for sub in list(self.subscribers):
            if sub.drop_reason is not None:
                continue
            try:
                sub.queue.put_nowait(text)
                n += 1
            except asyncio.QueueFull:
                sub.drop(f"too slow: {self.queue_size} messages behind")
        return n

    async def serve(self, ws: LiveSocket) -> str | None:
        """Run one client until it disconnects or is dropped; returns the drop reason (None: it left)."""
        await ws.accept()
        sub = _Subscriber(ws, asyncio.Queue(self.queue_size))
        if self.latest is not None:
            sub.queue.put_nowait(self.latest)
        else:
            self._wake.set()
        self.subscribers.add(sub)
        try:
            # An anyio task group (not bare asyncio tasks): the server's own cancellation of this connection
            # (shutdown, the test client's teardown) then nests cleanly with ours.
            async with anyio.create_task_group() as tg:
                sub.stop = tg.cancel_scope.cancel

                async def until_done(part: Callable[[], Awaitable[None]]) -> None:
                    await part()
                    tg.cancel_scope.cancel()

                tg.start_soon(until_done, lambda: self._send_loop(sub))
                tg.start_soon(until_done, lambda: self._receive_loop(ws))
        finally:
            self.subscribers.discard(sub)
        if sub.drop_reason is not None:
            self.dropped += 1
            log.info("/ws/live client dropped: %s", sub.drop_reason)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=CLOSE_TRY_AGAIN, reason=sub.drop_reason[:120]), 1.0)
        return sub.drop_reason

    async def _send_loop(self, sub: _Subscriber) -> None:
        while True:
            text = await sub.queue.get()
            try:
                await asyncio.wait_for(sub.ws.send_text(text), self.send_timeout_s)
            except asyncio.TimeoutError:
                sub.drop(f"send took longer than {self.send_timeout_s:g} s")
                return
            except Exception as exc:  # the connection is gone
                sub.drop(f"send failed: {type(exc).__name__}")
                return
            sub.sent += 1

    @staticmethod
    async def _receive_loop(ws: LiveSocket) -> None:
        # Clients have nothing to say; reading is how a disconnect is noticed.
        while True:
            message = await ws.receive()
            if isinstance(message, dict) and message.get("type") == "websocket.disconnect":
                return
