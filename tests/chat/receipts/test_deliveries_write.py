"""
Writing delivered positions (chat.receipts.deliveries): one statement per
batch however large, never backwards, never past the conversation's last
seq, only the rows that move returned; both ways of running it on PostgreSQL.
"""

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import ConversationMember
from chat.receipts.deliveries import deliveries_record, deliveries_record_on_loop
from tests.factories import GroupConversationFactory
from tests.plugins.conversations import send_many

pytestmark = pytest.mark.django_db(transaction=True)


def delivered(conversation, user) -> int:
    return ConversationMember.objects.get(conversation=conversation, user=user).delivered_seq


def test_a_batch_of_many_conversations_is_one_statement(direct, group, alice, bob, carol, make_user):
    send_many(direct, alice, 3)
    send_many(group, alice, 5)
    others = [GroupConversationFactory(creator=alice, members=[bob]) for _ in range(20)]
    for conversation in others:
        send_many(conversation, bob, 1)
    positions = {
        str(direct.id): {str(alice.id): 3, str(bob.id): 2},
        str(group.id): {str(bob.id): 5, str(carol.id): 4},
        **{str(conversation.id): {str(alice.id): 1} for conversation in others},
    }
    with CaptureQueriesContext(connection) as queries:
        moved = deliveries_record(positions=positions)
    assert len(queries) == 1
    assert moved == positions
    assert (delivered(direct, bob), delivered(group, carol), delivered(others[7], alice)) == (2, 4, 1)


def test_a_position_never_moves_backwards_nor_past_the_last_seq(direct, alice, bob):
    send_many(direct, alice, 4)
    assert deliveries_record(positions={str(direct.id): {str(bob.id): 9}}) == {str(direct.id): {str(bob.id): 4}}
    assert delivered(direct, bob) == 4
    assert deliveries_record(positions={str(direct.id): {str(bob.id): 2}}) == {}
    assert deliveries_record(positions={str(direct.id): {str(bob.id): 4}}) == {}
    assert delivered(direct, bob) == 4


def test_positions_of_non_members_write_nothing(direct, alice, carol):
    send_many(direct, alice, 2)
    assert deliveries_record(positions={str(direct.id): {str(carol.id): 2}}) == {}
    assert not ConversationMember.objects.filter(conversation=direct, user=carol).exists()


def test_the_loop_statement_writes_the_same(direct, alice, bob):
    if connection.vendor != "postgresql":
        pytest.skip("the event loop's statement is PostgreSQL's")
    send_many(direct, alice, 3)
    moved = async_to_sync(deliveries_record_on_loop)(positions={str(direct.id): {str(bob.id): 5, str(alice.id): 3}})
    assert moved == {str(direct.id): {str(bob.id): 3, str(alice.id): 3}}
    assert delivered(direct, bob) == 3
    assert async_to_sync(deliveries_record_on_loop)(positions={str(direct.id): {str(bob.id): 1}}) == {}
