"""Per-socket sessions: seq cursor, gap filling, presence views; driven with plain functions."""

import json

import pytest

from chat.realtime import profiles
from chat.realtime.session import (
    ContactPresence,
    DeliveryCursor,
    NotificationsSession,
    RoomPresence,
    RoomSession,
)
from tests.plugins.clocks import FakeClock

ME, ANN, BEN = "me", "ann", "ben"


def message_event(seq: int, sender: str = ANN) -> dict:
    return {"type": "chat.message", "conversation_id": "c1", "seq": seq, "sender_id": sender, "text": f"m{seq}",
            "notification": f"n{seq}"}


class History:
    """A conversation's stored messages 1..last, served a page at a time like the database."""

    def __init__(self, last: int, page: int = 2):
        self.last, self.page, self.calls = last, page, []

    async def fetch(self, after: int, before: int | None):
        self.calls.append((after, before))
        top = self.last if before is None else min(self.last, before - 1)
        return [(seq, f"m{seq}") for seq in range(after + 1, top + 1)][: self.page]


def room_session(*, delivered=0, history=None, profile=profiles.RICH, clock=None, members=(ME, ANN, BEN), hidden=()):
    sent: list[str] = []

    async def send(text):
        sent.append(text)

    session = RoomSession(
        profile=profile, viewer_id=ME, member_ids=list(members), delivered=delivered,
        send=send, fetch=(history or History(delivered)).fetch, clock=clock or FakeClock(), hidden=hidden,
    )
    return session, sent


# --- DeliveryCursor -------------------------------------------------------------------


def test_cursor_skips_repeats_and_names_the_gap():
    cursor = DeliveryCursor(delivered=5)
    assert cursor.missing_before(5) is None
    assert cursor.missing_before(3) is None
    assert cursor.missing_before(6) == range(6, 6)
    assert list(cursor.missing_before(9)) == [6, 7, 8]


def test_cursor_never_moves_back():
    cursor = DeliveryCursor(delivered=5)
    cursor.advance(3)
    assert cursor.delivered == 5
    cursor.advance(8)
    assert cursor.delivered == 8


# --- RoomSession: messages --------------------------------------------------------------


async def test_next_message_is_sent_as_is_without_a_fetch():
    history = History(1)
    session, sent = room_session(delivered=1, history=history)
    await session.message(message_event(2))
    assert sent == ["m2"]
    assert history.calls == []
    assert session.cursor.delivered == 2


async def test_repeated_message_is_sent_once():
    session, sent = room_session()
    for seq in (1, 1, 2, 1, 2):
        await session.message(message_event(seq))
    assert sent == ["m1", "m2"]


async def test_gap_is_filled_from_history_in_pages_before_the_new_message():
    history = History(last=7, page=2)
    session, sent = room_session(delivered=1, history=history)
    await session.message(message_event(7))
    assert sent == ["m2", "m3", "m4", "m5", "m6", "m7"]
    assert history.calls == [(1, 7), (3, 7), (5, 7), (6, 7)]
    await session.message(message_event(5))
    assert sent[-1] == "m7", "a late event for a filled seq is skipped"


async def test_catch_up_sends_everything_after_and_moves_the_cursor():
    session, sent = room_session(delivered=0, history=History(last=5, page=2))
    await session.catch_up(2)
    assert sent == ["m3", "m4", "m5"]
    assert session.cursor.delivered == 5
    await session.message(message_event(4))
    assert sent == ["m3", "m4", "m5"]


class Summaries:
    """Roots at ``root_seqs`` whose threads got replies since any ``after``, served a page at a time."""

    def __init__(self, root_seqs, page: int = 2):
        self.root_seqs, self.page, self.calls = sorted(root_seqs), page, []

    async def fetch(self, after: int, above: int):
        self.calls.append((after, above))
        return [(seq, f"t{seq}") for seq in self.root_seqs if above < seq <= after][: self.page]


