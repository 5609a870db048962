"""seq runs 1, 2, 3... per conversation with no gap or duplicate under concurrency."""

import asyncio
import json
import threading

import pytest
from django.db import connection
from websockets.asyncio.client import connect

from chat.models import Conversation, ConversationMessage
from chat.conversations.services import conversation_start_direct
from chat.messages.send import message_send
from tests.plugins.users import access_token

pytestmark = pytest.mark.django_db(transaction=True)


def run_in_threads(count: int, work) -> list:
    """Run ``work(index)`` in ``count`` threads at once, each on its own connection."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def target(index):
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_concurrent_senders_get_gapless_unique_seqs(alice, bob, direct):
    def send_many(index):
        sender = (alice, bob)[index % 2]
        return [
            message_send(conversation_id=direct.id, sender=sender, body=f"{index}-{n}")[0].seq
            for n in range(15)
        ]

    seqs = sorted(seq for batch in run_in_threads(6, send_many) for seq in batch)
    assert seqs == list(range(1, 91))
    stored = list(ConversationMessage.objects.filter(conversation=direct).values_list("seq", flat=True))
    assert sorted(stored) == list(range(1, 91))
    direct.refresh_from_db()
    assert direct.last_seq == 90


def test_seqs_are_per_conversation(alice, bob, carol, direct, group):
    message_send(conversation_id=direct.id, sender=alice, body="one")
    message_send(conversation_id=group.id, sender=carol, body="one")
    second, _ = message_send(conversation_id=direct.id, sender=bob, body="two")
    first_in_group = ConversationMessage.objects.get(conversation=group)
    assert (second.seq, first_in_group.seq) == (2, 1)


def test_concurrent_resends_of_one_client_id_make_one_message(alice, direct):
    results = run_in_threads(
        4, lambda i: message_send(conversation_id=direct.id, sender=alice, body="once", client_id="dup")
    )
    assert len({message.id for message, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert ConversationMessage.objects.filter(conversation=direct).count() == 1


def test_both_users_starting_at_once_get_one_direct_conversation(alice, bob):
    pairs = [(alice, bob), (bob, alice)] * 3
    results = run_in_threads(
        len(pairs), lambda i: conversation_start_direct(user=pairs[i][0], other_user_id=pairs[i][1].id)
    )
    assert len({conversation.id for conversation, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert Conversation.objects.count() == 1


@pytest.mark.live
async def test_senders_on_two_server_processes_get_gapless_seqs(start_server, alice, bob, direct):
    servers = [start_server(SOCKET_RATE_MESSAGES="off"), start_server(SOCKET_RATE_MESSAGES="off")]
    per_socket = 20

    async def send_all(server, user, label):
        async with connect(f"{server.ws}/ws/chat/{direct.id}/?token={access_token(user)}") as ws:
            for n in range(per_socket):
                await ws.send(json.dumps({"type": "message.send", "body": "x", "client_id": f"{label}-{n}"}))
            acks = []
            while len(acks) < per_socket:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=20))
                if frame.get("client_id", "").startswith(f"{label}-"):
                    acks.append(frame["seq"])
            return acks

    batches = await asyncio.gather(
        *(send_all(servers[i % 2], (alice, bob)[i % 2], f"s{i}") for i in range(4))
    )
    assert sorted(seq for batch in batches for seq in batch) == list(range(1, 4 * per_socket + 1))
