"""Control commands from the configured chat, on `telegram.ext.Application` (long-polling getUpdates):
/status, /positions, /pnl [days], /ranking, /kill (asks to confirm with inline buttons), /resume,
/wfo <strategy> <symbol> (launches a sweep, reports back when it finishes), /help.

Only `settings.chat_id` is served. Any other chat gets one short "not authorised" reply (at most once per
chat per `REFUSAL_REPLY_S`, so a stranger cannot make the bot spam or run into flood limits) and every
attempt is logged with the chat and user id; nothing of the system is revealed. In a group chat every
member of the configured group may command: configure a private chat for a single operator.

Updates that arrived while the system was down are dropped at start: an old /kill must not fire on boot.
The commands read and steer the system only through `SystemControl`, whose calls run in a worker thread.
"""
from __future__ import annotations

import asyncio
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from radar.telegram import format as fmt
from radar.telegram import redact
from radar.telegram.control import WFO_FINAL, SystemControl
from radar.telegram.loop import LoopThread
from radar.telegram.notifier import PARSE_MODE, TelegramNotifier
from radar.telegram.settings import TelegramSettings

COMMANDS: dict[str, str] = {
    "status": "Runners, positions, session PnL, feed",
    "positions": "Open positions",
    "pnl": "Realised PnL: /pnl [days]",
    "ranking": "The Arena ranking",
    "kill": "Global kill switch ON (asks to confirm)",
    "resume": "Global kill switch OFF",
    "wfo": "Launch a sweep: /wfo <strategy> <symbol>",
    "help": "The command list",
}
REFUSAL_TEXT = "⛔ Not authorised."
REFUSAL_REPLY_S = 600.0
MAX_PNL_DAYS = 365
_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}/[A-Z0-9]{2,10}(:[A-Z0-9]{2,10})?$")
_REMEMBERED_STRANGERS = 1000


