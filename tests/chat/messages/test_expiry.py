"""
Disappearing messages and retention: expires_at at send time (both send
paths) and the expiry pass (chat.messages.expiry), with an explicit ``now``.
"""

from datetime import timedelta
from io import StringIO

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone

from chat.conversations.groups import conversation_set_disappearing
from chat.messages import expiry, send as send_module
from chat.messages.expiry import messages_expire, messages_expire_batch
from chat.messages.reactions import reaction_add
from chat.messages.serializers import is_expired, timestamp
from chat.models import Attachment, ConversationMessage, Reaction
from tests.factories import AttachmentFactory
from tests.plugins.conversations import send
from tests.plugins.sockets import assert_silent, open_socket, receive, room
from tests.plugins.users import access_token

pytestmark = pytest.mark.django_db(transaction=True)

HOUR = 3600


def with_timer(conversation, user, seconds=HOUR):
    conversation_set_disappearing(conversation_id=conversation.id, user=user, seconds=seconds)


def later(seconds=HOUR + 1):
    return timezone.now() + timedelta(seconds=seconds)


def timeline(conversation) -> list[ConversationMessage]:
    return list(ConversationMessage.objects.filter(conversation=conversation).order_by("seq"))


# --- expires_at, set when a message is sent


def test_a_message_sent_under_a_timer_expires_that_long_after_it_was_sent(alice, bob, direct):
    with_timer(direct, bob, 86400)
    message = send(direct, alice, "gone tomorrow")
    message.refresh_from_db()
    assert abs((message.expires_at - message.created_at).total_seconds() - 86400) < 1


@pytest.fixture
def service_sends(monkeypatch):
    """Every call of the transactional send (which the one-statement send on PostgreSQL must not need)."""
    calls = []
    service = send_module.message_send

    def counted(*args, **kwargs):
        calls.append(kwargs)
        return service(*args, **kwargs)

    monkeypatch.setattr(send_module, "message_send", counted)
    return calls


@pytest.mark.parametrize("seconds", [None, HOUR, 7776000])
async def test_a_socket_send_stores_the_same_expiry_on_either_send_path(alice, bob, direct, service_sends, seconds):
    """On PostgreSQL the one-statement send computes it in its statement; on SQLite the transactional send does."""
    if seconds:
        await database_sync_to_async(with_timer)(direct, bob, seconds)
    async with open_socket(f"/ws/chat/{direct.id}/", token=access_token(alice)) as ws:
        await ws.send_json_to({"type": "message.send", "body": "hello"})
        ack = await receive(ws)
    assert (service_sends == []) == (connection.vendor == "postgresql"), "PostgreSQL takes its one-statement send"
    saved = await database_sync_to_async(ConversationMessage.objects.get)(id=ack["id"])
    assert ack["expires_at"] == timestamp(saved.expires_at), "the frame says when it disappears"
    if seconds is None:
        assert saved.expires_at is None
    else:
        assert abs((saved.expires_at - saved.created_at).total_seconds() - seconds) < 1
        if connection.vendor == "postgresql":
            assert saved.expires_at - saved.created_at == timedelta(seconds=seconds), "one clock in one statement"


# --- The pass


def test_the_pass_tombstones_expired_messages_with_their_reactions_and_files(alice, bob, direct, attachment_files):
    keep = send(direct, alice, "sent before the timer")
    with_timer(direct, bob)
    upload = AttachmentFactory(conversation=direct, user=alice)
    path = attachment_files / upload.file.name
    assert path.exists()
    doomed = send(direct, alice, "with a file", attachment_ids=[str(upload.id)])
    reaction_add(conversation_id=direct.id, user=bob, message_id=doomed.id, emoji="\U0001f44d")
    assert messages_expire(now=later(HOUR - 60)) == 0, "not yet"
    assert messages_expire(now=later()) == 1
    doomed.refresh_from_db()
    assert (doomed.body, doomed.is_deleted, is_expired(doomed)) == ("", True, True)
    assert doomed.reaction_summary == [] and doomed.attachment_summary == []
    assert not Reaction.objects.filter(message=doomed).exists()
    assert not Attachment.objects.filter(id=upload.id).exists() and not path.exists()
    keep.refresh_from_db()
    assert (keep.body, keep.is_deleted) == ("sent before the timer", False)
    assert [message.seq for message in timeline(direct)] == [1, 2, 3], "seqs stay gapless: the tombstone keeps its seq"


