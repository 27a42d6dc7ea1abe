"""RaySystemClient._shared: concurrent readers of one section share a single round of actor calls within
`share_s`; a failed round is not cached (no Ray runtime needed: only the coroutine plumbing runs)."""
from __future__ import annotations

import asyncio

import pytest

from api.ray_client import RaySystemClient


def test_concurrent_reads_share_one_call_and_a_failure_is_retried():
    client = RaySystemClient(share_s=0.2)
    calls = {"n": 0}

    async def read():
        calls["n"] += 1
        await asyncio.sleep(0.05)
        if calls["n"] == 2:
            raise RuntimeError("actor restarting")
        return {"BTC/USDT:USDT": 67_540.5}

    async def main():
        first = await asyncio.gather(*(client._shared("prices", read) for _ in range(10)))
        await asyncio.sleep(0.25)  # past share_s: the next read asks again, and fails
        with pytest.raises(RuntimeError, match="actor restarting"):
            await client._shared("prices", read)
        again = await client._shared("prices", read)  # the failure was not kept
        return first, again

    first, again = asyncio.run(main())

    assert first == [{"BTC/USDT:USDT": 67_540.5}] * 10 and again == {"BTC/USDT:USDT": 67_540.5}
    assert calls["n"] == 3
