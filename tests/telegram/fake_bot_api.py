"""A fake Telegram Bot API on 127.0.0.1 (aiohttp, own thread) for the real python-telegram-bot client.

It answers the methods PTB calls (getMe, sendMessage, sendPhoto multipart, getUpdates long-poll with scripted
updates, answerCallbackQuery, editMessageText, deleteWebhook, setMyCommands), records every call with its
parameters and arrival time, and can be told to answer the next calls of a method with a 429 (retry_after)
or a 5xx. A wrong token gets 401 like the real API.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7_000_000_001
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Radar", "username": "radar_test_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = 0.0  # time.monotonic() on arrival
    status: int = 200


def _decode(value: str) -> Any:
    # PTB form-encodes every parameter; objects (reply_markup, commands) arrive as JSON text
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeBotApi:
    def __init__(self, token: str, long_poll_cap_s: float = 0.25) -> None:
        self.token = token
        self.long_poll_cap_s = long_poll_cap_s
        self.delay_s = 0.0  # added to every answer but getUpdates (a slow Telegram)
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._failures: dict[str, list[tuple[int, int | None]]] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._next_message_id = 100
        self._loop = asyncio.new_event_loop()
        self._new_update: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> FakeBotApi:
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())  # type: ignore[union-attr]
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-bot-api", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Bot API did not start")
        return self

    async def _serve(self) -> None:
        self._new_update = asyncio.Condition()
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/_calls", self._dump)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        if self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """What TELEGRAM_API_URL would hold."""
        return f"http://127.0.0.1:{self.port}"

    # -- scripting (test thread) -----------------------------------------------------------------------
    def fail_next(self, method: str, status: int, count: int = 1, retry_after: int | None = None) -> None:
        """Answer the next `count` calls of `method` with HTTP `status` (429 carries `retry_after`)."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, retry_after)] * count)

    def push_update(self, update: dict[str, Any]) -> int:
        with self._lock:
            uid = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": uid, **update})
        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(self._notify()))
        return uid

    def command(self, text: str, chat_id: int, user_id: int | None = None) -> int:
        """A private-chat message `text` (a /command gets its bot_command entity)."""
        msg = self._message(chat_id, text, user_id or chat_id)
        cmd = text.split()[0] if text.startswith("/") else ""
        if cmd:
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(cmd)}]
        return self.push_update({"message": msg})

    def callback(self, data: str, chat_id: int, message_id: int, user_id: int | None = None) -> int:
        """A press on an inline button of the bot's message `message_id`."""
        msg = self._message(chat_id, "(keyboard)", BOT_ID, message_id)
        msg["from"] = BOT_USER
        return self.push_update({"callback_query": {"id": f"cb{time.monotonic_ns()}", "chat_instance": "ci",
                                                    "from": self._user(user_id or chat_id), "message": msg, "data": data}})

    # -- reading (test thread) -----------------------------------------------------------------------------
    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        with self._lock:
            out = [c for c in self.calls if c.method == method and c.status == 200]
        return [c for c in out if chat_id is None or str(c.params.get("chat_id")) == str(chat_id)]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.sent("sendMessage", chat_id)]

    def all_calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if method is None or c.method == method]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"fake Bot API: timed out after {timeout}s waiting for {what}; "
                                     f"calls: {[c.method for c in self.all_calls()]}")
            time.sleep(0.01)

    # -- server side ----------------------------------------------------------------------------------------
    async def _notify(self) -> None:
        assert self._new_update is not None
        async with self._new_update:
            self._new_update.notify_all()

    def _user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}

    def _message(self, chat_id: int, text: str, from_id: int, message_id: int | None = None) -> dict[str, Any]:
        with self._lock:
            if message_id is None:
                message_id = self._next_message_id
                self._next_message_id += 1
        return {"message_id": message_id, "date": int(time.time()), "text": text,
                "chat": {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"},
                "from": self._user(from_id)}

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                else:
                    params[key] = _decode(str(value))
        return params, files

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await self._params(request)
        call = Call(method, params, files, time.monotonic())
        if request.match_info["token"] != self.token:
            call.status = 401
            with self._lock:
                self.calls.append(call)
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        with self._lock:
            script = self._failures.get(method)
            failure = script.pop(0) if script else None
            if failure is not None:
                call.status = failure[0]
            self.calls.append(call)
        if failure is not None:
            status, retry_after = failure
            body: dict[str, Any] = {"ok": False, "error_code": status}
            if status == 429:
                body["description"] = f"Too Many Requests: retry after {retry_after}"
                body["parameters"] = {"retry_after": retry_after}
            else:
                body["description"] = "Internal Server Error" if status >= 500 else f"Error {status}"
            return web.json_response(body, status=status)
        if self.delay_s and method != "getUpdates":
            await asyncio.sleep(self.delay_s)
        result = await self._result(method, params, files)
        return web.json_response({"ok": True, "result": result})

    async def _dump(self, request: web.Request) -> web.Response:
        """The recorded calls as JSON (when the server runs in another process)."""
        return web.json_response([{"method": c.method, "status": c.status, "at": c.at, "text": c.params.get("text", ""),
                                   "chat_id": c.params.get("chat_id")} for c in self.all_calls()])

    async def _result(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("deleteWebhook", "setMyCommands", "answerCallbackQuery", "deleteMyCommands"):
            if method == "deleteWebhook" and str(params.get("drop_pending_updates", "")).lower() == "true":
                with self._lock:
                    self._updates.clear()
            return True
        if method == "getUpdates":
            return await self._get_updates(params)
        if method in ("sendMessage", "sendPhoto", "editMessageText"):
            chat_id = int(params.get("chat_id", 0))
            msg = self._message(chat_id, str(params.get("text", "")), BOT_ID,
                                int(params["message_id"]) if method == "editMessageText" else None)
            msg["from"] = BOT_USER
            if method == "sendPhoto":
                msg.pop("text")
                msg["photo"] = [{"file_id": "p1", "file_unique_id": "u1", "width": 480, "height": 140}]
                if params.get("caption"):
                    msg["caption"] = params["caption"]
            if isinstance(params.get("reply_markup"), dict):
                msg["reply_markup"] = params["reply_markup"]
            return msg
        return True

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        assert self._new_update is not None
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), self.long_poll_cap_s)
        deadline = self._loop.time() + wait

        def pending() -> list[dict[str, Any]]:
            with self._lock:
                if offset:  # like Telegram: an offset confirms (forgets) every earlier update
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                return list(self._updates)

        async with self._new_update:
            while True:
                out = pending()
                left = deadline - self._loop.time()
                if out or left <= 0:
                    return out
                try:
                    await asyncio.wait_for(self._new_update.wait(), left)
                except asyncio.TimeoutError:
                    return pending()


def main() -> None:
    """`python -m tests.telegram.fake_bot_api TOKEN [delay_s]`: serve until killed; prints the URL on stdout."""
    import sys

    api = FakeBotApi(sys.argv[1]).start()
    api.delay_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    print(api.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        api.stop()


if __name__ == "__main__":
    main()
