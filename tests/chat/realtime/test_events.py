"""Event builders: a change becomes its frames once; groups are built from ids only."""

import json
import uuid
from datetime import datetime, timezone

import pytest

from chat.models import ConversationMessage
from chat.realtime import events
from chat.realtime.groups import conversation_group, room_group, user_group
from useraccount.models import User


def unsaved_message(**fields) -> ConversationMessage:
    author = User(id=uuid.uuid4(), email="ann@example.com", name="Ann")
    defaults = dict(
        id=uuid.uuid4(), conversation_id=uuid.uuid4(), seq=7, body="hi", created_by=author,
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), client_id="c1",
    )
    return ConversationMessage(**{**defaults, **fields})


def test_message_event_carries_the_room_frame_and_the_notification_frame():
    message = unsaved_message()
    event = events.message(message)
    assert (event["type"], event["seq"], event["sender_id"]) == ("chat.message", 7, str(message.created_by.id))
    room = json.loads(event["text"])
    assert room["type"] == "chat.message"
    assert (room["body"], room["name"], room["seq"], room["client_id"]) == ("hi", "Ann", 7, "c1")
    assert room["created_at"] == "2026-01-02T03:04:05Z"
    notification = json.loads(event["notification"])
    assert notification == {"type": "notification", "conversation_id": str(message.conversation_id),
                            "message": {k: v for k, v in room.items() if k not in ("type", "name")},
                            "mentioned": False}
    assert "mention_notification" not in event, "a message without mentions is serialised once for notifications"
    assert events.message_frame(message) == event["text"]


def test_changed_message_is_updated_or_deleted():
    assert events.message_changed(unsaved_message(edited_at=datetime.now(timezone.utc)))["type"] == (
        "chat.message.updated"
    )
    deleted = events.message_changed(unsaved_message(body="", deleted_at=datetime.now(timezone.utc)))
    assert deleted["type"] == "chat.message.deleted"
    assert json.loads(deleted["text"])["deleted"] is True


def test_small_events_carry_what_the_session_decides_on():
    assert events.typing(user_id="u", name="Ann") == {
        "type": "chat.typing", "user_id": "u", "text": '{"type":"chat.typing","user_id":"u","name":"Ann"}'
    }
    presence = events.presence(user_id="u", online=False)
    assert (presence["user_id"], presence["online"]) == ("u", False)
    assert json.loads(events.read(user_id="u", seq=3)["text"]) == {"type": "chat.read", "user_id": "u", "seq": 3}
    unread = json.loads(events.unread(conversation_id="c", unread_count=2, total=5)["text"])
    assert unread == {"type": "unread", "conversation_id": "c", "unread_count": 2, "total": 5}


def test_group_names_come_from_ids_only():
    conversation_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert conversation_group(conversation_id) == "conversation.12345678123456781234567812345678"
    assert room_group(str(conversation_id)) == "room.12345678123456781234567812345678"
    assert user_group(conversation_id).startswith("user.")
    with pytest.raises(ValueError):
        conversation_group("room; DROP")
