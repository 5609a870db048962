"""Who is notified of a message (chat.audience), and the two places that ask it: notifications sessions and pushes."""

import json
import uuid

import pytest
from django.utils import timezone

from chat.audience import notified
from chat.push.recipients import Member, push_recipients
from chat.realtime import profiles
from chat.realtime.session import NotificationsSession, QuietList

ME, ANN, BEN = "me", "ann", "ben"

CASES = [
    # user, sender, muted, blocks sender, followers -> notified
    ("a main-timeline message", ME, ANN, False, False, None, True),
    ("one's own message", ME, ME, False, False, None, False),
    ("a muted conversation", ME, ANN, True, False, None, False),
    ("a blocked sender", ME, ANN, False, True, None, False),
    ("a thread one follows", ME, ANN, False, False, {ME, ANN}, True),
    ("a thread one does not follow", ME, ANN, False, False, {ANN}, False),
    ("a followed thread, muted", ME, ANN, True, False, {ME}, False),
    ("a followed thread, blocked sender", ME, ANN, False, True, {ME}, False),
    ("one's own reply in a followed thread", ME, ME, False, False, {ME}, False),
]


@pytest.mark.parametrize("case,user,sender,muted,blocks,followers,expected", CASES, ids=[c[0] for c in CASES])
def test_who_is_notified(case, user, sender, muted, blocks, followers, expected):
    assert notified(user_id=user, sender_id=sender, muted=muted, blocks_sender=blocks, followers=followers) is expected


@pytest.mark.parametrize("case,user,sender,muted,blocks,followers,expected", CASES, ids=[c[0] for c in CASES])
def test_pushes_follow_the_same_rule(case, user, sender, muted, blocks, followers, expected):
    ids = {name: uuid.uuid5(uuid.NAMESPACE_OID, name) for name in (ME, ANN, BEN)}
    now = timezone.now()
    chosen = push_recipients(
        [Member(ids[user], muted=muted)], sender_id=ids[sender], online=set(), blocked_sender={ids[user]} if blocks else set(),
        now=now, followers=None if followers is None else {str(ids[name]) for name in followers},
    )
    assert chosen == ([ids[user]] if expected else [])


@pytest.mark.parametrize("case,user,sender,muted,blocks,followers,expected", CASES, ids=[c[0] for c in CASES])
async def test_notifications_sessions_follow_the_same_rule(case, user, sender, muted, blocks, followers, expected):
    sent = []

    async def send(text):
        sent.append(json.loads(text))

    quiet = QuietList(blocked={sender} if blocks else (), muted={"c1": None} if muted else None)
    session = NotificationsSession(profile=profiles.NOTIFICATIONS, viewer_id=user, send=send, quiet=quiet)
    event = {
        "type": "chat.message", "conversation_id": "c1", "seq": 1, "sender_id": sender, "text": "{}",
        "notification": json.dumps({"type": "notification"}),
    }
    if followers is not None:
        event["follower_ids"] = sorted(followers)
    await session.event(event)
    assert sent == ([{"type": "notification"}] if expected else [])
