"""Waiting on an asyncio condition in the exchange tests (emulator fills, executor callbacks)."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


async def until(check: Callable[[], Any], timeout: float = 5.0, poll_s: float = 0.01) -> Any:
    """`check()`'s first truthy value; AssertionError if none within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(poll_s)
