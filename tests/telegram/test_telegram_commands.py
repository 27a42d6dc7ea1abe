"""TelegramCommands (real PTB Application, long-polling the fake Bot API): each command's reply, the refusal
of other chats, the /kill confirmation flow, /wfo launch and report-back, dropped stale updates."""
from __future__ import annotations

import logging

from radar.telegram import format as fmt
from radar.telegram.commands import REFUSAL_TEXT, TelegramCommands
from tests.telegram.bot_env import CHAT, STRANGER, make_settings
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.fake_control import FakeControl


def reply_to(api: FakeBotApi, text: str, chat: int = CHAT, n_before: int | None = None) -> str:
    """Send `text` from `chat` and return the bot's next message to that chat."""
    before = len(api.texts(chat)) if n_before is None else n_before
    api.command(text, chat)
    return api.wait_for(lambda: api.texts(chat)[before:] and api.texts(chat)[before], what=f"a reply to {text}")


def keyboard_of(api: FakeBotApi) -> dict[str, str]:
    """The last inline keyboard the bot sent: button text -> callback data."""
    call = [c for c in api.sent("sendMessage", CHAT) if "reply_markup" in c.params][-1]
    return {b["text"]: b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row}


def test_read_commands_reply_with_the_system_state(api, commands, control):
    # Act
    status = reply_to(api, "/status")
    positions = reply_to(api, "/positions")
    pnl_default = reply_to(api, "/pnl")
    pnl_week = reply_to(api, "/pnl 7")
    ranking = reply_to(api, "/ranking")

    # Assert
    assert status.startswith("📟 <b>Status</b> (paper), uptime ")
    assert status.endswith("Runners active: <b>5/6</b>\nOpen positions: <b>3</b>\nSession PnL: <b>+152.37</b>\n"
                           "Equity: 10,152.37\nFeed 🟢 connected, last message 4s ago, 2 reconnects")
    assert positions == fmt.positions_html(control.positions_value)
    assert "LONG BTC/USDT:USDT <code>grid_atr</code> ×2 lv @ 64,012.50, uPnL -12.40, SL 60,811.90" in positions
    assert "SL <b>none</b>" in positions
    assert pnl_default.startswith("💰 <b>PnL, last 1 day(s)</b>: <b>+38.50</b>\n6 trades, 4/6 won")
    assert pnl_week.startswith("💰 <b>PnL, last 7 day(s)</b>: <b>+269.50</b>\n42 trades, 28/42 won")
    assert "🟩 <code>grid_atr</code> +350.00" in pnl_week
    assert ranking.split("\n")[1] == ("1. <code>grid_atr</code> BTC/USDT:USDT +4.21%, DD 2.50%, 17 trades, win 76%")
    assert control.names() == ["status", "positions", "pnl", "pnl", "ranking"]
    assert [args for name, args in control.calls if name == "pnl"] == [(1,), (7,)]


def test_help_and_unknown_commands_list_the_commands(api, commands):
    help_text = reply_to(api, "/help")
    unknown = reply_to(api, "/moon")

    assert help_text == fmt.help_html()
    assert unknown == f"Unknown command /moon.\n\n{fmt.help_html()}"


def test_pnl_rejects_a_bad_day_count(api, commands, control):
    for bad in ("/pnl abc", "/pnl 0", "/pnl 400", "/pnl 1 2"):
        assert reply_to(api, bad) == "Usage: /pnl [days], days a whole number from 1 to 365"

    assert "pnl" not in control.names()


def test_a_stranger_is_refused_once_logged_every_time_and_nothing_is_read(api, commands, control, caplog):
    caplog.set_level(logging.WARNING, logger="radar.telegram")

    # Act: two commands from another chat, then one from ours
    api.command("/status", STRANGER)
    api.command("/kill", STRANGER)
    mine = reply_to(api, "/help")

    # Assert: one refusal reply (no flood of replies), both attempts logged, the system never asked
    assert api.texts(STRANGER) == [REFUSAL_TEXT]
    assert mine == fmt.help_html()
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refused == [f"telegram: refused '/status' from chat {STRANGER} (user {STRANGER})",
                       f"telegram: refused '/kill' from chat {STRANGER} (user {STRANGER})"]
    assert control.names() == [] and commands.refused == 2


def test_a_stranger_stays_refused_when_the_refusal_reply_fails(api, commands, control):
    # Arrange: the refusal reply gets a 500
    api.fail_next("sendMessage", 500)

    # Act
    api.command("/resume", STRANGER)
    mine = reply_to(api, "/help")

    # Assert: nothing ran for the stranger
    assert mine == fmt.help_html()
    assert control.names() == [] and control.resumed == 0 and commands.refused == 1
    assert [c.status for c in api.all_calls("sendMessage")] == [500, 200]


def test_kill_asks_first_and_only_the_confirm_button_turns_the_switch_on(api, commands, control):
    # Arrange
    question = reply_to(api, "/kill")
    buttons = keyboard_of(api)
    asked = api.sent("sendMessage", CHAT)[-1]

    # Act
    api.callback(buttons["🛑 Confirm kill"], CHAT, 101)
    edit = api.wait_for(lambda: api.sent("editMessageText"), what="the edited question")[-1]

    # Assert
    assert question.startswith("🛑 <b>Turn the global kill switch ON?</b>")
    assert set(buttons) == {"🛑 Confirm kill", "Cancel"} and asked.params["parse_mode"] == "HTML"
    assert control.killed == [f"telegram /kill by user {CHAT}"]
    assert edit.params["text"] == f"🛑 <b>Global kill switch ON</b> (by user {CHAT}). /resume to lift it."
    assert [c.params["text"] for c in api.sent("answerCallbackQuery")] == ["Kill switch ON"]


