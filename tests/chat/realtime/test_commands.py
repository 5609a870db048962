"""Frame parsing: every frame becomes its typed command, or the error code the client gets."""

import json

import pytest

from chat.realtime import commands
from core.errors import InvalidInput


def room(frame) -> object:
    return commands.parse_room_frame(commands.decode(json.dumps(frame)))


def notifications(frame) -> object:
    return commands.parse_notifications_frame(commands.decode(json.dumps(frame)))


def error_code(parse, frame) -> str:
    with pytest.raises(InvalidInput) as raised:
        parse(frame)
    return raised.value.code


@pytest.mark.parametrize(
    "frame, command",
    [
        ({"type": "message.send", "body": "hi", "client_id": "c1"}, commands.SendMessage("hi", "c1")),
        ({"type": "message.send", "body": "hi"}, commands.SendMessage("hi", None)),
        ({"type": "message.edit", "message_id": "m", "body": "b"}, commands.EditMessage("m", "b")),
        ({"type": "message.delete", "message_id": "m"}, commands.DeleteMessage("m")),
        ({"type": "sync", "after": 0}, commands.Sync(0)),
        ({"type": "read", "seq": 12}, commands.MarkRead(12)),
        ({"type": "read", "seq": 12, "thread_id": "t"}, commands.MarkRead(12, "t")),
        ({"type": "typing"}, commands.Typing()),
        ({"type": "ping"}, commands.Ping()),
        ({"type": "auth", "token": "t"}, commands.Authenticate("t")),
        ({"type": "auth"}, commands.Authenticate("")),
    ],
    ids=lambda value: value.get("type") if isinstance(value, dict) else "",
)
def test_room_frames_become_their_commands(frame, command):
    assert room(frame) == command


def test_original_clients_frame_is_a_send_of_its_body_and_client_id_only():
    frame = {"event": "chat_message", "data": {"body": "hi", "name": "Mallory", "sent_to_id": "x", "client_id": "c"}}
    assert room(frame) == commands.SendMessage("hi", "c")


@pytest.mark.parametrize("data", [None, "text", [1]])
def test_original_clients_frame_without_a_data_object_is_invalid_frame(data):
    assert error_code(room, {"event": "chat_message", "data": data}) == "invalid_frame"


@pytest.mark.parametrize(
    "text, code",
    [
        (None, "invalid_json"),
        ("{not json", "invalid_json"),
        ("[" * 5000 + "]" * 5000, "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('"text"', "invalid_frame"),
        ("{}", "unknown_type"),
        ('{"type": 5}', "unknown_type"),
        ('{"type": "launch.missiles"}', "unknown_type"),
    ],
    ids=["binary", "not-json", "deeply-nested", "array", "string", "no-type", "type-not-text", "unknown"],
)
def test_unusable_frames_get_their_error_code(text, code):
    with pytest.raises(InvalidInput) as raised:
        commands.parse_room_frame(commands.decode(text))
    assert raised.value.code == code


@pytest.mark.parametrize("value", ["2", -1, 1.5, True, None, [1]], ids=repr)
@pytest.mark.parametrize("kind, field", [("sync", "after"), ("read", "seq")])
def test_counters_must_be_whole_numbers(kind, field, value):
    assert error_code(room, {"type": kind, field: value}) == f"invalid_{field}"


def test_notifications_sync_maps_conversations_to_seqs():
    assert notifications({"type": "sync", "conversations": {"a": 3}}) == commands.SyncConversations({"a": 3})
    assert notifications({"type": "sync"}) == commands.SyncConversations({})


@pytest.mark.parametrize("conversations", [[1], "x", {"a": -1}, {"a": "3"}, {"a": True}], ids=repr)
def test_notifications_sync_with_bad_seqs_is_invalid_conversations(conversations):
    assert error_code(notifications, {"type": "sync", "conversations": conversations}) == "invalid_conversations"


@pytest.mark.parametrize("kind", ["message.send", "typing", "read", "message.edit"])
def test_room_frames_are_unknown_on_the_notifications_socket(kind):
    assert error_code(notifications, {"type": kind}) == "unknown_type"


def test_client_id_is_echoed_only_when_usable():
    assert commands.client_id_of({"client_id": "c1"}) == "c1"
    assert commands.client_id_of({"event": "chat_message", "data": {"client_id": "c2"}}) == "c2"
    assert commands.client_id_of({"client_id": ""}) is None
    assert commands.client_id_of({"client_id": 7}) is None


def test_every_command_names_a_handler():
    for command in (commands.SendMessage("b"), commands.Sync(1), commands.SyncConversations({}), commands.Ping()):
        assert command.handler.startswith("on_")