class TelegramCommands:
    def __init__(self, settings: TelegramSettings, control: SystemControl, notifier: TelegramNotifier | None = None,
                 loop: LoopThread | None = None, uptime_s: Callable[[], float] | None = None,
                 strategies: Callable[[], list[str]] | None = None, logger: logging.Logger | None = None) -> None:
        """`notifier`: where a finished sweep is reported (its retries); the loop is shared with it unless
        `loop` is given. `uptime_s`: the system's uptime for /status (default: since this object exists).
        `strategies`: the names /wfo accepts (default: the `radar.strategies` registry)."""
        self.settings = settings
        self.control = control
        self.notifier = notifier
        self.logger = logger or logging.getLogger("radar.telegram")
        self._token = settings.bot_token.get_secret_value()
        redact.install(self._token)
        self._own_loop = loop is None and notifier is None
        self.loop = loop or (notifier.loop if notifier is not None else LoopThread("radar-telegram-commands"))
        created = time.monotonic()
        self._uptime = uptime_s or (lambda: time.monotonic() - created)
        self._strategies = strategies
        self._app: Any = None
        self._start_future: Any = None
        self._pending_kills: dict[str, float] = {}  # nonce -> monotonic time the question was asked
        self._strangers: OrderedDict[int, float] = OrderedDict()  # chat id -> last refusal reply
        self._watchers: set[asyncio.Task[Any]] = set()
        self.refused = 0
        self.handled: dict[str, int] = {}
        self.ready = threading.Event()  # polling is running

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> TelegramCommands:
        """Start polling in the background (retrying while Telegram is unreachable); returns at once."""
        if self._start_future is None:
            self.loop.start()
            self._start_future = self.loop.submit(self._start())
        return self

    def wait_ready(self, timeout: float) -> bool:
        return self.ready.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self._start_future is None:
            return
        if not self._start_future.done():
            self._start_future.cancel()
        if self.loop.running:
            try:
                self.loop.submit(self._stop()).result(timeout)
            except Exception as exc:
                self.logger.warning("telegram commands: stop failed: %s", redact.redact(repr(exc)))
        if self._own_loop:
            self.loop.stop()
        self._start_future = None
        self.ready.clear()

    def _build(self) -> Any:
        from telegram import Update
        from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, MessageHandler, TypeHandler, filters

        s = self.settings
        app = (ApplicationBuilder().token(self._token).base_url(s.base_url).base_file_url(s.base_file_url)
               .job_queue(None).build())
        app.add_handler(TypeHandler(Update, self._gate), group=-1)
        for name in COMMANDS:
            app.add_handler(CommandHandler(name, self._guarded(name)))
        app.add_handler(CallbackQueryHandler(self._guarded("kill_callback"), pattern=r"^kill:"))
        app.add_handler(MessageHandler(filters.COMMAND, self._guarded("unknown")))
        app.add_error_handler(self._on_error)
        return app

    async def _start(self) -> None:
        from telegram import BotCommand
        from telegram.error import InvalidToken

        delay = self.settings.backoff_initial_s
        while True:
            app = self._build()
            try:
                await app.initialize()
                break
            except InvalidToken:
                self.logger.error("telegram commands: the bot token was rejected; commands disabled")
                return
            except Exception as exc:  # Telegram unreachable at boot: keep trying, the system runs without it
                self.logger.warning("telegram commands: start failed (%s), retrying in %.1fs",
                                    redact.redact(str(exc)) or type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(self.settings.backoff_max_s, delay * 2)
        self._app = app
        try:
            await app.bot.set_my_commands([BotCommand(k, v) for k, v in COMMANDS.items()])
        except Exception as exc:  # the menu is a convenience
            self.logger.warning("telegram commands: setMyCommands failed: %s", redact.redact(str(exc)))
        await app.updater.start_polling(timeout=self.settings.poll_timeout_s, drop_pending_updates=True,
                                        allowed_updates=["message", "callback_query"],
                                        error_callback=self._on_poll_error)
        await app.start()
        self.ready.set()
        self.logger.info("telegram commands: polling for chat %s", self.settings.chat_id)

    async def _stop(self) -> None:
        for task in list(self._watchers):
            task.cancel()
        if self._watchers:
            await asyncio.gather(*self._watchers, return_exceptions=True)
        app, self._app = self._app, None
        if app is None:
            return
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    # -- gate and errors ---------------------------------------------------------------------------------------
    async def _gate(self, update: Any, context: Any) -> None:
        from telegram.ext import ApplicationHandlerStop

        chat = update.effective_chat
        if chat is not None and chat.id == self.settings.chat_id:
            return
        try:
            self._refuse_log(update)
            if update.callback_query is not None:
                await update.callback_query.answer(REFUSAL_TEXT)
            elif chat is not None and self._should_reply_to(chat.id) and update.effective_message is not None:
                await update.effective_message.reply_text(REFUSAL_TEXT)
        except Exception as exc:  # a failed refusal must still stop the update below
            self.logger.warning("telegram: refusal reply failed: %s", redact.redact(str(exc)) or type(exc).__name__)
        raise ApplicationHandlerStop

    def _refuse_log(self, update: Any) -> None:
        self.refused += 1
        chat, user = update.effective_chat, update.effective_user
        if update.callback_query is not None:
            what = f"button {update.callback_query.data}"
        else:
            what = update.effective_message.text if update.effective_message is not None else "update"
        self.logger.warning("telegram: refused %r from chat %s (user %s)", (what or "")[:64],
                            chat.id if chat else None, user.id if user else None)

    def _should_reply_to(self, chat_id: int) -> bool:
        now = time.monotonic()
        last = self._strangers.get(chat_id)
        if last is not None and now - last < REFUSAL_REPLY_S:
            return False
        self._strangers[chat_id] = now
        self._strangers.move_to_end(chat_id)
        while len(self._strangers) > _REMEMBERED_STRANGERS:
            self._strangers.popitem(last=False)
        return True

    def _on_poll_error(self, exc: Exception) -> None:
        self.logger.warning("telegram commands: polling error: %s", redact.redact(str(exc)) or type(exc).__name__)

    async def _on_error(self, update: Any, context: Any) -> None:
        self.logger.error("telegram commands: handler failed: %s", redact.redact(repr(context.error)))

    def _guarded(self, name: str) -> Callable[[Any, Any], Any]:
        """The handler `name`, with its control errors turned into a reply (and a log line), never a crash."""
        handler = getattr(self, f"_cmd_{name}")

        async def run(update: Any, context: Any) -> None:
            self.handled[name] = self.handled.get(name, 0) + 1
            try:
                await handler(update, context)
            except Exception as exc:
                self.logger.exception("telegram: /%s failed", name)
                if update.effective_message is not None:
                    await update.effective_message.reply_text(
                        f"⚠️ /{fmt.esc(name)} failed: {fmt.esc(redact.redact(str(exc))[:300])}", parse_mode=PARSE_MODE)

        return run

    async def _reply(self, update: Any, text: str, **kw: Any) -> Any:
        return await update.effective_message.reply_text(fmt.fit(text), parse_mode=PARSE_MODE, **kw)

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    # -- read commands -------------------------------------------------------------------------------------------
    async def _cmd_status(self, update: Any, context: Any) -> None:
        await self._reply(update, fmt.status_html(await self._call(self.control.status), self._uptime()))

    async def _cmd_positions(self, update: Any, context: Any) -> None:
        await self._reply(update, fmt.positions_html(await self._call(self.control.positions)))

    async def _cmd_pnl(self, update: Any, context: Any) -> None:
        args = context.args or []
        days = 1
        if args:
            if len(args) > 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_PNL_DAYS:
                await self._reply(update, f"Usage: /pnl [days], days a whole number from 1 to {MAX_PNL_DAYS}")
                return
            days = int(args[0])
        await self._reply(update, fmt.pnl_html(await self._call(self.control.pnl, days)))

    async def _cmd_ranking(self, update: Any, context: Any) -> None:
        await self._reply(update, fmt.ranking_html(await self._call(self.control.ranking)))

    async def _cmd_help(self, update: Any, context: Any) -> None:
        await self._reply(update, fmt.help_html())

    async def _cmd_unknown(self, update: Any, context: Any) -> None:
        text = (update.effective_message.text or "").split()[0] if update.effective_message else ""
        await self._reply(update, f"Unknown command {fmt.esc(text)}.\n\n{fmt.help_html()}")

    # -- steering ------------------------------------------------------------------------------------------------
    async def _cmd_kill(self, update: Any, context: Any) -> None:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        now = time.monotonic()
        self._pending_kills = {k: t for k, t in self._pending_kills.items() if now - t < self.settings.kill_confirm_s}
        nonce = secrets.token_hex(4)
        self._pending_kills[nonce] = now
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("🛑 Confirm kill", callback_data=f"kill:yes:{nonce}"),
                                          InlineKeyboardButton("Cancel", callback_data=f"kill:no:{nonce}")]])
        await self._reply(update, "🛑 <b>Turn the global kill switch ON?</b>\nNew entries will be blocked "
                                  "(exits still run) until /resume.", reply_markup=keyboard)

    async def _cmd_kill_callback(self, update: Any, context: Any) -> None:
        query = update.callback_query
        _, answer, nonce = (query.data.split(":") + ["", ""])[:3]
        asked = self._pending_kills.pop(nonce, None)
        if asked is None or time.monotonic() - asked >= self.settings.kill_confirm_s:
            await query.answer("Expired")
            await query.edit_message_text("This confirmation expired; send /kill again.")
            return
        if answer != "yes":
            await query.answer("Cancelled")
            await query.edit_message_text("Kill cancelled, nothing changed.")
            return
        user = update.effective_user
        who = f"@{user.username}" if user and user.username else f"user {user.id}" if user else "unknown user"
        await self._call(self.control.kill, f"telegram /kill by {who}")
        self.logger.warning("telegram: global kill switch ON by %s", who)
        await query.answer("Kill switch ON")
        await query.edit_message_text(f"🛑 <b>Global kill switch ON</b> (by {fmt.esc(who)}). /resume to lift it.",
                                      parse_mode=PARSE_MODE)

    async def _cmd_resume(self, update: Any, context: Any) -> None:
        await self._call(self.control.resume)
        self.logger.warning("telegram: global kill switch OFF by chat %s", self.settings.chat_id)
        await self._reply(update, "🟢 <b>Global kill switch OFF</b>, new entries allowed.")

    def _known_strategies(self) -> list[str]:
        if self._strategies is not None:
            return self._strategies()
        from radar.strategies.registry import strategy_names

        return strategy_names()

    async def _cmd_wfo(self, update: Any, context: Any) -> None:
        args = context.args or []
        if len(args) != 2:
            await self._reply(update, "Usage: /wfo &lt;strategy&gt; &lt;symbol&gt;, e.g. /wfo grid_atr BTC/USDT:USDT")
            return
        strategy, symbol = args[0].strip().lower(), args[1].strip().upper()
        known = self._known_strategies()
        if strategy not in known:
            await self._reply(update, f"Unknown strategy <code>{fmt.esc(strategy)}</code>. Known: "
                                      + ", ".join(f"<code>{fmt.esc(k)}</code>" for k in known))
            return
        if not _SYMBOL_RE.match(symbol):
            await self._reply(update, f"Bad symbol {fmt.esc(symbol)}: expected BASE/QUOTE or BASE/QUOTE:SETTLE, "
                                      "e.g. BTC/USDT:USDT")
            return
        job_id = str(await self._call(self.control.launch_wfo, strategy, symbol))
        self.logger.info("telegram: WFO %s %s launched as %s", strategy, symbol, job_id)
        await self._reply(update, fmt.wfo_launched_html(job_id, strategy, symbol))
        task = asyncio.get_running_loop().create_task(self._watch_wfo(job_id, strategy))
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _watch_wfo(self, job_id: str, strategy: str) -> None:
        """Poll the job until it is final (or the report timeout passes), then report it to the chat."""
        deadline = time.monotonic() + self.settings.wfo_report_timeout_s
        job: Any = None
        while time.monotonic() < deadline:
            await asyncio.sleep(self.settings.wfo_poll_s)
            try:
                job = await self._call(self.control.wfo_job, job_id)
            except Exception as exc:  # a control hiccup is not the end of the job
                self.logger.warning("telegram: WFO %s status failed: %s", job_id, redact.redact(str(exc)))
                continue
            if job is None:
                job = {"job_id": job_id, "strategy": strategy, "status": "lost", "error": "the job is no longer known"}
                break
            if job.get("status") in WFO_FINAL:
                break
        else:
            job = {**(job or {}), "job_id": job_id, "strategy": strategy, "status": "timed out",
                   "error": f"not finished after {fmt.duration(self.settings.wfo_report_timeout_s)}"}
        await self._notify(fmt.wfo_finished_html(job), "wfo_finished")

    async def _notify(self, text: str, kind: str) -> None:
        if self.notifier is not None:
            self.notifier.send_html(text, kind)
        elif self._app is not None:
            await self._app.bot.send_message(self.settings.chat_id, text, parse_mode=PARSE_MODE)
