"""
The socket protocol as data: the AsyncAPI document at /api/asyncapi/ is
built from the parsers and profiles, the AsyncAPI project's parser accepts
it, its examples match their schemas, and every frame type it lists is one
the code really sends (each frame any test sees is checked against it too:
tests/protocol.py).
"""

import json
import os
import shutil
import subprocess
import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from chat.messages.scheduled_runner import scheduled_send_due
from chat.realtime.announcer import PresenceAnnouncer
from chat.realtime.delivery_flush import process_deliveries
from chat.sockets.base import Consumer
from chat.realtime import commands
from chat.realtime.asyncapi import CHANNELS, _channel_key, document, frame_types
from core.errors import InvalidInput
from tests import ROOT
from tests.plugins.sockets import notifications, receive, room
from tests.plugins.users import access_token
from tests.protocol import FrameChecker, channel_of

pytestmark = pytest.mark.django_db(transaction=True)

VALIDATOR = ROOT / "scripts" / "asyncapi"
PARSERS = {"room": commands.parse_room_frame, "originalRoom": commands.parse_room_frame,
           "notifications": commands.parse_notifications_frame}


@pytest.fixture(scope="module")
def spec():
    return document()


@pytest.fixture(scope="module")
def checker(spec):
    return FrameChecker(spec)


def test_the_document_is_served_with_the_server_clients_reach(client, settings):
    answer = client.get("/api/asyncapi/")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    served = answer.json()
    assert served["asyncapi"] == "3.0.0"
    assert (served["servers"]["chat"]["host"], served["servers"]["chat"]["protocol"]) == ("testserver", "ws")
    assert set(served["channels"]) == {"room", "originalRoom", "notifications"}
    assert served["channels"]["room"]["address"] == "/ws/chat/{conversation_id}/"
    assert set(served["channels"]["room"]["bindings"]["ws"]["query"]["properties"]) == {"token", "after"}
    assert set(served["channels"]["notifications"]["bindings"]["ws"]["query"]["properties"]) == {"token"}
    schemes = served["components"]["securitySchemes"]
    assert schemes["accessToken"] == {**schemes["accessToken"], "type": "httpApiKey", "name": "token", "in": "query"}
    assert schemes["bearer"]["scheme"] == "bearer"
    # Each frame is a named schema (code generators name their types after them).
    assert served["components"]["messages"]["chatMessage"]["payload"] == {"$ref": "#/components/schemas/ChatMessageFrame"}

    settings.PUBLIC_BASE_URL = "https://chat.example.com"
    assert client.get("/api/asyncapi/").json()["servers"]["chat"]["host"] == "chat.example.com"
    assert client.get("/api/asyncapi/").json()["servers"]["chat"]["protocol"] == "wss"
    assert client.post("/api/asyncapi/").status_code == 405


def test_the_asyncapi_parser_accepts_the_document(spec, tmp_path):
    node = shutil.which("node")
    if node is None or not (VALIDATOR / "node_modules" / "@asyncapi" / "parser").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must validate the AsyncAPI document: run `npm ci --prefix scripts/asyncapi`.")
        pytest.skip("needs Node.js and `npm ci --prefix scripts/asyncapi`")
    path = tmp_path / "asyncapi.json"

    def validate(data) -> subprocess.CompletedProcess:
        path.write_text(json.dumps(data))
        return subprocess.run([node, "validate.mjs", str(path)], cwd=VALIDATOR, capture_output=True, text=True,
                              timeout=60)

    result = validate(spec)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid: 3 channels" in result.stdout
    # The validator does fail: an operation sending a message its channel lacks.
    broken = json.loads(json.dumps(spec))
    broken["operations"]["roomClientFrames"]["messages"].append({"$ref": "#/channels/notifications/messages/unread"})
    assert validate(broken).returncode == 1


def test_each_channel_documents_exactly_the_frames_its_parser_accepts():
    assert set(frame_types("room", "client")) == set(commands.ROOM_FRAME_TYPES) | {commands.LEGACY_EVENT}
    assert set(frame_types("originalRoom", "client")) == set(commands.ROOM_FRAME_TYPES) | {commands.LEGACY_EVENT}
    assert set(frame_types("notifications", "client")) == set(commands.NOTIFICATIONS_FRAME_TYPES)


