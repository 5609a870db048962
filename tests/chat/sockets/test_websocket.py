"""The room socket: authentication, authorisation, frames and broadcasting."""

import ipaddress
import socket
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from chat.models import ConversationMessage
from tests.plugins.sockets import expect_close, open_socket, receive
from tests.plugins.users import access_token

pytestmark = pytest.mark.django_db(transaction=True)


def count_messages(conversation) -> int:
    return ConversationMessage.objects.filter(conversation=conversation).count()


acount_messages = database_sync_to_async(count_messages)


# --- Connecting ---------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["ws/", "ws/chat/"])
async def test_member_connects_with_query_string_token(alice, direct, prefix):
    async with open_socket(f"/{prefix}{direct.id}/", token=access_token(alice)) as ws:
        assert ws.connected_ok
        if prefix == "ws/":
            assert await ws.receive_nothing(timeout=0.1), "the original client gets messages only"
        else:
            assert (await receive(ws, skip=()))["type"] == "presence.state"


async def test_member_connects_with_bearer_header(alice, direct):
    headers = [(b"authorization", f"Bearer {access_token(alice)}".encode())]
    async with open_socket(f"/ws/chat/{direct.id}/", headers=headers) as ws:
        assert ws.connected_ok
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_missing_token_is_closed_with_4401(direct):
    async with open_socket(f"/ws/{direct.id}/") as ws:
        await expect_close(ws, 4401)


async def test_invalid_token_is_closed_with_4401(direct):
    async with open_socket(f"/ws/{direct.id}/", token="not-a-jwt") as ws:
        await expect_close(ws, 4401)


async def test_expired_token_is_closed_with_4401(alice, direct):
    token = AccessToken.for_user(alice)
    token.set_exp(lifetime=-timedelta(seconds=1))
    async with open_socket(f"/ws/{direct.id}/", token=str(token)) as ws:
        await expect_close(ws, 4401)


async def test_refresh_token_is_closed_with_4401(alice, direct):
    refresh = await database_sync_to_async(RefreshToken.for_user)(alice)
    async with open_socket(f"/ws/{direct.id}/", token=str(refresh)) as ws:
        await expect_close(ws, 4401)


async def test_token_of_deactivated_user_is_closed_with_4401(alice, direct):
    token = access_token(alice)
    alice.is_active = False
    await database_sync_to_async(alice.save)()
    async with open_socket(f"/ws/{direct.id}/", token=token) as ws:
        await expect_close(ws, 4401)


async def test_non_member_is_closed_with_4403(carol, direct):
    async with open_socket(f"/ws/{direct.id}/", token=access_token(carol)) as ws:
        await expect_close(ws, 4403)


