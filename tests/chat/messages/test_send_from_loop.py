"""The socket's send on PostgreSQL: a plain text message in one statement from the event loop (chat.messages.send)."""

import json

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from chat.messages import send
from chat.models import Conversation, ConversationMember, ConversationMessage
from chat.realtime import events
from tests.factories import BlockFactory
from tests.plugins.sockets import open_socket, receive
from tests.plugins.users import access_token

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement send is PostgreSQL's"),
]


@pytest.fixture
def no_service_send(monkeypatch):
    """Every call of the ORM send, which a plain text message on the socket must not need."""
    calls = []
    service = send.message_send

    def counted(*args, **kwargs):
        calls.append(kwargs)
        return service(*args, **kwargs)

    monkeypatch.setattr(send, "message_send", counted)
    return calls


@database_sync_to_async
def saved(conversation, seq):
    message = ConversationMessage.objects.for_display().get(conversation=conversation, seq=seq)
    member_seqs = dict(ConversationMember.objects.filter(conversation=conversation).values_list("user_id", "last_read_seq"))
    return message, member_seqs, Conversation.objects.get(id=conversation.id).last_seq


async def test_a_text_message_is_saved_in_one_statement_as_the_service_saves_it(alice, bob, direct, no_service_send):
    async with open_socket(f"/ws/chat/{direct.id}/", token=access_token(alice)) as a, open_socket(
        f"/ws/chat/{direct.id}/", token=access_token(bob)
    ) as b:
        await a.send_json_to({"type": "message.send", "body": "hello", "client_id": "c-1"})
        ack, delivered = await receive(a), await receive(b)
    message, member_seqs, last_seq = await saved(direct, 1)
    assert no_service_send == []
    assert (message.body, message.created_by_id, message.sent_to_id, message.client_id) == ("hello", alice.id, bob.id, "c-1")
    assert last_seq == 1 and member_seqs == {alice.id: 1, bob.id: 0}
    # The frame sent is the frame the saved row makes (the same shape as catch-up's).
    assert ack == delivered == json.loads(events.message_frame(message))


async def test_a_group_message_has_no_recipient_and_seqs_follow_on(alice, bob, group, no_service_send):
    async with open_socket(f"/ws/chat/{group.id}/", token=access_token(alice)) as a:
        for n in range(3):
            await a.send_json_to({"type": "message.send", "body": f"m{n}"})
            assert (await receive(a))["seq"] == n + 1
    message, member_seqs, last_seq = await saved(group, 3)
    assert message.sent_to_id is None and last_seq == 3 and member_seqs[alice.id] == 3
    assert no_service_send == []


async def test_a_resent_client_id_returns_the_original_and_takes_no_seq(alice, bob, direct, no_service_send):
    async with open_socket(f"/ws/chat/{direct.id}/", token=access_token(alice)) as a:
        await a.send_json_to({"type": "message.send", "body": "once", "client_id": "same"})
        first = await receive(a)
        await a.send_json_to({"type": "message.send", "body": "once", "client_id": "same"})
        again = await receive(a)
        await a.send_json_to({"type": "message.send", "body": "next"})
        after = await receive(a)
    assert again["id"] == first["id"] and after["seq"] == 2, "a resend leaves no gap"
    assert await database_sync_to_async(ConversationMessage.objects.filter(conversation=direct).count)() == 2


@pytest.mark.parametrize("who_blocks", ["alice", "bob"])
async def test_a_refusal_is_read_by_the_same_rule_and_takes_no_seq(alice, bob, direct, no_service_send, who_blocks):
    blocker, blocked = (alice, bob) if who_blocks == "alice" else (bob, alice)
    async with open_socket(f"/ws/chat/{direct.id}/", token=access_token(alice)) as a:
        await database_sync_to_async(BlockFactory)(blocker=blocker, blocked=blocked)
        await a.send_json_to({"type": "message.send", "body": "hi", "client_id": "b-1"})
        error = await receive(a)
    assert (error["type"], error["code"], error["client_id"]) == ("error", "blocked", "b-1")
    assert no_service_send == [], "nothing written, and the rule's own parts said why"
    assert (await saved_last_seq(direct)) == 0


@database_sync_to_async
def saved_last_seq(conversation):
    return Conversation.objects.get(id=conversation.id).last_seq


async def test_concurrent_sends_on_many_sockets_get_every_seq_once_in_order(alice, bob, group):
    sockets = [open_socket(f"/ws/chat/{group.id}/", token=access_token(user)) for user in (alice, bob) * 3]
    opened = [await socket.__aenter__() for socket in sockets]
    try:
        for n, ws in enumerate(opened):
            for k in range(5):
                await ws.send_json_to({"type": "message.send", "body": f"{n}-{k}", "client_id": f"{n}-{k}"})
        seen = [[(await receive(ws))["seq"] for _ in range(30)] for ws in opened]
    finally:
        for socket in sockets:
            await socket.__aexit__(None, None, None)
    assert seen == [list(range(1, 31))] * len(opened)
    assert await saved_last_seq(group) == 30


async def test_replies_attachments_and_a_setting_off_take_the_transactional_send(alice, bob, direct, no_service_send, settings):
    from chat.messages.send import message_send_from_loop
    from core.outbox import carry_out

    (first, _), _ = await carry_out(message_send_from_loop, conversation_id=direct.id, sender=alice, body="one")
    assert no_service_send == []
    await carry_out(message_send_from_loop, conversation_id=direct.id, sender=bob, body="re", reply_to=str(first.id))
    assert len(no_service_send) == 1
    settings.DATABASE_LOOP_QUERIES = False
    await carry_out(message_send_from_loop, conversation_id=direct.id, sender=bob, body="plain")
    assert len(no_service_send) == 2


async def test_a_deleted_peer_closes_the_direct_conversation_with_the_services_error(alice, bob, direct, no_service_send):
    from useraccount.services import user_delete

    async with open_socket(f"/ws/chat/{direct.id}/", token=access_token(alice)) as a:
        await database_sync_to_async(user_delete)(user=bob)
        await a.send_json_to({"type": "message.send", "body": "still there?", "client_id": "d-1"})
        error = await receive(a)
    assert (error["type"], error["code"]) == ("error", "recipient_deleted")
    assert no_service_send == [] and await saved_last_seq(direct) == 0
