"""
Scheduled messages (chat.messages.scheduled, chat.messages.scheduled_runner):
made, listed, edited and cancelled over REST within their bounds; sent at
their time through the one send path, exactly once (two runners at once on
PostgreSQL), caught up after downtime, and marked failed (the author told on
their notifications socket) when the send is refused at its time.
"""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from chat.attachments.services import attachments_cleanup
from chat.conversations.drafts import draft_get, draft_save
from chat.conversations.groups import conversation_remove_member
from chat.messages.scheduled import scheduled_create
from chat.messages.scheduled_runner import (
    scheduled_next_due,
    scheduled_send_due,
    scheduled_send_one,
    scheduled_send_due_job,
)
from chat.models import Attachment, ConversationMessage, ScheduledMessage
from tests.factories import AttachmentFactory, BlockFactory
from tests.plugins.conversations import post_message
from tests.plugins.sockets import notifications, receive, room

pytestmark = pytest.mark.django_db(transaction=True)


def soon(minutes=5):
    return timezone.now() + timedelta(minutes=minutes)


def schedule(conversation, user, body="later", minutes=5, **fields):
    return scheduled_create(conversation_id=conversation.id, user=user, body=body, send_at=soon(minutes), **fields)


def post(client, conversation, **data):
    return client.post(f"/api/chat/{conversation.id}/scheduled/", data, format="json")


def messages(conversation):
    return list(ConversationMessage.objects.filter(conversation=conversation).order_by("seq"))


# --- Making, listing, changing and cancelling


def test_a_member_schedules_a_message_and_gets_it_back(client_for, alice, direct):
    send_at = soon(60)
    response = post(client_for(alice), direct, body="Stand-up!", send_at=send_at.isoformat(), metadata={"k": "v"})
    assert response.status_code == 201
    data = response.json()
    assert (data["body"], data["state"], data["metadata"], data["message_id"], data["failure"]) == (
        "Stand-up!", "pending", {"k": "v"}, None, None)
    assert data["conversation_id"] == str(direct.id)
    assert ScheduledMessage.objects.get(id=data["id"]).send_at == send_at
    assert messages(direct) == [], "nothing is sent before its time"


@pytest.mark.parametrize("offset, code", [
    (timedelta(minutes=-1), "send_at_past"),
    (timedelta(days=121), "send_at_too_far"),
])
def test_send_at_must_be_in_the_future_and_within_the_horizon(client_for, alice, direct, offset, code):
    response = post(client_for(alice), direct, body="x", send_at=(timezone.now() + offset).isoformat())
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert not ScheduledMessage.objects.exists()


def test_the_horizon_is_a_setting(client_for, alice, direct, settings):
    settings.CHAT_SCHEDULED_MAX_DAYS = 1
    response = post(client_for(alice), direct, body="x", send_at=(timezone.now() + timedelta(days=2)).isoformat())
    assert response.json()["code"] == "send_at_too_far"


def test_a_user_may_have_a_bounded_number_waiting(client_for, alice, direct, group, settings):
    settings.CHAT_SCHEDULED_MAX_PENDING = 2
    schedule(direct, alice)
    cancelled = schedule(group, alice)
    assert post(client_for(alice), group, body="x", send_at=soon().isoformat()).json()["code"] == "too_many_scheduled"
    client_for(alice).delete(f"/api/chat/scheduled/{cancelled.id}/")
    assert post(client_for(alice), group, body="x", send_at=soon().isoformat()).status_code == 201


def test_a_reply_or_thread_must_be_a_live_message_of_the_conversation(client_for, alice, direct, group):
    from tests.plugins.conversations import send

    here, elsewhere = send(direct, alice, "here"), send(group, alice, "elsewhere")
    later = soon().isoformat()
    ok = post(client_for(alice), direct, body="re", send_at=later, reply_to=str(here.id), thread_id=str(here.id))
    assert ok.status_code == 201 and ok.json()["reply_to"] == str(here.id)
    wrong = post(client_for(alice), direct, body="re", send_at=later, reply_to=str(elsewhere.id))
    assert wrong.json()["code"] == "invalid_reply_to"
    assert post(client_for(alice), direct, body="re", send_at=later, thread_id=str(elsewhere.id)).json()["code"] == (
        "invalid_thread")
    assert scheduled_send_due(now=soon(10)) == 1
    sent = ScheduledMessage.objects.get(id=ok.json()["id"]).message
    assert (sent.reply_to_id, sent.thread_root_id) == (here.id, here.id), "sent as the reply in the thread it was"


