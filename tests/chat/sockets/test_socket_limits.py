"""Per-user socket limits: frames over a rate are refused with retry_after, and sockets per user are capped."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from chat.models import ConversationMessage
from chat.realtime.ratelimit import rate_limiter
from tests.plugins.sockets import expect_close, notifications, receive, room

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_limiter():
    rate_limiter.cache_clear()
    yield
    rate_limiter.cache_clear()


async def test_messages_over_the_rate_are_refused_with_retry_after_and_not_saved(settings, alice, bob, direct):
    settings.SOCKET_RATE_LIMITS = {**settings.SOCKET_RATE_LIMITS, "message": "3/1s"}
    async with room(direct, alice) as ws:
        for n in range(4):
            await ws.send_json_to({"type": "message.send", "body": f"m{n}", "client_id": f"c{n}"})
        frames = [await receive(ws) for _ in range(4)]
        # The refusal comes straight back; the messages may come through Redis after it.
        assert sorted(frame["type"] for frame in frames) == ["chat.message"] * 3 + ["error"]
        refused = next(frame for frame in frames if frame["type"] == "error")
        assert refused == {
            "type": "error", "code": "throttled", "detail": "Too many frames; try again in 1 s.",
            "retry_after": 1, "client_id": "c3",
        }
        assert await database_sync_to_async(ConversationMessage.objects.count)() == 3
        await asyncio.sleep(refused["retry_after"])
        await ws.send_json_to({"type": "message.send", "body": "m3", "client_id": "c3"})
        assert (await receive(ws))["client_id"] == "c3"


async def test_each_limit_is_per_user_and_per_kind_of_frame(settings, alice, bob, direct):
    settings.SOCKET_RATE_LIMITS = {"message": "1/10s", "typing": "1/10s", "frame": "1/10s"}
    async with room(direct, alice) as alice_ws, room(direct, bob) as bob_ws:
        await alice_ws.send_json_to({"type": "message.send", "body": "one"})
        assert (await receive(alice_ws))["type"] == "chat.message"
        assert (await receive(bob_ws))["type"] == "chat.message"
        # Bob's own limit is untouched by Alice's message; pings count apart from messages.
        await bob_ws.send_json_to({"type": "message.send", "body": "two"})
        assert (await receive(bob_ws))["type"] == "chat.message"
        await alice_ws.send_json_to({"type": "ping"})
        await alice_ws.send_json_to({"type": "ping"})
        frames = [await receive(alice_ws) for _ in range(3)]
        assert [frame.get("code", frame["type"]) for frame in frames if frame["type"] != "chat.message"] == [
            "pong", "throttled"
        ]
        await alice_ws.send_json_to({"type": "typing"})
        await alice_ws.send_json_to({"type": "typing"})
        assert (await receive(alice_ws))["code"] == "throttled"


async def test_a_limit_switched_off_refuses_nothing(settings, alice, direct):
    settings.SOCKET_RATE_LIMITS = {**settings.SOCKET_RATE_LIMITS, "frame": "off"}
    async with room(direct, alice) as ws:
        for _ in range(100):
            await ws.send_json_to({"type": "ping"})
        assert [(await receive(ws))["type"] for _ in range(100)] == ["pong"] * 100


async def test_sockets_past_the_per_user_limit_are_refused_with_4429(settings, alice, bob, direct):
    settings.SOCKET_MAX_CONNECTIONS_PER_USER = 2
    async with room(direct, alice) as first, notifications(alice) as second:
        assert first.connected_ok and second.connected_ok
        async with room(direct, alice) as third:
            await expect_close(third, 4429)
        async with room(direct, bob) as someone_else:
            await someone_else.send_json_to({"type": "ping"})
            assert (await receive(someone_else))["type"] == "pong"
    async with room(direct, alice) as after_closing:
        assert after_closing.connected_ok


async def test_a_burst_of_connects_cannot_pass_the_per_user_limit(settings, alice, direct):
    settings.SOCKET_MAX_CONNECTIONS_PER_USER = 3
    sockets = [room(direct, alice) for _ in range(8)]
    opened = await asyncio.gather(*(socket.__aenter__() for socket in sockets))
    try:
        codes = []
        for ws in opened:
            try:
                message = await ws.receive_output(timeout=0.5)
                codes.append(message.get("code") if message["type"] == "websocket.close" else None)
            except asyncio.TimeoutError:
                codes.append(None)
        assert sorted(codes, key=str) == [4429] * 5 + [None] * 3
    finally:
        for socket in sockets:
            await socket.__aexit__(None, None, None)