def test_a_frame_type_without_a_schema_fails_the_build(monkeypatch):
    monkeypatch.setitem(CHANNELS["room"], "client", {**CHANNELS["room"]["client"], "message.pin": "message.pin"})
    with pytest.raises(LookupError, match="message.pin"):
        document()


def test_every_example_matches_its_schema(spec, checker):
    for channel, data in spec["channels"].items():
        for key in data["messages"]:
            message = spec["components"]["messages"][key]
            side = "client" if key in {_channel_key(name) for name in frame_types(channel, "client").values()} else "server"
            for example in message["examples"]:
                assert checker.errors(channel, side, example["payload"]) == [], (channel, key)


def test_client_examples_parse_as_commands(spec):
    for channel, data in spec["channels"].items():
        for key in frame_types(channel, "client").values():
            for example in spec["components"]["messages"][_channel_key(key)]["examples"]:
                command = PARSERS[channel](example["payload"])
                assert command.handler.startswith("on_"), (channel, key)


@pytest.mark.parametrize(
    "channel, frame",
    [
        ("room", {"type": "sync"}),
        ("room", {"type": "sync", "after": -1}),
        ("room", {"type": "read", "seq": "3"}),
        ("room", {"type": "read", "seq": True}),
        ("room", {"type": "message.pin"}),
        ("room", {"event": "chat_message", "data": "hello"}),
        ("notifications", {"type": "sync", "conversations": []}),
        ("notifications", {"type": "typing"}),
        ("room", {"body": "hello"}),
    ],
    ids=repr,
)
def test_frames_off_the_document_are_refused_by_the_parser(checker, channel, frame):
    assert checker.errors(channel, "client", frame) != []
    with pytest.raises(InvalidInput):
        PARSERS[channel](frame)


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "message.send", "body": "   "},
        {"type": "message.send", "body": "", "attachment_ids": []},
        {"type": "message.send", "body": "hi", "reply_to": "not-a-uuid"},
        {"type": "reaction.add", "message_id": "9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a11"},
        {"type": "message.send", "body": "x", "client_id": 5},
        {"type": "message.send", "event": "chat_message", "data": {"body": "hi"}, "body": ""},
        {"event": "chat_message", "data": {}},
    ],
    ids=repr,
)
def test_client_frames_the_service_refuses_are_off_the_document(checker, frame):
    assert checker.errors("room", "client", frame) != []


def test_client_frames_the_server_takes_are_on_the_document(checker):
    for frame in (
        {"type": "message.send", "body": "hi", "client_id": None},
        {"type": "message.send", "body": "hi", "unknown": "ignored"},
        {"type": "message.send", "attachment_ids": ["9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a11"]},
        {"type": "message.send", "body": "", "attachment_ids": ["9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a11"],
         "reply_to": "9a3e5d52-8f0c-4a55-9d1e-3b6f3f0b2a12"},
        {"event": "chat_message", "data": {"body": "hi", "name": "A", "sent_to_id": "x", "conversation_id": "y"}},
    ):
        assert checker.errors("room", "client", frame) == [], frame


def test_the_checker_catches_frames_off_the_document(checker):
    good = {"type": "chat.read", "user_id": "7d8e9f00-1a2b-4c3d-9e4f-5a6b7c8d9e0f", "seq": 4}
    assert checker.errors("room", "server", good) == []
    assert checker.errors("room", "server", {**good, "seq": "4"}) != []
    assert checker.errors("room", "server", {**good, "user_id": "Bob"}) != [], "formats are checked"
    assert checker.errors("room", "server", {**good, "extra": 1}) != [], "undocumented keys are caught"
    assert checker.errors("notifications", "server", good) != [], "chat.read is not a notifications frame"
    assert checker.errors("originalRoom", "server", {"type": "error", "code": "x", "detail": "y"}) != [], (
        "the original client's errors carry name and body"
    )