def test_what_a_send_refuses_is_refused_when_scheduling(client_for, alice, carol, direct):
    assert post(client_for(alice), direct, body="  ", send_at=soon().isoformat()).json()["code"] == "empty_body"
    big = {"blob": "x" * 5000}
    assert post(client_for(alice), direct, body="x", send_at=soon().isoformat(), metadata=big).json()["code"] == (
        "metadata_too_large")
    assert post(client_for(carol), direct, body="x", send_at=soon().isoformat()).status_code == 404


def test_the_list_is_the_callers_own_newest_first_paged_and_by_state(client_for, alice, bob, direct, group):
    first, second = schedule(direct, alice, "one"), schedule(group, alice, "two")
    schedule(direct, bob, "bob's")
    client_for(alice).delete(f"/api/chat/scheduled/{first.id}/")
    everything = client_for(alice).get("/api/chat/scheduled/")
    assert [row["body"] for row in everything.json()] == ["two", "one"]
    page = client_for(alice).get("/api/chat/scheduled/?limit=1")
    assert [row["id"] for row in page.json()] == [str(second.id)] and 'rel="next"' in page["Link"]
    pending = client_for(alice).get("/api/chat/scheduled/?state=pending").json()
    assert [row["body"] for row in pending] == ["two"]
    in_direct = client_for(alice).get(f"/api/chat/{direct.id}/scheduled/").json()
    assert [row["body"] for row in in_direct] == ["one"]
    assert client_for(alice).get("/api/chat/scheduled/?state=late").json()["code"] == "invalid_state"


def test_the_author_edits_and_cancels_before_the_time_and_no_one_else_can(client_for, alice, bob, direct):
    row = schedule(direct, alice)
    url = f"/api/chat/scheduled/{row.id}/"
    later = soon(90)
    edited = client_for(alice).patch(url, {"body": "edited", "send_at": later.isoformat()}, format="json")
    assert edited.status_code == 200
    assert edited.json()["body"] == "edited"
    row.refresh_from_db()
    assert (row.body, row.send_at) == ("edited", later)
    assert client_for(alice).patch(url, {"send_at": soon(-1).isoformat()}, format="json").json()["code"] == (
        "send_at_past")
    assert client_for(bob).patch(url, {"body": "mine now"}, format="json").status_code == 404
    assert client_for(bob).delete(url).status_code == 404
    cancelled = client_for(alice).delete(url)
    assert cancelled.json()["state"] == "cancelled"
    assert client_for(alice).patch(url, {"body": "again"}, format="json").json()["code"] == "not_pending"
    assert scheduled_send_due(now=soon(120)) == 0
    assert messages(direct) == []


# --- The runner


async def test_at_its_time_it_is_sent_once_through_the_send_path_and_the_room_sees_it(alice, bob, direct):
    row = await database_sync_to_async(schedule)(direct, alice, "on time", metadata={"type": "reminder"})
    async with room(direct, bob) as ws:
        assert await database_sync_to_async(scheduled_send_due)(now=soon(1)) == 0, "not yet"
        assert await database_sync_to_async(scheduled_send_due)(now=soon(6)) == 1
        frame = await receive(ws)
        assert (frame["type"], frame["body"], frame["metadata"]) == ("chat.message", "on time", {"type": "reminder"})
        assert frame["created_by"]["id"] == str(alice.id)
        assert frame["client_id"] == f"scheduled:{row.id.hex}"
        assert await database_sync_to_async(scheduled_send_due)(now=soon(7)) == 0, "sent once"
    await database_sync_to_async(row.refresh_from_db)()
    assert row.state == "sent" and str(row.message_id) == frame["id"]


def test_a_scheduled_send_leaves_the_authors_draft_alone(alice, direct):
    schedule(direct, alice, "from yesterday")
    draft_save(conversation_id=direct.id, user=alice, body="what I am writing now")
    scheduled_send_due(now=soon(10))
    assert draft_get(conversation_id=direct.id, user=alice)["body"] == "what I am writing now"


