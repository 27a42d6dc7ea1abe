"""/ws/live: an `update` every tick with the SPEC §10 keys, events pushed at once, and the hub's fan-out
rules — a stalled or lagging client is dropped while the others keep receiving, the update is built once
per tick whatever the number of clients, a failing section is reported instead of stopping the feed."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from api.fake_client import FakeSystemClient
from api.ws import CLOSE_TRY_AGAIN, LiveHub

UPDATE_KEYS = {"type", "timestamp", "strategies", "kill_switch", "simulator_positions", "grid_state", "ranking",
               "executor", "prices", "unavailable"}


@pytest.mark.timeout(60)
def test_each_tick_sends_an_update_with_the_spec_payload(make_client, fake):
    api = make_client(fake, ws_update_interval_s=0.1)
    with api.websocket_connect("/ws/live") as ws:
        messages = [ws.receive_json() for _ in range(4)]

    assert [m["type"] for m in messages] == ["update"] * 4
    assert all(set(m) == UPDATE_KEYS for m in messages)
    stamps = [m["timestamp"] for m in messages]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    assert messages[0]["prices"]["BTC/USDT:USDT"] == pytest.approx(fake.marks["BTC/USDT:USDT"])
    assert [s["name"] for s in messages[0]["strategies"]] == ["grid_atr", "envelope_dca", "grid_trend"]


@pytest.mark.timeout(60)
def test_a_trade_is_pushed_at_once_not_at_the_next_tick(make_client, fake):
    api = make_client(fake, ws_update_interval_s=30.0)  # the next tick is 30 s away
    with api.websocket_connect("/ws/live") as ws:
        first = ws.receive_json()  # an idle hub builds the first update as soon as a client joins
        while fake.subscribers == 0:  # the hub's event subscription is running
            time.sleep(0.01)
        t0 = time.monotonic()
        trade = fake.publish_trade("grid_atr:BTC/USDT:USDT", ret=0.015)
        pushed = ws.receive_json()
        elapsed = time.monotonic() - t0
        fake.publish_alert("data_stale", "BTC/USDT:USDT 1h: no candle for 7 min", "warning")
        alert = ws.receive_json()

    assert first["type"] == "update"
    assert pushed["type"] == "trade" and elapsed < 5.0
    assert pushed["data"]["trade_id"] == trade.trade_id and pushed["data"]["net_pnl"] == pytest.approx(trade.net_pnl)
    assert pushed["data"]["exit_price"] == pytest.approx(trade.entry_price * 1.015)
    assert alert == {"type": "alert", "data": {"kind": "data_stale", "message": "BTC/USDT:USDT 1h: no candle for 7 min",
                                               "timestamp": fake.now_ms, "severity": "warning"}}


@pytest.mark.timeout(60)
def test_progress_events_of_a_launched_sweep_reach_the_socket(make_client, fake):
    api = make_client(fake, ws_update_interval_s=30.0)
    with api.websocket_connect("/ws/live") as ws:
        ws.receive_json()
        while fake.subscribers == 0:
            time.sleep(0.01)
        job = api.post("/api/wfo/jobs", json={"strategy": "grid_atr", "symbols": ["BTC/USDT:USDT"]},
                       headers={"X-API-Key": "k3y-for-tests-9d1f"}).json()
        queued = ws.receive_json()

    assert queued["type"] == "optimization_progress" and queued["data"]["job_id"] == job["job_id"]
    assert queued["data"]["status"] == "running" and queued["data"]["done"] == 0


# -- the hub with stand-in sockets -----------------------------------------------------------------------------
class Socket:
    """A client: `stall` never finishes a send; `delay_s` makes every send take that long."""

    def __init__(self, stall: bool = False, delay_s: float = 0.0) -> None:
        self.stall, self.delay_s = stall, delay_s
        self.received: list[str] = []
        self.closed: tuple[int, str | None] | None = None
        self._gone = asyncio.Event()

    async def accept(self) -> None:
        return None

    async def send_text(self, data: str) -> None:
        if self.stall:
            await asyncio.Event().wait()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.received.append(data)

    async def receive(self) -> dict:
        await self._gone.wait()
        return {"type": "websocket.disconnect", "code": 1000}

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = (code, reason)

    def leave(self) -> None:
        self._gone.set()


class CountingFake(FakeSystemClient):
    def __init__(self) -> None:
        super().__init__(seed=3)
        self.strategy_calls = 0

    async def strategies(self):  # type: ignore[override]
        self.strategy_calls += 1
        return await super().strategies()


def run_hub(hub: LiveHub, sockets: list[Socket], scenario) -> list:
    async def main() -> list:
        await hub.start()
        tasks = [asyncio.create_task(hub.serve(s)) for s in sockets]
        try:
            await scenario(tasks)
        finally:
            for s in sockets:
                s.leave()
            results = await asyncio.wait_for(asyncio.gather(*tasks), 5)
            await hub.stop()
        return results

    return asyncio.run(main())


@pytest.mark.timeout(60)
def test_a_stalled_client_is_dropped_and_the_fast_one_keeps_receiving():
    hub = LiveHub(FakeSystemClient(seed=3), interval_s=0.03, queue_size=50, send_timeout_s=0.2)
    fast, stalled = Socket(), Socket(stall=True)
    at_drop: dict[str, int] = {}

    async def scenario(tasks):
        await asyncio.wait_for(asyncio.shield(tasks[1]), 5)  # the stalled client's serve() ends: dropped
        at_drop["fast"] = len(fast.received)
        await asyncio.sleep(0.4)

    reasons = run_hub(hub, [fast, stalled], scenario)

    assert reasons == [None, "send took longer than 0.2 s"]
    assert stalled.closed == (CLOSE_TRY_AGAIN, "send took longer than 0.2 s") and stalled.received == []
    assert len(fast.received) >= at_drop["fast"] + 5  # about 13 more ticks in 0.4 s
    assert all(json.loads(m)["type"] == "update" for m in fast.received)
    assert hub.dropped == 1


@pytest.mark.timeout(60)
def test_a_client_that_falls_queue_size_messages_behind_is_dropped():
    hub = LiveHub(FakeSystemClient(seed=3), interval_s=0.01, queue_size=2, send_timeout_s=5.0)
    fast, lagging = Socket(), Socket(delay_s=0.25)

    async def scenario(tasks):
        await asyncio.wait_for(asyncio.shield(tasks[1]), 5)
        before = len(fast.received)
        await asyncio.sleep(0.2)
        assert len(fast.received) > before

    reasons = run_hub(hub, [fast, lagging], scenario)

    assert reasons == [None, "too slow: 2 messages behind"]
    assert len(lagging.received) <= 2 and len(fast.received) >= 10


@pytest.mark.timeout(60)
def test_the_update_is_built_once_per_tick_for_any_number_of_clients():
    client = CountingFake()
    hub = LiveHub(client, interval_s=0.05, queue_size=50)
    sockets = [Socket() for _ in range(20)]

    async def scenario(tasks):
        await asyncio.sleep(0.5)

    run_hub(hub, sockets, scenario)

    assert hub.ticks >= 5 and client.strategy_calls == hub.ticks
    first = sockets[0].received
    assert all(s.received[:hub.ticks - 1] == first[:hub.ticks - 1] for s in sockets)  # the same text to everyone


@pytest.mark.timeout(60)
def test_a_failing_section_is_named_and_the_rest_still_sent():
    class NoRanking(FakeSystemClient):
        async def ranking(self, by):  # type: ignore[override]
            raise RuntimeError("watchdog actor gone")

    async def main():
        return await LiveHub(NoRanking(seed=3)).build_update()

    update = asyncio.run(main())

    assert update.unavailable == ["ranking"] and update.ranking == []
    assert len(update.strategies) == 3 and update.executor is not None and update.prices


@pytest.mark.timeout(120)
def test_over_real_tcp_a_client_that_stops_reading_is_dropped_and_a_reader_keeps_receiving():
    import base64
    import os
    import socket

    import aiohttp

    from api.app import create_app
    from api.server import ServerThread
    from api.settings import ApiSettings

    app = create_app(FakeSystemClient(seed=3), ApiSettings(ws_update_interval_s=0.005, ws_send_timeout_s=0.5,
                                                           ws_queue_size=8))
    with ServerThread(app) as server:
        # A raw websocket handshake, then never a read: the server's socket buffers fill and its sends stall.
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        stuck.sendall(f"GET /ws/live HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        assert stuck.recv(1024).startswith(b"HTTP/1.1 101")

        async def reader() -> tuple[int, int]:
            received = after_drop = 0
            deadline = time.monotonic() + 60
            async with aiohttp.ClientSession() as session, session.ws_connect(f"{server.url}/ws/live") as ws:
                while time.monotonic() < deadline and after_drop < 50:
                    msg = await ws.receive(timeout=5)
                    assert json.loads(msg.data)["type"] == "update"
                    received += 1
                    after_drop += app.state.hub.dropped > 0
            return received, after_drop

        received, after_drop = asyncio.run(reader())
        stuck.close()

    assert app.state.hub.dropped == 1
    assert after_drop == 50 and received > after_drop