class _Recorder:
    """The frames consumers send during one test, by channel."""

    def __init__(self, monkeypatch):
        self.sent: dict[str, list[dict]] = {}
        inner = Consumer.send

        async def send(consumer, text_data=None, bytes_data=None, close=False):
            if text_data is not None:
                self.sent.setdefault(channel_of(consumer), []).append(json.loads(text_data))
            await inner(consumer, text_data=text_data, bytes_data=bytes_data, close=close)

        monkeypatch.setattr(Consumer, "send", send)

    def types(self, channel: str) -> set[str]:
        return {frame["type"] for frame in self.sent.get(channel, [])}


async def _next_of(ws, kind: str) -> dict:
    """The next frame of type ``kind``, passing over others."""
    while True:
        frame = await receive(ws, skip=set())
        if frame["type"] == kind:
            return frame


async def test_the_code_sends_every_server_frame_the_document_lists(monkeypatch, client_for, make_user, alice, bob, direct):
    recorder = _Recorder(monkeypatch)
    fresh = str(AccessToken.for_user(alice))
    async with notifications(bob) as feed, room(direct, bob) as bobs_room:
        await _next_of(bobs_room, "presence.state")
        async with room(direct, alice) as ws:
            await _next_of(feed, "presence")  # Alice came online
            await ws.send_json_to({"type": "message.send", "body": "hi", "client_id": "c1"})
            sent = await _next_of(ws, "chat.message")
            await _next_of(feed, "notification")
            await ws.send_json_to({"type": "typing"})
            await _next_of(bobs_room, "chat.typing")
            await bobs_room.send_json_to({"type": "read", "seq": 1})
            await _next_of(ws, "chat.read")
            await _next_of(feed, "unread")
            await process_deliveries().flush()
            await _next_of(ws, "chat.delivered")
            await bobs_room.send_json_to({"type": "reaction.add", "message_id": sent["id"], "emoji": "\U0001f44d"})
            await _next_of(ws, "chat.reaction")
            await bobs_room.send_json_to({"type": "message.send", "body": "in a thread", "thread_id": sent["id"]})
            await _next_of(ws, "chat.thread.updated")
            unfollowed = await _async(
                client_for(bob).delete, f"/api/chat/{direct.id}/messages/{sent['id']}/thread/follow/"
            )
            assert unfollowed.status_code == 200
            await _next_of(bobs_room, "thread.state")
            await _next_of(feed, "thread.state")
            pinned = await _async(client_for(bob).post, f"/api/chat/{direct.id}/messages/{sent['id']}/pin/")
            assert pinned.status_code == 200
            await _next_of(ws, "chat.pinned")
            unpinned = await _async(client_for(bob).delete, f"/api/chat/{direct.id}/messages/{sent['id']}/pin/")
            assert unpinned.status_code == 200
            await _next_of(ws, "chat.unpinned")
            await ws.send_json_to({"type": "message.edit", "message_id": sent["id"], "body": "hello"})
            await _next_of(ws, "chat.message.updated")
            await _next_of(feed, "chat.message.updated")
            status = await _async(client_for(alice).put, "/api/auth/me/status/", {"text": "Away"}, format="json")
            assert status.status_code == 200
            for socket in (ws, bobs_room, feed):
                await _next_of(socket, "user.status")
            draft = await _async(client_for(bob).put, f"/api/chat/{direct.id}/draft/", {"body": "so"}, format="json")
            assert draft.status_code == 200
            for socket in (bobs_room, feed):
                await _next_of(socket, "draft.updated")
            later = (timezone.now() + timedelta(hours=1)).isoformat()
            scheduled = await _async(client_for(bob).post, f"/api/chat/{direct.id}/scheduled/",
                                     {"body": "later", "send_at": later}, format="json")
            assert scheduled.status_code == 201
            await ws.send_json_to({"type": "message.delete", "message_id": sent["id"]})
            await _next_of(ws, "chat.message.deleted")
            await _next_of(feed, "chat.message.deleted")
            for socket in (ws, feed):
                await socket.send_json_to({"type": "auth", "token": fresh if socket is ws else access_token(bob)})
                await _next_of(socket, "auth.ok")
                await socket.send_json_to({"type": "ping"})
                await _next_of(socket, "pong")
                await socket.send_to(text_data="not json")
                await _next_of(socket, "error")
            await ws.send_json_to({"type": "sync", "after": 0})
            await _next_of(ws, "sync.done")
            await feed.send_json_to({"type": "sync", "conversations": {}})
            await _next_of(feed, "sync.result")
        await _next_of(bobs_room, "presence")  # Alice went offline
        # A burst: the announcer sends the changes after the first as one frame.
        announcer, someone = PresenceAnnouncer(window=60), str(uuid.uuid4())
        await announcer.announce(someone, online=False, conversation_ids=[direct.id])
        await announcer.announce(str(alice.id), online=True, conversation_ids=[direct.id])
        await announcer.announce(someone, online=True, conversation_ids=[direct.id])
        await announcer.flush()
        assert (await _next_of(bobs_room, "presence.changes"))["online"] == [str(alice.id), someone]
        assert (await _next_of(feed, "presence.changes"))["online"] == [str(alice.id), someone]
        started = await _async(client_for(alice).post, "/api/chat/", {"user_ids": [str(bob.id)], "title": "T"},
                               format="json")
        assert started.status_code == 201
        await _next_of(feed, "conversation.created")
        group = started.json()["id"]
        renamed = await _async(client_for(alice).patch, f"/api/chat/{group}/", {"title": "Trip"}, format="json")
        assert renamed.status_code == 200
        await _next_of(feed, "conversation.updated")
        promoted = await _async(client_for(alice).patch, f"/api/chat/{group}/members/{bob.id}/", {"role": "admin"},
                                format="json")
        assert promoted.status_code == 200
        invite = await _async(client_for(alice).post, f"/api/chat/{group}/invites/", {"approval": True}, format="json")
        dave = await _async(make_user, "Dave")
        asking = await _async(client_for(dave).post, f"/api/chat/invites/{invite.json()['token']}/join/")
        assert asking.json()["status"] == "pending"
        await _next_of(feed, "conversation.join_requested")
        async with room(direct, alice, original=True) as legacy:
            await legacy.send_json_to({"event": "chat_message", "data": {"body": "old style"}})
            await _next_of(legacy, "chat.message")
            await legacy.send_json_to({"type": "ping"})
            await _next_of(legacy, "pong")
            await legacy.send_json_to({"type": "sync", "after": 0})
            await _next_of(legacy, "sync.done")
            await legacy.send_to(text_data="not json")
            await _next_of(legacy, "error")
        muted = await _async(client_for(bob).put, f"/api/chat/{group}/mute/", {"until": None}, format="json")
        assert muted.status_code == 200
        await _next_of(feed, "conversation.muted")
        level = await _async(client_for(bob).put, f"/api/chat/{group}/notifications/", {"level": "mentions"},
                             format="json")
        assert level.status_code == 200
        await _next_of(feed, "conversation.notifications")
        blocked = await _async(client_for(bob).post, "/api/auth/blocks/", {"user_id": str(alice.id)}, format="json")
        assert blocked.status_code == 201
        await _next_of(feed, "block.updated")
        monkeypatch.setattr("chat.exports.services.export_enqueue", lambda *, export_id: None)  # built here
        asked = await _async(client_for(bob).post, "/api/auth/export/")
        assert asked.status_code == 202
        from chat.exports.services import export_build

        await _async(export_build, export_id=asked.json()["id"])
        await _next_of(feed, "export.updated")
        # Bob's scheduled message falls due after he blocked Alice: refused, and he is told.
        assert await _async(scheduled_send_due, now=timezone.now() + timedelta(hours=2)) == 0
        await _next_of(feed, "scheduled.failed")
    for channel in CHANNELS:
        assert recorder.types(channel) == set(frame_types(channel, "server")), channel


async def _async(function, *args, **kwargs):
    return await database_sync_to_async(function)(*args, **kwargs)
