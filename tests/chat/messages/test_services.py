"""
Services on their own, without a transport: they authorise the caller
themselves, and they emit exactly the events their change needs, into the
outbox, only once committed.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.messages.selectors import changes_since
from chat.conversations.services import conversation_create_group
from chat.conversations.membership import conversation_mark_read
from chat.conversations.services import conversation_start_direct
from chat.messages.services import message_delete
from chat.messages.services import message_edit
from chat.messages.send import message_send
from chat.models import ConversationMessage
from chat.realtime.groups import conversation_group, room_group, user_group
from core.outbox import Outbox
from core.errors import Forbidden, InvalidInput, NotFound
from tests.plugins.conversations import UNKNOWN_ID, send, send_many

pytestmark = pytest.mark.django_db(transaction=True)


def emitted(service, **kwargs) -> list[tuple[str, str]]:
    """Call ``service`` with an outbox of ours; the (group, event type) it committed."""
    box = Outbox()
    service(outbox=box, **kwargs)
    return [(group, event["type"]) for group, event in box.take()]


# --- Authorisation ------------------------------------------------------------------


@pytest.mark.parametrize("conversation_id", ["member-not", UNKNOWN_ID, "not-a-uuid"])
def test_send_by_a_non_member_is_not_found_and_changes_nothing(alice, bob, carol, direct, conversation_id):
    target = direct.id if conversation_id == "member-not" else conversation_id
    with pytest.raises(NotFound) as raised:
        message_send(conversation_id=target, sender=carol, body="let me in")
    assert raised.value.detail == "No such conversation."
    direct.refresh_from_db()
    assert (direct.last_seq, ConversationMessage.objects.count()) == (0, 0)


@pytest.mark.parametrize("service", [message_edit, message_delete])
def test_changing_a_message_needs_membership(alice, bob, carol, direct, service):
    message = send(direct, alice, "mine")
    kwargs = {"body": "changed"} if service is message_edit else {}
    with pytest.raises(NotFound):
        service(conversation_id=direct.id, user=carol, message_id=message.id, **kwargs)
    with pytest.raises(Forbidden):
        service(conversation_id=direct.id, user=bob, message_id=message.id, **kwargs)
    message.refresh_from_db()
    assert (message.body, message.edited_at, message.deleted_at) == ("mine", None, None)


def test_changing_needs_current_membership_even_for_the_author(alice, bob, direct):
    message = send(direct, alice, "mine")
    direct.members.filter(user=alice).delete()
    with pytest.raises(NotFound):
        message_delete(conversation_id=direct.id, user=alice, message_id=message.id)


def test_mark_read_by_a_non_member_is_not_found(bob, carol, direct):
    send(direct, bob, "hello")
    with pytest.raises(NotFound):
        conversation_mark_read(conversation_id=direct.id, user=carol, seq=1)


# --- Events ------------------------------------------------------------------------------


def test_a_message_costs_one_event_to_the_conversation_group(alice, bob, direct):
    events = emitted(message_send, conversation_id=direct.id, sender=alice, body="hi")
    assert events == [(conversation_group(direct.id), "chat.message")]


def test_a_resend_emits_nothing(alice, direct):
    send(direct, alice, "once", client_id="c1")
    assert emitted(message_send, conversation_id=direct.id, sender=alice, body="once", client_id="c1") == []


def test_a_refused_send_emits_nothing(alice, direct):
    assert_no_events = Outbox()
    with pytest.raises(InvalidInput):
        message_send(conversation_id=direct.id, sender=alice, body="  ", outbox=assert_no_events)
    assert assert_no_events.take() == []


def test_read_goes_to_the_room_and_the_readers_own_sockets(alice, bob, direct):
    send_many(direct, bob, 3)
    events = emitted(conversation_mark_read, conversation_id=direct.id, user=alice, seq=2)
    assert events == [(room_group(direct.id), "chat.read"), (user_group(alice.id), "unread")]
    assert emitted(conversation_mark_read, conversation_id=direct.id, user=alice, seq=1) == [], (
        "a read position never moves back, and unmoved it tells nobody"
    )


def test_edit_and_delete_go_to_the_conversation_group(alice, direct):
    message = send(direct, alice, "helo")
    group = conversation_group(direct.id)
    assert emitted(message_edit, conversation_id=direct.id, user=alice, message_id=message.id,
                   body="hello") == [(group, "chat.message.updated")]
    assert emitted(message_edit, conversation_id=direct.id, user=alice, message_id=message.id,
                   body="hello") == [], "an unchanged body is not an edit"
    assert emitted(message_delete, conversation_id=direct.id, user=alice,
                   message_id=message.id) == [(group, "chat.message.deleted")]
    assert emitted(message_delete, conversation_id=direct.id, user=alice, message_id=message.id) == []


def test_a_new_conversation_is_announced_to_each_members_user_group(alice, bob, carol):
    events = emitted(conversation_create_group, creator=alice, user_ids=[bob.id, carol.id])
    assert sorted(events) == sorted((user_group(user.id), "conversation.created") for user in (alice, bob, carol))


# --- The notifications sync read model -------------------------------------------------------


@pytest.mark.parametrize("count", [2, 20])
def test_changes_since_takes_three_queries_however_many_conversations_changed(make_user, alice, count):
    for _ in range(count):
        conversation, _ = conversation_start_direct(user=alice, other_user_id=make_user().id)
        send_many(conversation, alice, 3)
    with CaptureQueriesContext(connection) as queries:
        changes, unread_total, _ = changes_since(user=alice, known={}, limit=2)
    assert len(queries) == 3
    assert len(changes) == count
    assert all([m.seq for m in change.messages] == [1, 2] and change.has_more for change in changes)
    assert unread_total == 0, "the sender has read their own messages"


def test_changes_since_keeps_a_page_within_its_body_budget(make_user, alice, bob):
    from chat.conversations.services import conversation_start_direct

    others = [make_user() for _ in range(3)]
    rooms = [conversation_start_direct(user=other, other_user_id=alice.id)[0] for other in others]
    for room, other in zip(rooms, others):
        for _ in range(3):
            message_send(conversation_id=room.id, sender=other, body="x" * 100)
    changes, _, more = changes_since(user=alice, known={}, limit=50, max_body_chars=450)
    assert [len(change.messages) for change in changes] == [3, 1]
    assert [change.has_more for change in changes] == [False, True]
    assert more is True
    # A body larger than the whole budget still goes, alone, so paging moves on.
    changes, _, more = changes_since(user=alice, known={}, limit=50, max_body_chars=10)
    assert [len(change.messages) for change in changes] == [1] and more is True
