"""Telegram: alerts (`TelegramNotifier`, behind `radar.live.notifier.Notifier`), heartbeat, daily and weekly
reports (`Reports`), and the control commands of the configured chat (`TelegramCommands` over a
`SystemControl`), composed by `TelegramService`. No Ray here: the host actor owns one `TelegramService` and
implements `SystemControl` over the other actors."""