@pytest.mark.parametrize("conversation_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
async def test_unknown_conversation_is_closed_with_4403(alice, conversation_id):
    async with open_socket(f"/ws/{conversation_id}/", token=access_token(alice)) as ws:
        await expect_close(ws, 4403)


async def test_unknown_path_is_closed_with_4404(alice):
    async with open_socket("/ws/a/b/c/", token=access_token(alice)) as ws:
        await expect_close(ws, 4404)


def sample(name: str, **labels) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def refusals_for_now() -> tuple[float, float]:
    """Database errors counted, and sockets closed with 4503, so far."""
    return sample("chat_database_errors_total"), sample("chat_socket_server_closes_total", code="4503")


def database_down(*args, **kwargs):
    from django.db import OperationalError

    raise OperationalError("connection to server failed: Connection refused")


@pytest.mark.parametrize("path", ["/ws/chat/{id}/", "/ws/{id}/", "/ws/notifications/"])
async def test_a_database_failing_while_the_token_is_checked_closes_with_4503(alice, direct, path, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    errors, closes = refusals_for_now()
    with monkeypatch.context() as patch:
        patch.setattr(CursorWrapper, "execute", database_down)  # every query of every thread fails
        loop_database_refuses(patch)  # and every connection of the event loop's (PostgreSQL)
        async with open_socket(path.format(id=direct.id), token=access_token(alice)) as ws:
            await expect_close(ws, 4503)
    assert refusals_for_now() == (errors + 1, closes + 1)


def loop_database_refuses(patch):
    """New event-loop connections (core.runtime.asyncdb) go to a port nobody listens on; none is kept."""
    import weakref

    from core.runtime import asyncdb

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    real = asyncdb._connect_kwargs
    patch.setattr(asyncdb, "_connect_kwargs", lambda: {**real(), "host": "127.0.0.1", "port": closed_port})
    patch.setattr(asyncdb, "_loop_connections", weakref.WeakKeyDictionary())


async def database_down_on_loop(*args, **kwargs):
    database_down()


@pytest.mark.parametrize("path, module, name", [
    ("/ws/chat/{id}/", "chat.sockets.rooms", "room_opening"),
    ("/ws/{id}/", "chat.sockets.rooms", "room_opening"),
    ("/ws/notifications/", "chat.sockets.notifications", "conversation_ids_for_user"),
])
async def test_a_database_failing_while_a_socket_is_authorised_closes_with_4503(
    alice, direct, path, module, name, monkeypatch
):
    import importlib

    errors, closes = refusals_for_now()
    monkeypatch.setattr(importlib.import_module(module), name, database_down)
    if hasattr(importlib.import_module(module), name + "_on_loop"):
        monkeypatch.setattr(importlib.import_module(module), name + "_on_loop", database_down_on_loop)
    async with open_socket(path.format(id=direct.id), token=access_token(alice)) as ws:
        await expect_close(ws, 4503)
    assert refusals_for_now() == (errors + 1, closes + 1)


async def test_rejected_socket_joins_no_group(carol, direct, alice):
    async with open_socket(f"/ws/{direct.id}/", token=access_token(carol)) as intruder:
        await expect_close(intruder, 4403)
        async with open_socket(f"/ws/{direct.id}/", token=access_token(alice)) as ws:
            await ws.send_json_to({"type": "message.send", "body": "private"})
            await receive(ws)
        assert await intruder.receive_nothing(timeout=0.2)


# --- Origins ----------------------------------------------------------------------


async def test_browser_from_allowed_origin_connects(alice, direct, settings):
    settings.ALLOWED_ORIGINS = ["https://app.example.com"]
    headers = [(b"origin", b"https://app.example.com")]
    async with open_socket(f"/ws/{direct.id}/", token=access_token(alice), headers=headers) as ws:
        assert ws.connected_ok


async def test_browser_from_the_servers_own_origin_connects(alice, direct, settings):
    # Behind a TLS-terminating proxy: the page is https://chat.example.com, the
    # proxy says so with X-Forwarded-Proto, and the server believes its proxy.
    settings.ALLOWED_ORIGINS = []
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)
    headers = [(b"origin", b"https://chat.example.com"), (b"host", b"chat.example.com"),
               (b"x-forwarded-proto", b"https")]
    for peer, accepted in (("10.0.0.2", True), ("198.51.100.4", False)):
        async with open_socket(f"/ws/{direct.id}/", token=access_token(alice), headers=headers, connect=False) as ws:
            ws.scope["client"] = (peer, 40000)
            connected, _ = await ws.connect(timeout=5)
            assert connected is accepted, f"X-Forwarded-Proto from {peer}"


async def test_another_port_of_an_allowed_host_is_another_origin(alice, direct, settings, client):
    # A dev server on localhost:5173 is refused by sockets as by CORS, unless listed.
    settings.ALLOWED_ORIGINS = ["http://localhost:3000"]
    headers = [(b"origin", b"http://localhost:5173"), (b"host", b"localhost:8000")]
    async with open_socket(f"/ws/{direct.id}/", token=access_token(alice), headers=headers) as ws:
        assert not ws.connected_ok
    response = await database_sync_to_async(client.get)("/api/chat/", HTTP_ORIGIN="http://localhost:5173")
    assert "Access-Control-Allow-Origin" not in response
    settings.ALLOWED_ORIGINS = ["http://LOCALHOST:5173/"]  # as written in an .env: still the same origin
    async with open_socket(f"/ws/{direct.id}/", token=access_token(alice), headers=headers) as ws:
        assert ws.connected_ok
    response = await database_sync_to_async(client.get)("/api/chat/", HTTP_ORIGIN="http://localhost:5173")
    assert response["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert set(response["Access-Control-Expose-Headers"].split(", ")) >= {"Link", "Retry-After"}


async def test_browser_from_other_origin_is_refused(alice, direct, settings):
    settings.ALLOWED_ORIGINS = ["https://app.example.com"]
    headers = [(b"origin", b"https://evil.example.net")]
    async with open_socket(f"/ws/{direct.id}/", token=access_token(alice), headers=headers) as ws:
        assert not ws.connected_ok


async def test_client_without_origin_connects(alice, direct, settings):
    settings.ALLOWED_ORIGINS = []
    async with open_socket(f"/ws/{direct.id}/", token=access_token(alice)) as ws:
        assert ws.connected_ok


# --- Sending ----------------------------------------------------------------------


async def test_original_client_frame_reaches_everyone_as_flat_frame(alice, bob, direct):
    async with open_socket(f"/ws/{direct.id}/", token=access_token(alice)) as a, open_socket(
        f"/ws/{direct.id}/", token=access_token(bob)
    ) as b:
        await a.send_json_to(
            {
                "event": "chat_message",
                "data": {
                    "body": "Hello Bob",
                    "name": "Mallory",  # ignored: the name comes from the token
                    "sent_to_id": str(alice.id),  # ignored: the recipient comes from the conversation
                    "conversation_id": str(direct.id),
                },
            }
        )
        for ws in (a, b):
            frame = await receive(ws)
            assert frame["type"] == "chat.message"
            assert frame["body"] == "Hello Bob"
            assert frame["name"] == "Alice"
            assert frame["created_by"] == {"id": str(alice.id), "name": "Alice", "avatar_url": ""}
            assert frame["sent_to_id"] == str(bob.id)
            assert frame["conversation_id"] == str(direct.id)
            assert frame["seq"] == 1
    message = await database_sync_to_async(ConversationMessage.objects.get)(conversation=direct)
    assert (message.body, message.created_by_id, message.sent_to_id) == ("Hello Bob", alice.id, bob.id)


async def test_message_send_is_acknowledged_with_client_id(alice, bob, carol, group):
    async with open_socket(f"/ws/chat/{group.id}/", token=access_token(alice)) as a, open_socket(
        f"/ws/chat/{group.id}/", token=access_token(carol)
    ) as c:
        await a.send_json_to({"type": "message.send", "body": "Hi all", "client_id": "c-1"})
        ack = await receive(a)
        seen = await receive(c)
        assert ack == seen
        assert set(ack) == {
            "type", "id", "seq", "conversation_id", "body", "created_by", "sent_to_id",
            "created_at", "client_id", "name", "edited_at", "deleted", "expired", "expires_at", "moderated", "kind",
            "system", "reply_to", "reactions", "attachments", "thread_id", "thread", "pinned", "forwarded", "mentions",
            "mentions_all", "preview", "metadata",
        }
        assert ack["client_id"] == "c-1"
        assert ack["sent_to_id"] is None
        assert ack["created_at"].endswith("Z")


async def test_seq_counts_up_within_conversation(alice, direct):
    async with open_socket(f"/ws/{direct.id}/", token=access_token(alice)) as ws:
        seqs = []
        for n in range(5):
            await ws.send_json_to({"type": "message.send", "body": f"m{n}"})
            seqs.append((await receive(ws))["seq"])
    assert seqs == [1, 2, 3, 4, 5]


async def test_resent_client_id_returns_original_without_new_message(alice, bob, direct):
    async with open_socket(f"/ws/{direct.id}/", token=access_token(alice)) as a, open_socket(
        f"/ws/{direct.id}/", token=access_token(bob)
    ) as b:
        await a.send_json_to({"type": "message.send", "body": "once", "client_id": "retry-1"})
        first = await receive(a)
        await receive(b)
        await a.send_json_to({"type": "message.send", "body": "once", "client_id": "retry-1"})
        again = await receive(a)
        assert again["id"] == first["id"] and again["seq"] == first["seq"]
        assert await b.receive_nothing(timeout=0.2), "a retry is not broadcast again"
    assert await acount_messages(direct) == 1


@pytest.mark.parametrize(
    "text, code",
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('"text"', "invalid_frame"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"body": "no type"}', "unknown_type"),
        ('{"type": "message.send", "body": ""}', "empty_body"),
        ('{"type": "message.send", "body": "   "}', "empty_body"),
        ('{"type": "message.send"}', "invalid_body"),
        ('{"type": "message.send", "body": 42}', "invalid_body"),
        ('{"event": "chat_message", "data": "x"}', "invalid_frame"),
        ('{"event": "chat_message", "data": {"body": ""}}', "empty_body"),
        ('{"type": "message.send", "body": "x", "client_id": 7}', "invalid_client_id"),
    ],
)
async def test_bad_frame_gets_error_and_socket_stays_open(alice, direct, text, code):
    async with open_socket(f"/ws/{direct.id}/", token=access_token(alice)) as ws:
        await ws.send_to(text_data=text)
        error = await receive(ws)
        assert error["type"] == "error"
        assert error["code"] == code
        assert error["detail"]
        await ws.send_json_to({"type": "message.send", "body": "still here"})
        assert (await receive(ws))["body"] == "still here"
    assert await acount_messages(direct) == 1


async def test_body_over_limit_is_refused(alice, direct, settings):
    settings.CHAT_MESSAGE_MAX_LENGTH = 10
    async with open_socket(f"/ws/{direct.id}/", token=access_token(alice)) as ws:
        await ws.send_json_to({"type": "message.send", "body": "x" * 11, "client_id": "long"})
        error = await receive(ws)
        assert (error["code"], error["client_id"]) == ("body_too_long", "long")
        await ws.send_json_to({"type": "message.send", "body": "x" * 10})
        assert (await receive(ws))["body"] == "x" * 10
    assert await acount_messages(direct) == 1


async def test_default_limit_is_4000_characters(alice, direct):
    async with open_socket(f"/ws/{direct.id}/", token=access_token(alice)) as ws:
        await ws.send_json_to({"type": "message.send", "body": "x" * 4001})
        assert (await receive(ws))["code"] == "body_too_long"
        await ws.send_json_to({"type": "message.send", "body": "x" * 4000})
        assert len((await receive(ws))["body"]) == 4000


@pytest.mark.parametrize("path", ["orm", "one_statement"])
async def test_failed_save_sends_error_and_broadcasts_nothing(alice, bob, direct, monkeypatch, settings, path):
    if path == "orm":
        def broken_create(*args, **kwargs):
            raise RuntimeError("disk full")

        settings.DATABASE_LOOP_QUERIES = False
        monkeypatch.setattr(ConversationMessage.objects, "create", broken_create)
    else:
        if connection.vendor != "postgresql":
            pytest.skip("the one-statement send is PostgreSQL's")
        # The INSERT fails in the database after the seq UPDATE ran: the whole statement is undone.
        monkeypatch.setattr(ConversationMessage, "TEXT", "x" * 17)
    async with open_socket(f"/ws/{direct.id}/", token=access_token(alice)) as a, open_socket(
        f"/ws/{direct.id}/", token=access_token(bob)
    ) as b:
        await a.send_json_to({"type": "message.send", "body": "lost?", "client_id": "f-1"})
        error = await receive(a)
        assert (error["type"], error["code"], error["client_id"]) == ("error", "save_failed", "f-1")
        assert await b.receive_nothing(timeout=0.2)
    monkeypatch.undo()
    assert await acount_messages(direct) == 0
    await database_sync_to_async(direct.refresh_from_db)()
    assert direct.last_seq == 0, "a failed save leaves no gap in seq"
