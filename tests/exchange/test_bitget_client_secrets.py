"""Keys never reach a log through ccxt: its debug output (request headers with ACCESS-KEY and
ACCESS-PASSPHRASE) goes through the redacting logger every keyed client gets."""
from __future__ import annotations

import logging

import pytest

from radar.exchange.bitget import make_bitget_client

KEY, SECRET, PASSPHRASE = "bg_key_5f3c2a9e", "bg_secret_0b7d41", "pass-phrase-77"


def test_a_keyed_client_redacts_its_keys_from_every_log_line(caplog: pytest.LogCaptureFixture) -> None:
    # Arrange
    client = make_bitget_client("http://127.0.0.1:9", api_key=KEY, secret=SECRET, password=PASSPHRASE)
    caplog.set_level(logging.DEBUG, logger="ccxt.base.exchange")
    # Act: what ccxt's verbose request logging writes
    client.logger.debug("\nfetch Request: %s %s %s", "bitget", "GET", {"ACCESS-KEY": KEY, "ACCESS-PASSPHRASE": PASSPHRASE,
                                                                     "note": f"secret={SECRET}"})
    # Assert
    text = caplog.text
    assert "fetch Request" in text and "***" in text
    assert KEY not in text and PASSPHRASE not in text and SECRET not in text


def test_a_public_client_keeps_ccxts_own_logger() -> None:
    client = make_bitget_client("http://127.0.0.1:9")
    assert type(client.logger).__name__ != "RedactingLogger"
