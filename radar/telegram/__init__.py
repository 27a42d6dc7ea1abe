"""Telegram: alerts (`TelegramNotifier`, behind `radar.live.notifier.Notifier`), heartbeat and weekly report,
and the control commands of the configured chat (`TelegramCommands` over a `SystemControl`). No Ray here:
the host actor owns one of each and a `SystemControl` over the other actors."""