def test_history_shows_the_tombstone_as_expired_and_a_second_pass_changes_nothing(client_for, alice, bob, direct):
    with_timer(direct, bob)
    send(direct, alice, "secret")
    moment = later()
    assert messages_expire(now=moment) == 1
    assert messages_expire(now=moment) == 0
    assert messages_expire(now=moment + timedelta(days=365)) == 0
    history = client_for(bob).get(f"/api/chat/{direct.id}/messages/").json()
    assert [(m["seq"], m["body"], m["deleted"], m["expired"], m["expires_at"]) for m in history] == [
        (1, history[0]["body"], False, False, None), (2, "", True, True, None)
    ], "a tombstone no longer says when it disappears"


@pytest.mark.parametrize("timer", [None, HOUR])
def test_a_user_deleted_message_is_not_marked_expired(client_for, alice, bob, direct, timer):
    if timer:
        with_timer(direct, bob, timer)
    message = send(direct, alice, "oops")
    assert client_for(alice).delete(f"/api/chat/{direct.id}/messages/{message.id}/").status_code == 200
    history = client_for(bob).get(f"/api/chat/{direct.id}/messages/").json()
    assert (history[-1]["deleted"], history[-1]["expired"]) == (True, False)
    assert messages_expire(now=later()) == 0, "a tombstone already"


def test_each_batch_holds_at_most_the_batch_size(alice, bob, direct, monkeypatch):
    with_timer(direct, bob)
    for n in range(5):
        send(direct, alice, f"m{n}")
    sizes = []
    tombstone = expiry.messages_tombstone

    def counted(messages, **kwargs):
        sizes.append(len(messages))
        return tombstone(messages, **kwargs)

    monkeypatch.setattr(expiry, "messages_tombstone", counted)
    assert messages_expire(now=later(), batch_size=2) == 5
    assert sizes == [2, 2, 1]
    assert ConversationMessage.objects.filter(conversation=direct, deleted_at__isnull=False).count() == 5


def test_the_batch_size_is_a_setting(settings, alice, bob, direct):
    settings.CHAT_EXPIRY_BATCH_SIZE = 2
    with_timer(direct, bob)
    for n in range(3):
        send(direct, alice, f"m{n}")
    assert messages_expire_batch(now=later(), limit=settings.CHAT_EXPIRY_BATCH_SIZE) == 2
    assert messages_expire(now=later()) == 1


async def test_room_sockets_are_told_with_a_deleted_frame_marked_expired(alice, bob, direct):
    await database_sync_to_async(with_timer)(direct, bob)
    message = await database_sync_to_async(send)(direct, alice, "soon gone")
    async with room(direct, bob, after=message.seq) as ws:
        assert await database_sync_to_async(messages_expire)(now=later()) == 1
        frame = await receive(ws)
        assert frame["type"] == "chat.message.deleted"
        assert (frame["id"], frame["seq"], frame["body"], frame["deleted"], frame["expired"]) == (
            str(message.id), message.seq, "", True, True
        )
        assert await database_sync_to_async(messages_expire)(now=later()) == 0
        await assert_silent(ws)


