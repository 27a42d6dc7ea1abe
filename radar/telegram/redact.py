"""Keep the bot token out of every log line. The Bot API puts the token into each request URL, so httpx
logs it at INFO ("HTTP Request: POST .../bot<token>/sendMessage"), PTB at DEBUG ("Set Bot API URL") and in
the InvalidToken message. A filter on those libraries' loggers rewrites any record that carries a secret."""
from __future__ import annotations

import logging
import threading

# Loggers whose records may carry a request URL or a PTB error text (children included, see `install`).
_LIBRARY_PREFIXES = ("httpx", "httpcore", "telegram", "radar.telegram", "radar.alerts")
MASK = "<redacted>"


class RedactSecrets(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        if secret:
            with self._lock:
                self._secrets = self._secrets | {secret}

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's problem, not a reason to drop it
            return True
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


_FILTER = RedactSecrets()


def redact(text: str) -> str:
    """`text` with every registered secret masked (for our own messages about errors)."""
    return _FILTER.redact(text)


def install(secret: str) -> None:
    """Register `secret` and attach the filter to httpx/httpcore/telegram loggers and their children.

    A logger's filter only sees records logged on that very logger (not those of its children that
    propagate through it), so every existing child gets the filter too; the libraries create their loggers
    at import time, which `import telegram.ext` has done by the time this runs."""
    import httpx  # noqa: F401  (make sure its loggers exist)
    import telegram.ext  # noqa: F401

    _FILTER.add(secret)
    manager = logging.Logger.manager
    names = [n for n in list(manager.loggerDict) if n.startswith(_LIBRARY_PREFIXES)]
    for name in {*names, *_LIBRARY_PREFIXES}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
