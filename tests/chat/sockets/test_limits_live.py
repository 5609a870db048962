"""
The per-connection limits (core.runtime.server) against a real server process,
over real sockets: clients that do not read, floods, oversized frames,
slow-drip requests, and history far larger than a send buffer.
"""

import asyncio
import json
import socket
import time
import urllib.request

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.factories import bulk_messages
from tests.plugins.conversations import send, send_many
from tests.plugins.users import access_token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

SMALL_RECEIVE_BUFFER = 4096


def tiny_buffer_socket(port: int) -> socket.socket:
    """A client socket that holds little the server has sent, so the server's side fills up."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RECEIVE_BUFFER)
    sock.connect(("127.0.0.1", port))
    return sock


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


async def frames_until_closed(ws, timeout: float) -> tuple[list[dict], int]:
    """Read everything until the server closes; the frames and the close code."""
    frames = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic())))
    except ConnectionClosed as closed:
        return frames, closed.rcvd.code if closed.rcvd else 1006


async def test_a_client_that_stops_reading_is_closed_with_4008_pings_notwithstanding(
    start_server, alice, bob, direct
):
    server = start_server(
        WEBSOCKET_SEND_TIMEOUT="3", WEBSOCKET_SEND_BUFFER_BYTES=str(256 * 1024), SOCKET_RATE_MESSAGES="off"
    )
    url = f"{server.ws}/ws/chat/{direct.id}/"
    sock = tiny_buffer_socket(server.port)
    async with connect(f"{url}?token={access_token(alice)}", sock=sock, max_queue=1) as stalled, connect(
        f"{url}?token={access_token(bob)}", max_queue=None
    ) as sender:
        # Bob talks (several MB: more than the kernel buffers between them);
        # Alice's client reads nothing but keeps sending pings.
        for n in range(3000):
            await sender.send(json.dumps({"type": "message.send", "body": f"{n:04d} " + "x" * 3900}))
            if n % 50 == 0:
                await stalled.send(json.dumps({"type": "ping"}))
                await asyncio.sleep(0.05)
                if "not reading (4008)" in server.log():
                    break
        assert "not reading (4008)" in server.log()
        # Reading again, the client gets what was queued, then the close.
        frames, code = await frames_until_closed(stalled, timeout=30)
    assert code == 4008
    # What was queued before the close arrives intact and in order.
    seqs = [frame["seq"] for frame in frames if frame["type"] == "chat.message"]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) < n


@pytest.mark.parametrize(("path", "size"), [("ws/chat/{id}/", 70_000), ("ws/chat/{id}/", 1 << 20), ("ws/{id}/", 1 << 20)])
async def test_a_message_over_the_size_limit_closes_with_1009(start_server, alice, direct, size, path):
    # However large: the client must get the close frame, not a dropped connection (1006).
    server = start_server(WEBSOCKET_MAX_MESSAGE_BYTES="65536")
    url = f"{server.ws}/{path.format(id=direct.id)}?token={access_token(alice)}"
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "message.send", "body": "x" * size}))
        _, code = await frames_until_closed(ws, timeout=10)
    assert code == 1009


async def test_a_flood_of_frames_is_read_only_as_fast_as_it_is_handled(start_server, alice, direct):
    # Without the rate limit, whose refusals would be replies this client never reads.
    server = start_server(SOCKET_RATE_FRAMES="off")
    url = f"{server.ws}/ws/chat/{direct.id}/?token={access_token(alice)}"
    async with connect(url) as warm:  # the first socket loads what every socket uses
        await warm.send(json.dumps({"type": "ping"}))
        await warm.recv()
    before = rss_kib(server.process.pid)
    # Each costs a database round trip to handle and gets no reply.
    frame = json.dumps({"type": "read", "seq": 0, "padding": "x" * 2000})
    sent = 0
    async with connect(url, write_limit=2**14, close_timeout=1) as ws:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            # With the server no longer reading, this waits on TCP instead of queueing there.
            try:
                await asyncio.wait_for(ws.send(frame), timeout=0.5)
            except TimeoutError:
                continue
            sent += 1
        await asyncio.sleep(0.5)
        grown = rss_kib(server.process.pid) - before
    assert sent > 1000, "the flood must actually reach the server"
    print(f"the server grew {grown} KiB while flooded with {sent} frames")
    assert grown < 20 * 1024, f"the server grew {grown} KiB while flooded with {sent} frames"


@pytest.mark.slow
async def test_catch_up_far_larger_than_the_send_buffer_reaches_a_slow_reader_whole(
    start_server, alice, bob, direct
):
    await database_sync_to_async(send_many)(direct, bob, 1)
    await database_sync_to_async(bulk_messages)(direct, bob, 1500, bodies=["y" * 1000])
    # 1.5 MB of history against a 256 KiB send limit: sent whole only if sent as it is read.
    server = start_server(WEBSOCKET_SEND_BUFFER_BYTES=str(256 * 1024), WEBSOCKET_SEND_TIMEOUT="10")
    sock = tiny_buffer_socket(server.port)
    url = f"{server.ws}/ws/chat/{direct.id}/?token={access_token(alice)}&after=0"
    seqs = []
    async with connect(url, sock=sock, max_queue=1) as ws:
        while len(seqs) < 1501:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=20))
            if frame["type"] == "chat.message":
                seqs.append(frame["seq"])
            if len(seqs) % 100 == 0:
                await asyncio.sleep(0.05)  # a slow reader
    assert seqs == list(range(1, 1502))
    assert "not reading" not in server.log()


def test_request_headers_dripped_slowly_are_cut_off(start_server):
    server = start_server(HTTP_HEADER_TIMEOUT="1")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(10)
        started = time.monotonic()
        sock.sendall(b"GET /health/ HTTP/1.1\r\nHost: x\r\n")
        with pytest.raises(OSError):
            for _ in range(20):
                time.sleep(0.3)
                sock.sendall(b"X")  # a byte at a time, never finishing a header
                if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    raise ConnectionResetError("closed")
        assert time.monotonic() - started < 4
    # A normal request is unaffected.
    with urllib.request.urlopen(f"{server.http}/health/", timeout=5) as response:
        assert response.status == 200


def test_a_token_in_a_rest_url_is_redacted_from_the_access_log(start_server, alice):
    server = start_server()
    token = access_token(alice)
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{server.http}/api/chat/?token={token}&x=1", timeout=5)
    time.sleep(0.3)
    log = server.log()
    assert "/api/chat/?token=[redacted]&x=1" in log
    assert token not in log


async def test_frames_the_server_sends_may_be_larger_than_the_limit_on_client_frames(start_server, alice, bob, direct):
    emoji = "\U0001F600" * 4000  # a longest body: 48 KB as escaped JSON
    await database_sync_to_async(lambda: [send(direct, bob, emoji) for _ in range(3)])()
    server = start_server(WEBSOCKET_MAX_MESSAGE_BYTES="65536")
    async with connect(f"{server.ws}/ws/notifications/?token={access_token(alice)}", max_size=None) as ws:
        await ws.send(json.dumps({"type": "sync", "conversations": {}}))
        while (frame := json.loads(await asyncio.wait_for(ws.recv(), timeout=10)))["type"] != "sync.result":
            pass
    assert [len(item["messages"]) for item in frame["conversations"]] == [3]
    assert "Traceback" not in server.log()
