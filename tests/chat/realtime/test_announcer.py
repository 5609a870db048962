"""Presence announcements gathered during bursts (chat.realtime.announcer)."""

import asyncio
import uuid

import pytest

from chat.realtime.announcer import PresenceAnnouncer
from chat.realtime.groups import conversation_group
from chat.realtime.profiles import NOTIFICATIONS, RICH
from chat.realtime.session import NotificationsSession, RoomSession
from core.outages import REDIS


C1, C2 = str(uuid.uuid4()), str(uuid.uuid4())


class Published(list):
    """What an announcer published, as ``(group, event)``; ``arrived`` is set at each."""

    def __init__(self):
        super().__init__()
        self.arrived = asyncio.Event()

    async def __call__(self, group, event):
        self.append((group, event))
        self.arrived.set()


def frames(published):
    return [(group, {k: v for k, v in event.items() if k != "text"}) for group, event in published]


async def test_a_quiet_process_announces_at_once_and_a_burst_waits_for_the_window():
    published = Published()
    announcer = PresenceAnnouncer(window=60, publish=published)
    await announcer.announce("u1", online=True, conversation_ids=[C1, C2])
    assert frames(published) == [
        (conversation_group(C1), {"type": "presence", "user_id": "u1", "online": True}),
        (conversation_group(C2), {"type": "presence", "user_id": "u1", "online": True}),
    ]
    published.clear()
    await announcer.announce("u2", online=True, conversation_ids=[C1])
    await announcer.announce("u3", online=True, conversation_ids=[C1, C2])
    await announcer.announce("u2", online=False, conversation_ids=[C1])  # the last change of a user wins
    assert published == [], "within the window nothing goes out"
    await announcer.flush()
    assert frames(published) == [
        (conversation_group(C1), {"type": "presence.changes", "online": ["u3"], "offline": ["u2"]}),
        (conversation_group(C2), {"type": "presence", "user_id": "u3", "online": True}),
    ]


async def test_what_waited_goes_out_when_the_window_ends():
    published = Published()
    announcer = PresenceAnnouncer(window=0.05, publish=published)
    await announcer.announce("u1", online=True, conversation_ids=[C1])
    await announcer.announce("u2", online=True, conversation_ids=[C1])
    await announcer.announce("u3", online=True, conversation_ids=[C1])
    published.clear()
    published.arrived.clear()
    await asyncio.wait_for(published.arrived.wait(), 1)
    assert frames(published) == [(conversation_group(C1), {"type": "presence.changes", "online": ["u2", "u3"],
                                                              "offline": []})]


async def test_a_window_of_zero_announces_every_change_at_once():
    published = Published()
    announcer = PresenceAnnouncer(window=0, publish=published)
    for user in ("u1", "u2", "u3"):
        await announcer.announce(user, online=True, conversation_ids=[C1])
    assert [event["type"] for _, event in published] == ["presence"] * 3


async def test_an_announcement_redis_refuses_is_dropped_and_counted():
    from redis.exceptions import ConnectionError

    async def refused(group, event):
        raise ConnectionError("down")

    failures = REDIS.failures
    await PresenceAnnouncer(window=0, publish=refused).announce("u", online=True, conversation_ids=[C1, C2])
    assert REDIS.failures == failures + 1, "one failure, the rest of the announcement dropped"


@pytest.mark.parametrize("hidden, shown", [((), {"a", "b"}), (("b",), {"a"}), (("a", "b"), set())])
async def test_a_room_session_sends_the_changes_of_members_it_shows(hidden, shown):
    sent = []

    async def send(text):
        sent.append(text)

    session = RoomSession(profile=RICH, viewer_id="me", member_ids=["me", "a", "b"], delivered=0, send=send,
                          fetch=None, hidden=hidden)
    from chat.realtime import events

    await session.event(events.presence_changes([("a", True), ("b", True)]))
    assert session.presence.online == shown
    if len(shown) == 2:
        assert sent == [events.presence_changes([("a", True), ("b", True)])["text"]]
    elif shown:
        assert sent == [events.presence(user_id="a", online=True)["text"]]
    else:
        assert sent == []


async def test_a_notifications_session_sends_each_contact_change_once_and_never_its_own():
    from chat.realtime import events

    sent = []

    async def send(text):
        sent.append(text)

    session = NotificationsSession(profile=NOTIFICATIONS, viewer_id="me", send=send)
    await session.event(events.presence(user_id="a", online=True))
    await session.event(events.presence_changes([("a", True), ("b", True), ("me", True)]))
    assert sent[1:] == [events.presence(user_id="b", online=True)["text"]]