def test_a_runner_that_was_down_sends_everything_due_in_time_order_once(alice, bob, direct, settings):
    for minutes, body in ((30, "third"), (10, "first"), (20, "second")):
        schedule(direct, alice if minutes != 20 else bob, body, minutes=minutes)
    schedule(direct, alice, "tomorrow", minutes=24 * 60)
    assert scheduled_next_due() == ScheduledMessage.objects.get(body="first").send_at
    # Back after an hour: one pass, in batches of two.
    assert scheduled_send_due(now=soon(60), batch_size=2) == 3
    assert [m.body for m in messages(direct)] == ["first", "second", "third"]
    assert scheduled_send_due(now=soon(61)) == 0
    assert scheduled_next_due() == ScheduledMessage.objects.get(body="tomorrow").send_at


def test_a_row_sent_again_finds_its_first_message_through_the_client_id(alice, direct):
    row = schedule(direct, alice)
    assert scheduled_send_one(scheduled_id=row.id, now=soon(10)) is True
    assert scheduled_send_one(scheduled_id=row.id, now=soon(10)) is False, "no longer pending"
    # Were its state ever lost (a restore), the send's client_id gives the first message back.
    first = ScheduledMessage.objects.get(id=row.id).message_id
    ScheduledMessage.objects.filter(id=row.id).update(state="pending", message=None)
    assert scheduled_send_one(scheduled_id=row.id, now=soon(10)) is True
    assert ScheduledMessage.objects.get(id=row.id).message_id == first
    assert len(messages(direct)) == 1


async def test_refused_at_its_time_it_fails_with_the_reason_and_the_author_is_told(alice, bob, direct):
    row = await database_sync_to_async(schedule)(direct, alice, "hello?")
    await database_sync_to_async(BlockFactory)(blocker=bob, blocked=alice)
    async with notifications(alice) as feed:
        assert await database_sync_to_async(scheduled_send_due)(now=soon(10)) == 0
        frame = await receive(feed)
    assert frame["type"] == "scheduled.failed"
    assert (frame["scheduled"]["id"], frame["scheduled"]["state"]) == (str(row.id), "failed")
    assert frame["scheduled"]["failure"]["code"] == "blocked"
    await database_sync_to_async(row.refresh_from_db)()
    assert (row.state, row.failure_code) == ("failed", "blocked")
    assert await database_sync_to_async(messages)(direct) == []


def test_a_member_removed_before_the_time_is_refused_then_and_its_uploads_are_let_go(alice, bob, group):
    upload = AttachmentFactory(conversation=group, user=bob)
    row = schedule(group, bob, "still here?", attachment_ids=[str(upload.id)])
    conversation_remove_member(conversation_id=group.id, user=alice, member_id=bob.id)
    assert scheduled_send_due(now=soon(10)) == 0
    row.refresh_from_db()
    assert (row.state, row.failure_code) == ("failed", "not_found")
    assert all(m.kind == "system" for m in messages(group))
    assert Attachment.objects.get(id=upload.id).scheduled_id is None, "an unsent upload again, swept in time"


def test_uploads_are_held_for_it_then_sent_with_it(alice, direct):
    upload = AttachmentFactory(conversation=direct, user=alice)
    row = schedule(direct, alice, "", attachment_ids=[str(upload.id)])
    assert attachments_cleanup(older_than=timezone.now() + timedelta(days=1)) == 0, "held, not an orphan"
    assert scheduled_send_due(now=soon(10)) == 1
    row.refresh_from_db()
    assert Attachment.objects.get(id=upload.id).message_id == row.message_id
    assert len(row.message.attachment_summary) == 1


def test_cancelling_lets_its_uploads_go_and_an_upload_is_held_once(client_for, alice, direct):
    upload = AttachmentFactory(conversation=direct, user=alice)
    row = schedule(direct, alice, "", attachment_ids=[str(upload.id)])
    again = post(client_for(alice), direct, body="", send_at=soon().isoformat(), attachment_ids=[str(upload.id)])
    assert again.json()["code"] == "invalid_attachment"
    now = post_message(client_for(alice), direct, "", attachment_ids=[str(upload.id)])
    assert now.json()["code"] == "invalid_attachment", "a message cannot take what a scheduled one holds"
    client_for(alice).delete(f"/api/chat/scheduled/{row.id}/")
    assert attachments_cleanup(older_than=timezone.now() + timedelta(days=1)) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer at a time")
