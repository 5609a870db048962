"""The notifications session with mentions and notification levels (no database, fake clock)."""

import json

from chat.realtime import events, profiles
from chat.realtime.session import NotificationsSession, QuietList
from tests.plugins.clocks import FakeClock

ME, ANN, BEN = "viewer", "ann", "ben"
ROOM = "00000000-0000-0000-0000-000000000001"


def message_event(*, sender: str = ANN, mentioned=(), mentions_all=False, kind="chat.message") -> dict:
    event = {
        "type": kind, "conversation_id": ROOM, "seq": 1, "sender_id": sender, "text": "{}",
        "notification": json.dumps({"type": "notification", "mentioned": False}),
        "mentioned": list(mentioned), "mentions_all": mentions_all,
    }
    if mentioned or mentions_all:
        event["mention_notification"] = json.dumps({"type": "notification", "mentioned": True})
    if kind == "chat.mention":
        del event["notification"]
    return event


def session(quiet: QuietList):
    sent = []

    async def send(text):
        sent.append(json.loads(text))

    return NotificationsSession(profile=profiles.NOTIFICATIONS, viewer_id=ME, send=send, quiet=quiet), sent


async def test_a_mention_gets_through_a_mute_marked_as_one():
    feed, sent = session(QuietList(muted={ROOM: None}, clock=FakeClock(0.0)))
    await feed.event(message_event())
    await feed.event(message_event(mentioned=[BEN]))
    assert sent == []
    await feed.event(message_event(mentioned=[ME]))
    await feed.event(message_event(mentions_all=True))
    assert sent == [{"type": "notification", "mentioned": True}] * 2


async def test_levels_loaded_and_changed_by_event_decide_what_is_sent():
    feed, sent = session(QuietList(levels={ROOM: "mentions"}))
    await feed.event(message_event())
    assert sent == []
    await feed.event(message_event(mentioned=[ME]))
    assert sent[-1]["mentioned"] is True
    await feed.event(events.conversation_notifications(conversation_id=ROOM, level="none"))
    assert sent[-1] == {"type": "conversation.notifications", "conversation_id": ROOM, "level": "none"}
    count = len(sent)
    await feed.event(message_event(mentioned=[ME]))
    await feed.event(message_event(mentioned=[ME], kind="chat.mention"))
    assert len(sent) == count
    await feed.event(events.conversation_notifications(conversation_id=ROOM, level="all"))
    await feed.event(message_event())
    assert sent[-1] == {"type": "notification", "mentioned": False}


async def test_an_edits_mention_event_is_sent_to_the_mentioned_only_and_never_from_oneself():
    feed, sent = session(QuietList())
    await feed.event(message_event(mentioned=[BEN], kind="chat.mention"))
    assert sent == []
    await feed.event(message_event(mentioned=[ME], kind="chat.mention"))
    assert sent == [{"type": "notification", "mentioned": True}]
    await feed.event(message_event(sender=ME, mentioned=[ME], kind="chat.mention"))
    assert len(sent) == 1