def test_the_pass_is_a_management_command(alice, bob, direct):
    with_timer(direct, bob)
    message = send(direct, alice, "bye")
    ConversationMessage.objects.filter(id=message.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    out = StringIO()
    call_command("expire_messages", stdout=out)
    assert out.getvalue().strip() == "Expired 1 message(s)."
    message.refresh_from_db()
    assert is_expired(message)


def test_the_command_loops_until_stopped_through_database_errors(monkeypatch):
    from chat.management.commands import expire_messages

    waits, passes = [], []

    class Stop:
        def __init__(self):
            self.stopped = False

        def is_set(self):
            return self.stopped

        def set(self):
            self.stopped = True

        def wait(self, seconds):
            waits.append(seconds)
            self.stopped = len(waits) == 3

    monkeypatch.setattr(expire_messages.threading, "Event", Stop)
    monkeypatch.setattr(expire_messages.signal, "signal", lambda *args: None)

    def expire(now):
        passes.append(1)
        if len(passes) == 1:
            raise OperationalError("the database is restarting")
        return 0

    monkeypatch.setattr(expire_messages, "messages_expire", expire)
    errors = StringIO()
    call_command("expire_messages", "--loop", "--interval", "7", stdout=StringIO(), stderr=errors)
    assert waits == [7, 7, 7] and len(passes) == 3
    assert "the database is restarting" in errors.getvalue()


# --- Retention


def age(message, days):
    ConversationMessage.objects.filter(id=message.id).update(created_at=timezone.now() - timedelta(days=days))


def test_retention_expires_every_old_message_whatever_the_timer(settings, client_for, alice, bob, group):
    settings.CHAT_MESSAGE_RETENTION_DAYS = 30
    client_for(alice).patch(f"/api/chat/{group.id}/", {"title": "Old name"}, format="json")
    notice = ConversationMessage.objects.get(conversation=group, kind="system")
    old, recent = send(group, bob, "old"), send(group, bob, "recent")
    age(old, 31), age(notice, 31), age(recent, 29)
    assert messages_expire() == 2
    old.refresh_from_db(), notice.refresh_from_db(), recent.refresh_from_db()
    assert (old.body, is_expired(old), recent.body, is_expired(recent)) == ("", True, "recent", False)
    # A system message names people and titles: its text and details go, its kind and action stay.
    assert (notice.body, notice.kind, notice.system, is_expired(notice)) == (
        "", "system", {"action": "renamed", "user_ids": []}, True
    )


def test_without_retention_old_messages_stay(settings, alice, bob, direct):
    settings.CHAT_MESSAGE_RETENTION_DAYS = 0
    message = send(direct, alice, "ancient")
    age(message, 3650)
    assert messages_expire() == 0


def test_retention_and_timers_share_the_batches(settings, alice, bob, direct):
    settings.CHAT_MESSAGE_RETENTION_DAYS = 1
    first = send(direct, alice, "old")
    age(first, 2)
    with_timer(direct, bob)
    send(direct, alice, "timed")
    assert messages_expire_batch(now=later(), limit=1) == 1
    assert messages_expire_batch(now=later(), limit=5) == 1
    assert ConversationMessage.objects.filter(conversation=direct, deleted_at__isnull=False).count() == 2


# --- Search


def search(client, q):
    return [m["body"] for m in client.get("/api/chat/search/", {"q": q}).json()]


def test_search_never_finds_an_expired_message_even_before_the_pass(settings, client_for, alice, bob, direct):
    send(direct, alice, "pineapple kept")
    with_timer(direct, bob)
    timed = send(direct, alice, "pineapple timed")
    assert sorted(search(client_for(bob), "pineapple")) == ["pineapple kept", "pineapple timed"]
    ConversationMessage.objects.filter(id=timed.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert search(client_for(bob), "pineapple") == ["pineapple kept"], "expired, not yet swept"
    messages_expire()
    assert search(client_for(bob), "pineapple") == ["pineapple kept"]
    settings.CHAT_MESSAGE_RETENTION_DAYS = 7
    age(ConversationMessage.objects.get(body="pineapple kept"), 8)
    assert search(client_for(bob), "pineapple") == [], "past retention, not yet swept"


def plan(query) -> str:
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(("EXPLAIN " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN ") + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_the_pass_reads_its_partial_indexes(settings, alice, direct):
    """
    20,000 messages that never expire and 20,000 old tombstones around a few
    expiring ones: each read of a batch must go through its partial index,
    not every message (SQLite and PostgreSQL alike).
    """
    settings.CHAT_MESSAGE_RETENTION_DAYS = 30
    with connection.cursor() as cursor:
        uuid = "gen_random_uuid()" if connection.vendor == "postgresql" else "lower(hex(randomblob(16)))"
        series = (
            "generate_series(1, 40000) AS s(n)" if connection.vendor == "postgresql" else
            "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 40000) SELECT n FROM s)"
        )
        cursor.execute(
            f"""
            INSERT INTO chat_conversationmessage
                (id, conversation_id, seq, body, created_by_id, client_id, created_at, deleted_at, expires_at, kind,
                 reaction_summary, attachment_summary)
            SELECT {uuid}, %s, n, 'm', %s, '', %s, CASE WHEN n <= 20000 THEN %s END,
                   CASE WHEN n %% 5000 = 1 AND n > 20000 THEN %s END, 'text', '[]', '[]'
            FROM {series}
            """,
            [direct.id.hex if connection.vendor == "sqlite" else direct.id,
             alice.id.hex if connection.vendor == "sqlite" else alice.id,
             timezone.now() - timedelta(days=400), timezone.now() - timedelta(days=400), timezone.now()],
        )
        cursor.execute("ANALYZE")
    now = later()
    live = ConversationMessage.objects.filter(deleted_at__isnull=True)
    timed = live.filter(expires_at__isnull=False, expires_at__lte=now).order_by("expires_at")[:500]
    aged = live.filter(created_at__lt=expiry.retention_cutoff(now)).order_by("created_at")[:500]
    assert "message_expiring" in plan(timed), plan(timed)
    assert "message_live_by_age" in plan(aged), plan(aged)


# --- When the next pass is due (core.timed wakes the runner then)


def test_the_next_expiry_is_the_earliest_timer_among_live_messages(alice, bob, direct, group):
    assert expiry.next_expiry() is None, "no timer: nothing will expire"
    with_timer(direct, bob), with_timer(group, alice, 86400)
    soon, later_one = send(direct, alice, "soon"), send(group, bob, "tomorrow")
    soon.refresh_from_db(), later_one.refresh_from_db()
    assert expiry.next_expiry() == soon.expires_at
    messages_expire(now=soon.expires_at)
    assert expiry.next_expiry() == later_one.expires_at, "a tombstone is never due again"


def test_with_retention_the_oldest_live_message_is_due_that_many_days_after_it_was_sent(settings, alice, bob, direct):
    settings.CHAT_MESSAGE_RETENTION_DAYS = 30
    old = send(direct, alice, "old")
    age(old, 29)
    old.refresh_from_db()
    assert expiry.next_expiry() == old.created_at + timedelta(days=30)


def test_the_timed_job_expires_what_is_due_and_says_what_is_next(alice, bob, direct):
    with_timer(direct, bob)
    first, second = send(direct, alice, "one"), send(direct, alice, "two")
    ConversationMessage.objects.filter(id=second.id).update(expires_at=later(2 * HOUR))
    second.refresh_from_db()
    assert expiry.messages_expire_due(later()) == second.expires_at
    first.refresh_from_db()
    assert is_expired(first)


def test_the_loop_wakes_when_the_next_message_is_due_not_at_the_interval(monkeypatch, alice, bob, direct):
    from chat.management.commands import expire_messages

    with_timer(direct, bob)
    message = send(direct, alice, "bye")
    ConversationMessage.objects.filter(id=message.id).update(expires_at=timezone.now() + timedelta(seconds=30))
    waits = []

    class Stop:
        def is_set(self):
            return bool(waits)

        def set(self):
            pass

        def wait(self, seconds):
            waits.append(seconds)

    monkeypatch.setattr(expire_messages.threading, "Event", Stop)
    monkeypatch.setattr(expire_messages.signal, "signal", lambda *args: None)
    call_command("expire_messages", "--loop", "--interval", "600", stdout=StringIO(), stderr=StringIO())
    assert 25 < waits[0] <= 31
