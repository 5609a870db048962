"""
A PostgreSQL outage under traffic, against real server processes and a
PostgreSQL of the test's own (initdb on a free port, stopped and restarted
here; the shared one is never touched): REST answers 503 with Retry-After
while the database is away and 200 once it is back, new sockets are refused
with 4503, nothing acknowledged is lost, and each process's log holds one
line when the outage starts and one when it ends instead of a traceback per
failed call.
"""

import asyncio
import re
import time

import pytest
from websockets.asyncio.client import connect

from tests.plugins.servers import http_request
from tests.core.test_redis_outage import Sender, close_code_of, until_sockets_are_accepted

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def rest(server, path, token=None, *, data=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http_request(f"{server.http}{path}", data=data, headers=headers, timeout=30)


def register(server, name: str) -> tuple[str, str]:
    """A new user's id and access token."""
    password = "correct-horse-battery-staple"
    answer = rest(server, "/api/auth/register/", data={
        "email": f"{name.lower()}@example.com", "password1": password, "password2": password, "name": name,
    })
    assert answer.status == 201, answer.body
    session = answer.json()
    return session["user"]["id"], session["access"]


def database_errors_counted(server) -> float:
    text = rest(server, "/metrics").body.decode()
    return float(re.search(r"^chat_database_errors_total (\S+)$", text, re.MULTILINE).group(1))


async def test_a_database_stopped_under_traffic_answers_503_and_logs_one_line_each_way(start_server, own_postgres):
    servers = [start_server(DATABASE_URL=own_postgres.url, SOCKET_RATE_MESSAGES="off") for _ in range(2)]
    first, last = servers
    alice_id, alice_token = register(first, "Alice")
    bob_id, bob_token = register(first, "Bob")
    started = rest(first, f"/api/chat/start/{bob_id}/", alice_token, data={})
    room = f"/ws/chat/{started.json()['conversation_id']}/"
    stop = asyncio.Event()
    async with connect(f"{first.ws}{room}?token={alice_token}") as alice_ws:
        sender = Sender(alice_ws)
        traffic = asyncio.ensure_future(sender.run(stop))
        await asyncio.sleep(1)

        await asyncio.to_thread(own_postgres.stop)
        outage_started = time.monotonic()
        answer = await asyncio.to_thread(rest, last, "/api/chat/", bob_token)
        assert answer.status == 503, answer.body
        assert answer.json() == {
            "code": "database_unavailable", "detail": answer.json()["detail"], "retry_after": 5,
        }
        assert answer.headers["Retry-After"] == "5"
        # Known to be down, a request waits a second for a connection, not the pool's 10 s.
        asked = time.monotonic()
        answer = await asyncio.to_thread(rest, last, f"/api/auth/{alice_id}/", bob_token)
        assert answer.status == 503 and time.monotonic() - asked < 3, answer.body
        answer = await asyncio.to_thread(rest, first, f"/api/auth/{alice_id}/", bob_token)
        assert answer.status == 503, answer.body
        # A new socket is refused with 4503, "try again later".
        assert await close_code_of(f"{last.ws}{room}?token={bob_token}") == 4503
        await asyncio.sleep(max(0.0, 10 - (time.monotonic() - outage_started)))

        await asyncio.to_thread(own_postgres.start)
        deadline = time.monotonic() + 30
        while (await asyncio.to_thread(rest, last, "/api/chat/", bob_token)).status != 200:
            assert time.monotonic() < deadline, "REST still failing after the database came back"
            await asyncio.sleep(0.5)
        for server in servers:
            for _ in range(5):
                answer = await asyncio.to_thread(rest, server, "/api/chat/", bob_token)
                assert answer.status == 200, answer.body
        await until_sockets_are_accepted(f"{last.ws}{room}?token={bob_token}", deadline, "the database")
        await asyncio.sleep(1)
        stop.set()
        await traffic

    assert sender.sent > 100
    # Every message was acknowledged, those sent while the database was down included.
    assert sender.acked == {f"c{n}" for n in range(1, sender.sent + 1)}
    for server in servers:
        assert database_errors_counted(server) > 0
        log = server.log()
        assert log.count("PostgreSQL is unreachable") == 1, log[-5000:]
        assert log.count("PostgreSQL is back") == 1, log[-5000:]
        assert log.count("Traceback") <= 3, log[-5000:]
