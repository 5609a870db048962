"""
Timed work end to end (core.timed): a real server, a real socket, a
disappearing message gone at its time and a scheduled message sent at its
time. In the embedded configuration the server does this work itself
(TIMED_WORK_IN_SERVER); with Redis, ``manage.py expire_messages --loop`` and
``send_scheduled --loop`` are processes of their own, as the compose stack
runs them, and their frames reach the server's sockets through Redis.
"""

import asyncio
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from websockets.asyncio.client import connect

from chat.conversations.groups import conversation_set_disappearing
from chat.models import ConversationMessage
from tests.plugins.conversations import send
from tests.plugins.servers import http_request
from tests.plugins.users import access_token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def message_due_in(conversation, sender, seconds: float) -> ConversationMessage:
    conversation_set_disappearing(conversation_id=conversation.id, user=sender, seconds=3600)
    message = send(conversation, sender, "this will disappear")
    ConversationMessage.objects.filter(id=message.id).update(expires_at=timezone.now() + timedelta(seconds=seconds))
    return message


async def frame_of_type(ws, kind: str, timeout: float) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == kind:
                return frame


async def test_an_open_socket_is_told_when_a_message_disappears_and_history_keeps_a_tombstone(
    start_server, timed_work, alice, bob, direct
):
    server = start_server(CHAT_EXPIRY_INTERVAL_SECONDS="1")
    token = access_token(bob)
    async with connect(f"{server.ws}/ws/chat/{direct.id}/?token={token}") as ws:
        await frame_of_type(ws, "presence.state", 10)
        message = await asyncio.to_thread(message_due_in, direct, alice, 1)
        frame = await frame_of_type(ws, "chat.message.deleted", 15)
    assert (frame["id"], frame["seq"], frame["body"], frame["expired"]) == (str(message.id), message.seq, "", True)
    history = await asyncio.to_thread(
        http_request, f"{server.http}/api/chat/{direct.id}/messages/", headers={"Authorization": f"Bearer {token}"}
    )
    [tombstone] = [row for row in history.json() if row["id"] == str(message.id)]
    assert (tombstone["seq"], tombstone["body"], tombstone["expired"]) == (message.seq, "", True)


async def test_a_scheduled_message_reaches_open_sockets_at_its_time(start_server, timed_work, alice, bob, direct):
    server = start_server(CHAT_SCHEDULED_MAX_SLEEP_SECONDS="1")
    async with connect(f"{server.ws}/ws/chat/{direct.id}/?token={access_token(bob)}") as ws:
        await frame_of_type(ws, "presence.state", 10)
        send_at = timezone.now() + timedelta(seconds=2)
        scheduled = await asyncio.to_thread(
            http_request, f"{server.http}/api/chat/{direct.id}/scheduled/",
            data={"body": "stand-up in five", "send_at": send_at.isoformat()},
            headers={"Authorization": f"Bearer {access_token(alice)}"},
        )
        assert scheduled.status == 201, scheduled.body
        frame = await frame_of_type(ws, "chat.message", 15)
    assert (frame["body"], frame["created_by"]["id"]) == ("stand-up in five", str(alice.id))
    assert timezone.now() >= send_at, "not before its time"