def resuming_session(*, profile=profiles.RICH, delivered=0, last=8, roots=(1, 2, 4)):
    sent: list[str] = []

    async def send(text):
        sent.append(text)

    summaries = Summaries(roots)
    session = RoomSession(
        profile=profile, viewer_id=ME, member_ids=[ME, ANN], delivered=delivered, send=send,
        fetch=History(last, page=10).fetch, clock=FakeClock(), fetch_summaries=summaries.fetch,
    )
    return session, sent, summaries


async def test_resuming_sends_the_messages_then_the_older_roots_summaries_a_page_at_a_time():
    session, sent, summaries = resuming_session()
    await session.resume(5)
    assert sent == ["m6", "m7", "m8", "t1", "t2", "t4"]
    assert summaries.calls == [(5, 0), (5, 2), (5, 4)]


@pytest.mark.parametrize("profile, delivered, last", [
    (profiles.ORIGINAL, 0, 8),  # the original client takes no summaries
    (profiles.RICH, 8, 8),  # nothing after the seq: no reply could have changed a summary
])
async def test_resuming_sends_no_summaries_to_a_client_that_takes_none_or_when_nothing_is_new(profile, delivered, last):
    session, sent, summaries = resuming_session(profile=profile, delivered=delivered, last=last)
    await session.resume(8 if delivered else 5)
    assert [text for text in sent if text.startswith("t")] == []
    assert summaries.calls == []


async def test_catch_up_past_the_newest_seq_sends_nothing_and_keeps_the_cursor():
    session, sent = room_session(delivered=3, history=History(last=3))
    await session.catch_up(100)
    assert (sent, session.cursor.delivered) == ([], 3)
    await session.message(message_event(4))
    assert sent == ["m4"]


# --- RoomSession: other events and presence -------------------------------------------------


@pytest.mark.parametrize(
    "event, rich, original",
    [
        ({"type": "chat.message.updated", "text": "u"}, True, False),
        ({"type": "chat.read", "user_id": ANN, "shared": True, "text": "r"}, True, False),
        ({"type": "chat.delivered", "conversation_id": "c", "text": "d"}, True, False),
        ({"type": "chat.typing", "user_id": ANN, "text": "t"}, True, False),
        ({"type": "chat.typing", "user_id": ME, "text": "t"}, False, False),
        ({"type": "presence", "user_id": ANN, "online": True, "text": "p"}, True, False),
        ({"type": "thread.state", "conversation_id": "c", "text": "s"}, True, False),
    ],
    ids=["edit", "read", "delivered", "typing", "own-typing", "presence", "thread-state"],
)
async def test_events_reach_the_clients_whose_profile_accepts_them(event, rich, original):
    for profile, expected in ((profiles.RICH, rich), (profiles.ORIGINAL, original)):
        session, sent = room_session(profile=profile)
        await session.event(event)
        assert sent == ([event["text"]] if expected else []), profile.name


async def test_presence_state_lists_online_members_only_for_rich_clients():
    session, sent = room_session()
    await session.presence_state({ANN, "stranger"})
    assert json.loads(sent[0]) == {"type": "presence.state", "online": [ANN]}
    original, original_sent = room_session(profile=profiles.ORIGINAL)
    await original.presence_state({ANN})
    assert original_sent == []
    assert original.watched_user_ids == ()


async def test_heartbeat_snapshot_reports_unannounced_changes_once():
    clock = FakeClock()
    session, sent = room_session(clock=clock)
    await session.presence_state({ANN})
    await session.presence_snapshot({BEN}, taken_at=clock())
    assert [json.loads(frame) for frame in sent[1:]] == [
        {"type": "presence", "user_id": ANN, "online": False},
        {"type": "presence", "user_id": BEN, "online": True},
    ]
    await session.presence_snapshot({BEN}, taken_at=clock())
    assert len(sent) == 3, "nothing changed since"


def test_announcement_newer_than_the_snapshot_wins():
    clock = FakeClock()
    view = RoomPresence([ANN, BEN], clock=clock)
    view.start(set())
    taken_at = clock()
    clock.advance(1)
    view.announce(ANN, True)  # after the snapshot was taken
    assert view.reconcile(set(), taken_at) == []
    assert view.online == {ANN}
    clock.advance(1)
    assert view.reconcile(set(), clock()) == [(ANN, False)], "a later snapshot applies"


