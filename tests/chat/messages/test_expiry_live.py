"""
Disappearing messages end to end: a real server, a real socket, the message
gone at its time. In the embedded configuration the server expires messages
itself (TIMED_WORK_IN_SERVER); with Redis, ``manage.py expire_messages
--loop`` is a process of its own, as the compose stack runs it, and its
frames reach the server's sockets through Redis.
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
    start_server, expiry_loop, alice, bob, direct
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
