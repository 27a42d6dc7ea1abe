"""`TelegramNotifier`: the `radar.live.notifier.Notifier` that sends to Telegram, without ever blocking its
caller. `send` renders the alert and puts it on a bounded queue (a few microseconds, from any thread); one
asyncio task on the notifier's own loop thread delivers the queue in order with python-telegram-bot.

Delivery: network errors, timeouts and 5xx are retried with exponential backoff; a 429 waits the server's
`retry_after`; a 4xx other than 429 (bad request, forbidden, bad token) is not retried. A message is dropped
after `max_attempts`, when the queue is full (`queue_size`), or when a 429 asks for longer than
`max_retry_after_s`; `dropped` counts them (by reason in `drop_reasons`). `send` returning True means
"accepted for delivery": a `CooldownNotifier` in front starts its cooldown then, so a Telegram outage
cannot turn an alert storm into a queue of duplicates.

A timed-out request may still have reached Telegram, so a retry can deliver a message twice; for alerts
that is preferred over losing one.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
import warnings
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from radar.live.messages import Alert
from radar.telegram import redact
from radar.telegram.format import MAX_CAPTION, alert_html, fit
from radar.telegram.loop import LoopThread
from radar.telegram.settings import TelegramSettings, telegram_settings_from_env

PARSE_MODE = "HTML"
_LOG_EVERY_DROP = 100  # queue-full drops are logged 1st, 101st, ... so a storm does not flood the log


@dataclass(frozen=True, slots=True)
class Outgoing:
    kind: str
    text: str  # HTML; the caption of a photo
    photo: bytes | None = None


def retry_after_s(exc: Any) -> float:
    """`RetryAfter.retry_after` in seconds (PTB 22 returns int or timedelta and warns about the change)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramNotifier:
    def __init__(self, settings: TelegramSettings, loop: LoopThread | None = None,
                 logger: logging.Logger | None = None) -> None:
        """`loop`: share a loop thread (the commands and schedules run there too); None -> the notifier owns one."""
        self.settings = settings
        self.logger = logger or logging.getLogger("radar.telegram")
        self._token = settings.bot_token.get_secret_value()
        redact.install(self._token)
        self._own_loop = loop is None
        self.loop = loop or LoopThread("radar-telegram")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue: deque[Outgoing] = deque()
        self._waiting = False  # the sender sleeps on _wake (a producer must set it)
        self._in_flight = False
        self._closing = False
        self._closed = False
        self._wake: asyncio.Event | None = None
        self._ready = threading.Event()
        self.warmed = threading.Event()  # the start-up getMe is done (either way)
        self._task_future: Any = None
        self._bot: Any = None
        self._requests: tuple[Any, ...] = ()
        self.sent = 0
        self.retried = 0
        self.dropped = 0
        self.drop_reasons: dict[str, int] = {}
        self.sent_by_kind: dict[str, int] = {}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, loop: LoopThread | None = None,
                 **overrides: Any) -> TelegramNotifier | None:
        """A started notifier, or None when `TELEGRAM_BOT_TOKEN` is not set (Telegram disabled)."""
        settings = telegram_settings_from_env(env, **overrides)
        return None if settings is None else cls(settings, loop).start()

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> TelegramNotifier:
        """Start the sender; returns once its HTTP client is built (building one loads the TLS certificates,
        ~10 ms of CPU that would otherwise compete for the GIL with the first alerts' callers)."""
        if self._task_future is None:
            self.loop.start()
            self._task_future = self.loop.submit(self._run())
            self._ready.wait(10)
        return self

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far was delivered or dropped; False on timeout."""
        if self.loop.in_loop():
            raise RuntimeError("TelegramNotifier.flush would deadlock on the notifier's own loop thread")
        with self._idle:
            return self._idle.wait_for(lambda: not self._queue and not self._in_flight, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Deliver what is queued for up to `timeout` (default settings.close_timeout_s), then stop; what is
        still queued counts as dropped ("closed"). True when nothing was left behind."""
        timeout = self.settings.close_timeout_s if timeout is None else timeout
        if self._closed:
            return True
        with self._lock:
            self._closing = True
        self._wake_sender()
        clean = True
        if self._task_future is not None:
            try:
                self._task_future.result(timeout)
            except Exception:  # timeout (or the task died): cancel it and count what was left
                clean = False
                self._task_future.cancel()
                deadline = time.monotonic() + 2.0
                while not self._task_future.done() and time.monotonic() < deadline:
                    time.sleep(0.01)
        with self._lock:
            left = len(self._queue)  # an interrupted in-flight message was counted by the sender
            self._queue.clear()
            self._in_flight = False
            self._closed = True
            self._idle.notify_all()
        if left:
            clean = False
            self._drop("closed", left)
        if self._bot is not None and self.loop.running:
            try:
                self.loop.submit(self._shutdown_bot()).result(2.0)
            except Exception as exc:
                self.logger.warning("telegram: closing the HTTP client failed: %s", redact.redact(repr(exc)))
        if self._own_loop:
            self.loop.stop()
        return clean

    # -- the Notifier interface ---------------------------------------------------------------------------
    def send(self, alert: Alert) -> bool:
        """Queue the alert (HTML: title by kind, escaped text); True when accepted, False when dropped."""
        return self._enqueue(Outgoing(alert.kind, alert_html(alert)))

    def send_html(self, text: str, kind: str = "message") -> bool:
        """Queue a message already built by `radar.telegram.format` (trusted HTML)."""
        return self._enqueue(Outgoing(kind, fit(text)))

    def send_photo(self, png: bytes, caption_html: str = "", kind: str = "photo") -> bool:
        if not png:
            raise ValueError("telegram: send_photo needs the image bytes, got an empty payload")
        return self._enqueue(Outgoing(kind, fit(caption_html, MAX_CAPTION), bytes(png)))

    def stats(self) -> dict[str, Any]:
        with self._lock:
            queued = len(self._queue)
        return {"sent": self.sent, "retried": self.retried, "dropped": self.dropped,
                "drop_reasons": dict(self.drop_reasons), "sent_by_kind": dict(self.sent_by_kind), "queued": queued}

    # -- producer side (any thread) -----------------------------------------------------------------------
    def _enqueue(self, item: Outgoing) -> bool:
        with self._lock:
            if self._closing:
                reason = "closed"
            elif len(self._queue) >= self.settings.queue_size:
                reason = "queue_full"
            else:
                self._queue.append(item)
                wake, self._waiting = self._waiting, False
                reason = ""
        if reason:
            self._drop(reason, 1, item.kind)
            return False
        if wake:
            self._wake_sender()
        return True

    def _wake_sender(self) -> None:
        if self._wake is not None and self.loop.running:
            try:
                self.loop.call_soon(self._wake.set)
            except RuntimeError:  # the loop closed between the check and the call
                pass

    def _drop(self, reason: str, n: int = 1, kind: str = "") -> None:
        with self._lock:
            self.dropped += n
            count = self.drop_reasons.get(reason, 0) + n
            self.drop_reasons[reason] = count
        if reason != "queue_full" or count % _LOG_EVERY_DROP == 1:
            self.logger.warning("telegram: dropped %d message(s)%s: %s (%d dropped in all)", n,
                                f" of kind {kind}" if kind else "", reason, self.dropped)

    # -- sender side (the loop thread) ----------------------------------------------------------------------
    def _make_bot(self) -> Any:
        # No Bot.initialize(): a rejected token there raises an InvalidToken whose message holds the token
        # (_warm_up calls getMe itself). The HTTP clients exist from construction; _shutdown_bot closes them.
        from telegram import Bot
        from telegram.request import HTTPXRequest

        t = self.settings.request_timeout_s
        request = HTTPXRequest(connect_timeout=t, read_timeout=t, write_timeout=t, media_write_timeout=2 * t)
        updates = HTTPXRequest(connection_pool_size=1)  # unused (no polling here) but owned, so closed by us
        self._requests = (request, updates)
        return Bot(self._token, base_url=self.settings.base_url, base_file_url=self.settings.base_file_url,
                   request=request, get_updates_request=updates)

    async def _shutdown_bot(self) -> None:
        for request in self._requests:
            await request.shutdown()

    async def _next(self) -> Outgoing | None:
        """The next message, None once closing with nothing left."""
        assert self._wake is not None
        while True:
            with self._lock:
                if self._queue:
                    self._in_flight = True
                    return self._queue.popleft()
                if self._closing:
                    return None
                self._waiting = True
                self._wake.clear()
            await self._wake.wait()

    async def _run(self) -> None:
        self._wake = asyncio.Event()
        try:
            self._bot = self._make_bot()
        finally:
            self._ready.set()
        await self._warm_up()
        while True:
            item = await self._next()
            if item is None:
                return
            try:
                await self._deliver(item)
            except asyncio.CancelledError:  # close() timed out mid-delivery
                self._drop("closed", 1, item.kind)
                raise
            except Exception as exc:  # never let one message end the sender
                self._drop("error", 1, item.kind)
                self.logger.error("telegram: unexpected failure sending %s: %s", item.kind, redact.redact(repr(exc)))
            finally:
                with self._idle:
                    self._in_flight = False
                    self._idle.notify_all()

    async def _warm_up(self) -> None:
        """One getMe at start: checks the token early and pays the first request's one-off cost (lazy imports,
        ~30 ms of CPU) at boot rather than in the middle of the first alert storm."""
        from telegram.error import InvalidToken

        try:
            await self._bot.get_me()
        except InvalidToken:
            self.logger.error("telegram: the bot token was rejected by the Bot API; every message will be dropped")
        except Exception as exc:  # unreachable now: the queue's retries deal with it later
            self.logger.warning("telegram: Bot API not reachable at start (%s)", redact.redact(str(exc)) or type(exc).__name__)
        finally:
            self.warmed.set()

    async def _post(self, item: Outgoing) -> None:
        chat = self.settings.chat_id
        if item.photo is not None:
            await self._bot.send_photo(chat, photo=item.photo, caption=item.text or None, parse_mode=PARSE_MODE)
        else:
            await self._bot.send_message(chat, item.text, parse_mode=PARSE_MODE)

    def _backoff_s(self, attempt: int) -> float:
        s = self.settings
        return min(s.backoff_max_s, s.backoff_initial_s * 2 ** (attempt - 1))

    async def _deliver(self, item: Outgoing) -> None:
        from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

        s = self.settings
        for attempt in range(1, s.max_attempts + 1):
            try:
                await self._post(item)
            except RetryAfter as exc:
                wait = retry_after_s(exc)
                if wait > s.max_retry_after_s:
                    self._drop("retry_after_too_long", 1, item.kind)
                    return
                why = f"429, retry after {wait:g}s"
            except BadRequest as exc:  # 400: the same request fails the same way again
                self._drop("rejected", 1, item.kind)
                self.logger.error("telegram: %s rejected: %s", item.kind, redact.redact(str(exc)))
                return
            except NetworkError as exc:  # connection, timeout, 5xx
                wait, why = self._backoff_s(attempt), redact.redact(str(exc))
            except TelegramError as exc:  # forbidden, bad token, chat migrated, conflict: not transient
                self._drop("rejected", 1, item.kind)
                self.logger.error("telegram: %s rejected (%s): %s", item.kind, type(exc).__name__,
                                  redact.redact(str(exc)))
                return
            else:
                with self._lock:
                    self.sent += 1
                    self.sent_by_kind[item.kind] = self.sent_by_kind.get(item.kind, 0) + 1
                return
            if attempt == s.max_attempts:
                break
            self.retried += 1
            self.logger.info("telegram: %s attempt %d/%d failed (%s), next in %.2fs", item.kind, attempt,
                             s.max_attempts, why, wait)
            await asyncio.sleep(wait)
        self._drop("attempts", 1, item.kind)