def test_cancel_leaves_the_switch_off_and_a_used_button_expires(api, commands, control):
    # Arrange
    reply_to(api, "/kill")
    buttons = keyboard_of(api)

    # Act: cancel, then press confirm on the same (now answered) question
    api.callback(buttons["Cancel"], CHAT, 101)
    api.wait_for(lambda: len(api.sent("editMessageText")) == 1, what="the cancel edit")
    api.callback(buttons["🛑 Confirm kill"], CHAT, 101)
    api.wait_for(lambda: len(api.sent("editMessageText")) == 2, what="the expiry edit")

    # Assert
    assert [c.params["text"] for c in api.sent("editMessageText")] == [
        "Kill cancelled, nothing changed.", "This confirmation expired; send /kill again."]
    assert control.killed == [] and "kill" not in control.names()


def test_a_strangers_button_press_is_refused(api, commands, control):
    reply_to(api, "/kill")
    buttons = keyboard_of(api)

    api.callback(buttons["🛑 Confirm kill"], STRANGER, 101)
    answer = api.wait_for(lambda: api.sent("answerCallbackQuery"), what="the refusal")[-1]

    assert answer.params["text"] == REFUSAL_TEXT
    assert control.killed == [] and api.sent("editMessageText") == []


def test_resume_turns_the_switch_off(api, commands, control):
    control.kill_switch = True

    text = reply_to(api, "/resume")

    assert text == "🟢 <b>Global kill switch OFF</b>, new entries allowed."
    assert control.resumed == 1 and control.kill_switch is False


def test_wfo_launches_and_reports_the_grades_when_the_job_finishes(api, commands, control):
    # Act
    launched = reply_to(api, "/wfo Grid_ATR btc/usdt:usdt")
    job_id = next(iter(control.jobs))
    api.wait_for(lambda: control.names().count("wfo_job") >= 2, what="the job being polled")
    control.finish(job_id, "A", 87.0, 1.92)
    report = api.wait_for(lambda: [t for t in api.texts(CHAT) if "WFO finished" in t], what="the WFO report")[0]

    # Assert
    assert control.calls[0] == ("launch_wfo", ("grid_atr", "BTC/USDT:USDT"))
    assert launched == fmt.wfo_launched_html(job_id, "grid_atr", "BTC/USDT:USDT")
    assert report == (f"✅ <b>WFO finished</b>: <code>grid_atr</code> (job <code>{job_id}</code>)\n"
                      "BTC/USDT:USDT: grade <b>A</b> (87/100), OOS Sharpe 1.92")


def test_wfo_validates_its_arguments_before_launching(api, commands, control):
    usage = reply_to(api, "/wfo grid_atr")
    unknown = reply_to(api, "/wfo moonshot BTC/USDT:USDT")
    bad_symbol = reply_to(api, "/wfo grid_atr BTC-USDT")

    assert usage.startswith("Usage: /wfo &lt;strategy&gt; &lt;symbol&gt;")
    assert unknown == "Unknown strategy <code>moonshot</code>. Known: <code>grid_atr</code>, <code>supertrend</code>"
    assert bad_symbol.startswith("Bad symbol BTC-USDT: expected BASE/QUOTE")
    assert "launch_wfo" not in control.names()


def test_a_failing_control_call_becomes_a_reply_not_a_crash(api, commands, control):
    def broken() -> None:
        raise RuntimeError("state store <unreachable>")

    control.ranking = broken  # type: ignore[method-assign]

    text = reply_to(api, "/ranking")
    after = reply_to(api, "/help")

    assert text == "⚠️ /ranking failed: state store &lt;unreachable&gt;"
    assert after == fmt.help_html()


def test_commands_sent_while_the_system_was_down_are_dropped(api, notifier):
    # Arrange: a /kill waiting at Telegram before the poller starts
    control = FakeControl()
    api.command("/kill", CHAT)
    c = TelegramCommands(make_settings(api), control, notifier, strategies=lambda: ["grid_atr"]).start()
    try:
        assert c.wait_ready(10)
        # Act: a fresh command after the start
        text = reply_to(api, "/help", n_before=0)
    finally:
        c.stop()

    # Assert: only the fresh one was answered
    assert text == fmt.help_html() and len(api.texts(CHAT)) == 1
    assert api.all_calls("deleteWebhook")[0].params["drop_pending_updates"] == "true"


def test_a_rejected_token_disables_the_commands_without_logging_the_token(api, caplog):
    # Arrange: the server knows another token, so getMe answers 401 and PTB's InvalidToken names ours
    caplog.set_level(logging.DEBUG)
    wrong = "7000000001:AAHwrongTOKENsecret"
    settings = make_settings(api, bot_token=wrong)

    # Act
    c = TelegramCommands(settings, FakeControl()).start()
    api.wait_for(lambda: any("token was rejected" in r.getMessage() for r in caplog.records), what="the rejection")
    c.stop()

    # Assert
    assert not c.ready.is_set()
    assert [x.status for x in api.all_calls("getMe")] == [401]
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records) + caplog.text
    assert wrong not in text and "AAHwrongTOKENsecret" not in text