def test_two_runners_at_once_send_every_due_row_exactly_once(alice, bob, direct, group):
    rows = [schedule(direct if n % 2 else group, alice if n % 3 else bob, f"m{n}") for n in range(30)]
    counts, start = [], threading.Barrier(2)

    def runner():
        try:
            start.wait()
            counts.append(scheduled_send_due(now=soon(10), batch_size=4))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == len(rows)
    sent = ConversationMessage.objects.filter(kind="text", client_id__startswith="scheduled:")
    assert sorted(sent.values_list("body", flat=True)) == sorted(f"m{n}" for n in range(30))
    assert set(ScheduledMessage.objects.values_list("state", flat=True)) == {"sent"}


# --- The command and its loop's sleep


def test_the_command_sends_what_is_due(alice, direct):
    row = schedule(direct, alice)
    ScheduledMessage.objects.filter(id=row.id).update(send_at=timezone.now() - timedelta(seconds=1))
    out = StringIO()
    call_command("send_scheduled", stdout=out)
    assert "Sent 1 scheduled message(s)." in out.getvalue()
    assert [m.body for m in messages(direct)] == ["later"]


def test_the_timed_job_sends_what_is_due_and_says_when_the_next_row_falls_due(alice, direct):
    assert scheduled_next_due() is None, "nothing waits"
    due, later_row = schedule(direct, alice), schedule(direct, alice, minutes=5)
    ScheduledMessage.objects.filter(id=due.id).update(send_at=timezone.now() - timedelta(seconds=1))
    later_row.refresh_from_db()
    assert scheduled_send_due_job(timezone.now()) == later_row.send_at
    assert [m.body for m in messages(direct)] == ["later"]


def test_the_loop_wakes_when_the_next_row_falls_due_not_at_the_cap(monkeypatch, alice, direct):
    from chat.management.commands import send_scheduled

    row = schedule(direct, alice)
    ScheduledMessage.objects.filter(id=row.id).update(send_at=timezone.now() + timedelta(seconds=30))
    waits = []

    class Stop:
        def is_set(self):
            return bool(waits)

        def set(self):
            pass

        def wait(self, seconds):
            waits.append(seconds)

    monkeypatch.setattr(send_scheduled.threading, "Event", Stop)
    monkeypatch.setattr(send_scheduled.signal, "signal", lambda *args: None)
    call_command("send_scheduled", "--loop", "--max-sleep", "600", stdout=StringIO(), stderr=StringIO())
    assert 25 < waits[0] <= 31


# --- Accounts going, and staff


def test_a_deleted_account_s_scheduled_messages_are_cancelled_and_their_uploads_go(alice, direct):
    from useraccount.services import user_delete

    upload = AttachmentFactory(conversation=direct, user=alice)
    row = schedule(direct, alice, "", attachment_ids=[str(upload.id)])
    user_delete(user=alice)
    row.refresh_from_db()
    assert row.state == "cancelled"
    assert not Attachment.objects.filter(id=upload.id).exists()
    assert scheduled_send_due(now=soon(10)) == 0


def test_a_deactivated_author_s_message_fails_at_its_time(alice, direct):
    row = schedule(direct, alice)
    alice.__class__.objects.filter(id=alice.id).update(is_active=False)
    assert scheduled_send_due(now=soon(10)) == 0
    row.refresh_from_db()
    assert (row.state, row.failure_code) == ("failed", "sender_inactive")


def test_staff_read_scheduled_messages_in_the_admin_and_change_nothing(admin_client, alice, direct):
    row = schedule(direct, alice, "for the admin")
    listing = admin_client.get("/admin/chat/scheduledmessage/")
    assert listing.status_code == 200 and "for the admin" in listing.content.decode()
    page = admin_client.get(f"/admin/chat/scheduledmessage/{row.id}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
