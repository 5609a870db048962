"""Client profiles: the one place that decides which events a client gets."""

import pytest

from chat.realtime.profiles import NOTIFICATIONS, ORIGINAL, RICH

ME, OTHER = "me", "other"

EVENTS = {
    "message": {"type": "chat.message", "sender_id": OTHER},
    "own-message": {"type": "chat.message", "sender_id": ME},
    "edit": {"type": "chat.message.updated"},
    "delete": {"type": "chat.message.deleted"},
    "read": {"type": "chat.read"},
    "typing": {"type": "chat.typing", "user_id": OTHER},
    "own-typing": {"type": "chat.typing", "user_id": ME},
    "presence": {"type": "presence", "user_id": OTHER},
    "own-presence": {"type": "presence", "user_id": ME},
    "unread": {"type": "unread"},
    "conversation-created": {"type": "conversation.created"},
    "thread-state": {"type": "thread.state", "conversation_id": "c"},
    # A status comes from the conversations' groups, and one's own also from one's group, marked own.
    "status": {"type": "user.status", "user_id": OTHER, "own": False},
    "own-status-from-a-conversation": {"type": "user.status", "user_id": ME, "own": False},
    "own-status-from-own-group": {"type": "user.status", "user_id": ME, "own": True},
    "draft": {"type": "draft.updated"},
    "scheduled-failed": {"type": "scheduled.failed"},
}

EXPECTED = {
    "rich": {"message", "own-message", "edit", "delete", "read", "typing", "presence", "own-presence", "thread-state",
             "status", "own-status-from-own-group", "draft"},
    "original": {"message", "own-message"},
    "notifications": {"message", "edit", "delete", "presence", "unread", "conversation-created", "thread-state",
                      "status", "own-status-from-own-group", "draft", "scheduled-failed"},
}


@pytest.mark.parametrize("profile", [RICH, ORIGINAL, NOTIFICATIONS], ids=lambda p: p.name)
def test_each_profile_accepts_exactly_its_events(profile):
    accepted = {name for name, event in EVENTS.items() if profile.accepts(event, viewer_id=ME)}
    assert accepted == EXPECTED[profile.name]


def test_only_rich_room_clients_follow_the_room_group_and_presence():
    assert (RICH.follows_room, RICH.sees_presence) == (True, True)
    assert (ORIGINAL.follows_room, ORIGINAL.sees_presence) == (False, False)
    assert NOTIFICATIONS.follows_room is False
