"""
Redis outages under traffic, against real server processes and a Redis of
the test's own (started on a free port, killed, stopped and restarted here;
the shared one is never touched): nothing acknowledged is lost, REST reads
keep answering, new sockets are refused with 4503 and come back by
themselves, a hung Redis costs seconds rather than a stall, and the log
holds a line per outage rather than a traceback per message.
"""

import asyncio
import json
import os
import shutil
import signal
import time
import urllib.request

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chat.models import ConversationMessage
from tests.plugins.users import access_token

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.live,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


def rest(server, path, token, *, data=None, timeout=10):
    request = urllib.request.Request(f"{server.http}{path}", headers={"Authorization": f"Bearer {token}"})
    if data is not None:
        request.data = json.dumps(data).encode()
        request.add_header("Content-Type", "application/json")
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read()), time.monotonic() - started


async def close_code_of(url: str) -> int:
    async with connect(url) as ws:
        try:
            while True:
                await asyncio.wait_for(ws.recv(), timeout=10)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006


class Sender:
    """Alice's client: sends with client_ids, resends what was refused, records acknowledgements."""

    def __init__(self, ws):
        self.ws = ws
        self.acked: set[str] = set()
        self.sent = 0

    async def run(self, stop: asyncio.Event):
        reader = asyncio.ensure_future(self._read())
        while not stop.is_set():
            self.sent += 1
            await self.ws.send(json.dumps({"type": "message.send", "body": f"m{self.sent}", "client_id": f"c{self.sent}"}))
            await asyncio.sleep(0.02)
        await asyncio.sleep(1)
        reader.cancel()

    async def _read(self):
        while True:
            frame = json.loads(await self.ws.recv())
            if frame["type"] == "chat.message" and frame.get("client_id"):
                self.acked.add(frame["client_id"])
            elif frame["type"] == "error" and frame.get("client_id"):
                body = f"m{frame['client_id'][1:]}"
                await self.ws.send(json.dumps({"type": "message.send", "body": body, "client_id": frame["client_id"]}))


async def test_a_redis_killed_under_traffic_loses_nothing_acknowledged(
    start_server, own_redis, alice, bob, direct
):
    processes = 2 if os.environ.get("DATABASE_URL", "").startswith("postgres") else 1
    servers = [
        start_server(REDIS_URL=own_redis.url, REDIS_TIMEOUT="1", SOCKET_RATE_MESSAGES="off")
        for _ in range(processes)
    ]
    first, last = servers[0], servers[-1]
    alice_token, bob_token = access_token(alice), access_token(bob)
    room = f"/ws/chat/{direct.id}/"
    stop = asyncio.Event()
    async with connect(f"{first.ws}{room}?token={alice_token}") as alice_ws:
        sender = Sender(alice_ws)
        traffic = asyncio.ensure_future(sender.run(stop))
        await asyncio.sleep(1)

        own_redis.kill()
        await asyncio.sleep(1)
        # REST reads keep answering, with presence unknown.
        status, listing, _ = await asyncio.to_thread(rest, last, "/api/chat/", bob_token)
        assert status == 200 and listing[0]["users"][0]["online"] is None
        status, profile, _ = await asyncio.to_thread(rest, last, f"/api/auth/{alice.id}/", bob_token)
        assert status == 200 and profile["online"] is None
        status, presence, _ = await asyncio.to_thread(rest, last, "/api/chat/presence/", bob_token)
        assert (status, presence) == (200, {"online": None})
        # A REST send is saved and answered.
        status, _, _ = await asyncio.to_thread(
            rest, last, f"/api/chat/{direct.id}/messages/", bob_token, data={"body": "during the outage"}
        )
        assert status == 201
        # A new socket is refused with 4503, "try again later".
        assert await close_code_of(f"{last.ws}{room}?token={bob_token}") == 4503
        await asyncio.sleep(1)

        own_redis.start()
        # New sockets work again without restarting anything.
        await until_sockets_are_accepted(f"{last.ws}{room}?token={bob_token}", time.monotonic() + 20, "Redis")
        await asyncio.sleep(1)
        stop.set()
        await traffic

    assert sender.sent > 100
    # Every message was acknowledged, those sent while Redis was down included.
    assert sender.acked == {f"c{n}" for n in range(1, sender.sent + 1)}
    saved = await database_sync_to_async(
        lambda: list(ConversationMessage.objects.filter(conversation=direct).values_list("client_id", "seq"))
    )()
    saved_ids = [client_id for client_id, _ in saved if client_id]
    assert sender.acked <= set(saved_ids), "an acknowledged message is missing"
    assert len(saved_ids) == len(set(saved_ids)), "a message was saved twice"
    assert sorted(seq for _, seq in saved) == list(range(1, len(saved) + 1))
    # Bob catches up on everything, in order, none twice.
    async with connect(f"{last.ws}{room}?token={bob_token}&after=0") as bob_ws:
        seqs = []
        while len(seqs) < len(saved):
            frame = json.loads(await asyncio.wait_for(bob_ws.recv(), timeout=10))
            if frame["type"] == "chat.message":
                seqs.append(frame["seq"])
    assert seqs == list(range(1, len(saved) + 1))
    for server in servers:
        log = server.log()
        assert log.count("Redis is unreachable") <= 2, log[-3000:]
        assert "Redis is back" in log
        assert log.count("Traceback") <= 3, log[-5000:]


async def until_sockets_are_accepted(url: str, deadline: float, dependency: str) -> None:
    """Wait until a new socket at ``url`` is no longer refused with 4503 (``dependency`` came back)."""
    while await close_code_of_first_frame(url) == 4503:
        assert time.monotonic() < deadline, f"sockets still refused after {dependency} came back"
        await asyncio.sleep(0.5)


async def close_code_of_first_frame(url: str) -> int | None:
    """None if the socket opened and sent a frame; else its close code."""
    try:
        async with connect(url) as ws:
            await asyncio.wait_for(ws.recv(), timeout=10)
            return None
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else 1006


async def test_a_hung_redis_costs_seconds_not_a_stall(start_server, own_redis, alice, bob, direct):
    server = start_server(REDIS_URL=own_redis.url, REDIS_TIMEOUT="1")
    token = access_token(alice)
    room = f"{server.ws}/ws/chat/{direct.id}/?token={token}"
    async with connect(room) as ws:
        own_redis.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            await ws.send(json.dumps({"type": "message.send", "body": "while Redis hangs", "client_id": "hung-1"}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=15))
                if frame.get("client_id") == "hung-1":
                    break
            assert time.monotonic() - started < 8
            status, _, took = await asyncio.to_thread(rest, server, "/api/chat/", token)
            assert status == 200 and took < 8
        finally:
            own_redis.process.send_signal(signal.SIGCONT)
    assert await database_sync_to_async(ConversationMessage.objects.filter(client_id="hung-1").count)() == 1
