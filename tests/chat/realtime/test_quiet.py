"""What a notifications socket stays quiet about: blocked senders and muted conversations (no database, fake clock)."""

import json

from chat.realtime import events, profiles
from useraccount import events as account_events
from chat.realtime.session import NotificationsSession, QuietList
from tests.plugins.clocks import FakeClock

ME, ANN, BEN = "viewer", "ann", "ben"
ROOM, OTHER_ROOM = "c1", "c2"


def message_event(*, sender: str = ANN, conversation: str = ROOM) -> dict:
    return {
        "type": "chat.message", "conversation_id": conversation, "seq": 1, "sender_id": sender,
        "text": "{}", "notification": json.dumps({"type": "notification", "from": sender, "in": conversation}),
    }


def session(quiet: QuietList):
    sent = []

    async def send(text):
        sent.append(json.loads(text))

    return NotificationsSession(profile=profiles.NOTIFICATIONS, viewer_id=ME, send=send, quiet=quiet), sent


def test_blocked_senders_and_muted_conversations_are_silenced():
    clock = FakeClock(1000.0)
    quiet = QuietList(blocked={BEN}, muted={OTHER_ROOM: None}, clock=clock)
    assert quiet.silences(message_event(sender=BEN))
    assert quiet.silences(message_event(conversation=OTHER_ROOM))
    assert not quiet.silences(message_event())


def test_a_mute_with_an_end_runs_out_by_the_clock():
    clock = FakeClock(1000.0)
    quiet = QuietList(muted={ROOM: 1060.0}, clock=clock)
    assert quiet.silences(message_event())
    clock.advance(59.9)
    assert quiet.silences(message_event())
    clock.advance(0.1)
    assert not quiet.silences(message_event())
    assert ROOM not in quiet.muted, "a mute that ran out is forgotten"


async def test_block_and_mute_events_change_what_the_session_sends_and_reach_the_client():
    clock = FakeClock(1000.0)
    feed, sent = session(QuietList(clock=clock))
    await feed.event(message_event())
    assert sent[-1]["from"] == ANN

    await feed.event(account_events.block_updated(user_id=ANN, blocked=True))
    assert sent[-1] == {"type": "block.updated", "user_id": ANN, "blocked": True}
    await feed.event(message_event())
    assert len(sent) == 2, "no notification from a blocked user"

    await feed.event(account_events.block_updated(user_id=ANN, blocked=False))
    await feed.event(message_event())
    assert sent[-1]["from"] == ANN

    muted = events.conversation_muted(conversation_id="00000000-0000-0000-0000-000000000001", muted=True,
                                      muted_until=None)
    await feed.event(muted)
    assert sent[-1]["type"] == "conversation.muted" and sent[-1]["muted_until"] is None
    count = len(sent)
    await feed.event(message_event(conversation="00000000-0000-0000-0000-000000000001"))
    assert len(sent) == count
    await feed.event(message_event(sender=BEN))
    assert sent[-1]["from"] == BEN, "other conversations still notify"
