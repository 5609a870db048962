"""
Input that must get a clear error, never a crash: absurd nesting, text that
cannot be stored, forged cursors; and sockets that clean up however they end.
"""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from chat.sockets.rooms import RoomConsumer
from chat.models import ConversationMessage
from chat.realtime.presence import presence_store
from tests.plugins.conversations import send
from tests.plugins.sockets import notifications, open_socket, presence_frame, receive, room
from tests.plugins.users import access_token

NESTED = "[" * 5000 + "]" * 5000
UNSTORABLE = {"nul": "a\x00b", "lone-surrogate": "a\ud800b"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path",
    [("post", "/api/chat/"), ("post", "/api/chat/{id}/messages/"), ("post", "/api/auth/login/"),
     ("patch", "/api/auth/me/"), ("post", "/api/chat/{id}/read/")],
)
def test_absurdly_nested_json_is_400_on_every_json_endpoint(client_for, alice, direct, method, path):
    client = client_for(alice)
    response = getattr(client, method)(path.format(id=direct.id), NESTED, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("text", UNSTORABLE.values(), ids=UNSTORABLE.keys())
@pytest.mark.parametrize("field", ["body", "client_id"])
def test_unstorable_text_over_rest_is_400_and_saves_nothing(client_for, alice, direct, text, field):
    fields = {"body": text} if field == "body" else {"body": "fine", "client_id": text}
    # As a client sends it: json.dumps writes a lone surrogate as a \\ud800 escape.
    url = f"/api/chat/{direct.id}/messages/"
    response = client_for(alice).post(url, json.dumps(fields), content_type="application/json")
    assert response.status_code == 400
    assert ConversationMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("text", UNSTORABLE.values(), ids=UNSTORABLE.keys())
@pytest.mark.parametrize("frame_type", ["message.send", "message.edit"])
async def test_unstorable_text_over_the_socket_is_invalid_body_not_save_failed(alice, direct, text, frame_type):
    message = await database_sync_to_async(send)(direct, alice, "original")
    async with room(direct, alice) as ws:
        frame = {"type": frame_type, "body": text, "message_id": str(message.id)}
        # json.dumps escapes a lone surrogate as a \\ud800 escape, as any client may.
        await ws.send_to(text_data=json.dumps(frame))
        error = await receive(ws)
        assert (error["type"], error["code"]) == ("error", "invalid_body")
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
    bodies = database_sync_to_async(lambda: list(ConversationMessage.objects.values_list("body", flat=True)))
    assert await bodies() == ["original"]


@pytest.mark.django_db(transaction=True)
async def test_absurdly_nested_frame_is_invalid_json_and_the_socket_lives(alice, direct):
    async with room(direct, alice) as ws:
        await ws.send_to(text_data=NESTED)
        assert (await receive(ws))["code"] == "invalid_json"
        await ws.send_json_to({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", ["cD0yMDI2", "cD0yMDI2LTEzLTQ1VDAwOjAwOjAwWg==", "not-base64!"])
def test_forged_conversation_list_cursor_is_404_not_500(client_for, alice, direct, cursor):
    response = client_for(alice).get(f"/api/chat/?cursor={cursor}")
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_a_crashed_handler_still_ends_the_session(alice, bob, direct, monkeypatch):
    async def crash(self, event):
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(RoomConsumer, "chat_message", crash)
    async with notifications(bob) as feed:
        ws = open_socket(f"/ws/chat/{direct.id}/", token=access_token(alice))
        communicator = await ws.__aenter__()
        assert await receive(feed, skip=()) == presence_frame(alice, True)
        await database_sync_to_async(send)(direct, bob, "boom")
        assert await receive(feed, skip={"notification"}) == presence_frame(alice, False)
        with pytest.raises(RuntimeError):  # the consumer really died
            await asyncio.wait_for(asyncio.shield(communicator.future), timeout=5)
        assert await presence_store().online([str(alice.id)]) == set()
        with pytest.raises(RuntimeError):
            await ws.__aexit__(None, None, None)