async def test_a_hidden_member_is_shown_neither_typing_nor_presence():
    clock = FakeClock()
    session, sent = room_session(clock=clock, members=(ME, ANN), hidden=[ANN])
    assert session.watched_user_ids == (ME,)
    await session.presence_state({ME, ANN})
    assert json.loads(sent[0]) == {"type": "presence.state", "online": [ME]}
    await session.event({"type": "chat.typing", "user_id": ANN, "text": "ann-typing"})
    await session.event({"type": "presence", "user_id": ANN, "online": False, "text": "ann-off"})
    await session.presence_snapshot({ME}, taken_at=clock())
    await session.event({"type": "chat.message.updated", "conversation_id": "c1", "text": "edit"})
    assert sent[1:] == ["edit"], "messages still come; typing and presence do not"


async def test_a_block_made_hides_the_other_as_offline_and_one_lifted_shows_them_again():
    clock = FakeClock()
    session, sent = room_session(clock=clock, members=(ME, ANN))
    await session.presence_state({ME, ANN})
    await session.block_changed([ANN, ME], closed=True)
    assert json.loads(sent[-1]) == {"type": "presence", "user_id": ANN, "online": False}
    await session.block_changed([ANN, ME], closed=True)
    await session.event({"type": "chat.typing", "user_id": ANN, "text": "ann-typing"})
    await session.presence_snapshot({ME, ANN}, taken_at=clock())
    assert len(sent) == 2, "told once, then nothing of them"
    await session.block_changed([ANN, ME], closed=False)
    await session.presence_snapshot({ME, ANN}, taken_at=clock())
    assert json.loads(sent[-1]) == {"type": "presence", "user_id": ANN, "online": True}, "the next heartbeat"
    await session.event({"type": "chat.typing", "user_id": ANN, "text": "ann-typing"})
    assert sent[-1] == "ann-typing"
    await session.block_changed(["stranger", ANN], closed=True)
    assert session.watched_user_ids == (ME, ANN), "a block between others changes nothing here"


def test_snapshot_ignores_users_who_are_not_members():
    view = RoomPresence([ANN])
    view.start(set())
    assert view.reconcile({"stranger"}, 0.0) == []


# --- Notifications ---------------------------------------------------------------------------


def test_contact_presence_reports_each_change_once():
    contacts = ContactPresence()
    assert contacts.changed(ANN, True) is True
    assert contacts.changed(ANN, True) is False
    assert contacts.changed(ANN, False) is True


async def test_notifications_session_sends_others_messages_as_notifications_and_presence_once():
    sent: list[str] = []

    async def send(text):
        sent.append(text)

    session = NotificationsSession(profile=profiles.NOTIFICATIONS, viewer_id=ME, send=send)
    await session.event(message_event(1, sender=ANN))
    await session.event(message_event(2, sender=ME))
    for _ in range(3):  # once per shared conversation
        await session.event({"type": "presence", "user_id": ANN, "online": True, "text": "ann-on"})
    await session.event({"type": "presence", "user_id": ME, "online": True, "text": "me-on"})
    await session.event({"type": "chat.typing", "user_id": ANN, "text": "typing"})
    await session.event({"type": "chat.read", "user_id": ANN, "shared": True, "text": "read"})
    await session.event({"type": "chat.delivered", "conversation_id": "c", "text": "delivered"})
    await session.event({"type": "unread", "text": "unread"})
    assert sent == ["n1", "ann-on", "unread"]


async def test_catch_up_waits_for_the_client_before_each_frame():
    """History goes out only as fast as the client takes it: one wait per frame."""
    waits = []
    sent: list[str] = []

    async def send(text):
        sent.append(text)

    async def drained():
        waits.append(len(sent))

    session = RoomSession(
        profile=profiles.RICH, viewer_id=ME, member_ids=[ME, ANN], delivered=0,
        send=send, fetch=History(5).fetch, drained=drained, clock=FakeClock(),
    )
    await session.catch_up(0)
    assert sent == ["m1", "m2", "m3", "m4", "m5"]
    assert waits == [0, 1, 2, 3, 4]
