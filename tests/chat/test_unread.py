"""
Unread counts, one rule (chat.unread) through every reader: the conversation
list, GET /api/chat/unread/, a read's answer, the notifications socket's
sync and ``unread`` frames count a conversation's main timeline after the
read position (thread replies count in their thread instead), never one's
own messages, and stop at CHAT_UNREAD_COUNT_MAX; the query counts stay as
they were.
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.conversations.membership import conversation_mark_read
from chat.conversations.serializers import sync_result_data
from chat.messages.selectors import changes_since
from chat.threads.selectors import unread_threads
from core.outbox import Outbox
from tests.factories import bulk_messages
from tests.plugins.conversations import last_read_seq, send

pytestmark = pytest.mark.django_db


def reply(conversation, sender, root, body="in the thread"):
    return send(conversation, sender, body, thread_id=str(root.id))


def counts_by_reader(client, user, conversation) -> dict[str, int]:
    """The user's unread count of ``conversation`` as each reader says it (none moves the read position)."""
    listed = {item["id"]: item["unread_count"] for item in client.get("/api/chat/").json()}
    unread = client.get("/api/chat/unread/").json()
    answer = client.post(f"/api/chat/{conversation.id}/read/", {"seq": 0}, format="json").json()
    sync = sync_result_data(*changes_since(user=user, known={}, limit=1), threads=unread_threads(user=user, limit=0))
    synced = {item["conversation"]["id"]: item["unread_count"] for item in sync["conversations"]}
    key = str(conversation.id)
    return {
        "list": listed[key],
        "unread endpoint": unread["conversations"].get(key, 0),
        "unread endpoint total": unread["total"],
        "read answer": answer["unread_count"],
        "sync": synced[key],
        "sync total": sync["unread_total"],
    }


def main_line(group, alice, bob, carol):
    for n in range(3):
        send(group, bob, f"main {n}")


def thread_replies(group, alice, bob, carol):
    root = send(group, bob, "root")  # the root is of the main timeline: it counts
    for n in range(4):
        reply(group, carol, root, f"reply {n}")


def replies_to_ones_own_root(group, alice, bob, carol):
    root = send(group, alice, "mine")
    reply(group, bob, root)
    reply(group, carol, root)


def own_messages(group, alice, bob, carol):
    send(group, bob, "theirs")
    send(group, alice, "mine: read up to it")
    send(group, carol, "after mine")
    root = send(group, bob, "root")
    reply(group, alice, root, "my reply")


def deep_thread_and_main_line(group, alice, bob, carol):
    root = send(group, bob, "root")
    bulk_messages(group, carol, 5)
    for n in range(3):
        reply(group, carol, root, f"reply {n}")
    send(group, bob, "after the replies")


@pytest.mark.parametrize("history, expected", [
    (main_line, 3),
    (thread_replies, 1),
    (replies_to_ones_own_root, 0),
    (own_messages, 2),  # carol's "after mine" and bob's root: alice's reply read the thread, not the conversation
    (deep_thread_and_main_line, 7),  # the root, 5 bulk messages, the last; not the 3 replies
])
def test_every_reader_counts_the_main_timeline_after_the_read_position(
    client_for, alice, bob, carol, group, history, expected
):
    history(group, alice, bob, carol)
    counts = counts_by_reader(client_for(alice), alice, group)
    assert counts == dict.fromkeys(counts, expected)


def test_the_count_is_of_messages_after_the_read_position(client_for, alice, bob, carol, group):
    root = send(group, bob, "root")
    send(group, bob, "one")
    reply(group, carol, root)
    send(group, bob, "two")
    client = client_for(alice)
    answer = client.post(f"/api/chat/{group.id}/read/", {"seq": 2}, format="json").json()
    assert (answer["last_read_seq"], answer["unread_count"]) == (2, 1)  # "two" (the reply in between is not)
    assert counts_by_reader(client, alice, group)["list"] == 1
    reply(group, carol, root)
    assert counts_by_reader(client, alice, group)["list"] == 1, "a reply moves no conversation count"


def test_every_count_stops_at_the_setting(settings, client_for, alice, bob, carol, group, direct):
    settings.CHAT_UNREAD_COUNT_MAX = 3
    bulk_messages(group, bob, 10)
    bulk_messages(direct, bob, 2)
    counts = counts_by_reader(client_for(alice), alice, group)
    assert {key: value for key, value in counts.items() if "total" not in key} == dict.fromkeys(
        ["list", "unread endpoint", "read answer", "sync"], 3
    )
    assert counts["unread endpoint total"] == counts["sync total"] == 3 + 2
    root = send(group, bob, "root")
    for n in range(5):
        reply(group, carol, root, f"reply {n}")
    page = client_for(alice).get(f"/api/chat/{group.id}/messages/{root.id}/thread/").json()
    assert page["unread_count"] == 3
    settings.CHAT_UNREAD_COUNT_MAX = 100
    assert client_for(alice).get(f"/api/chat/{group.id}/messages/{root.id}/thread/").json()["unread_count"] == 5


@pytest.mark.django_db(transaction=True)
def test_a_read_that_moves_answers_and_announces_the_main_timelines_count(alice, bob, carol, group):
    root = send(group, bob, "root")
    reply(group, carol, root)
    reply(group, carol, root)
    send(group, bob, "after")
    box = Outbox()
    state = conversation_mark_read(conversation_id=group.id, user=alice, seq=root.seq, outbox=box)
    assert (state.last_read_seq, state.unread_count) == (root.seq, 1)
    [unread] = [event for _, event in box.take() if event["type"] == "unread"]
    assert json.loads(unread["text"]) == {
        "type": "unread", "conversation_id": str(group.id), "unread_count": 1, "total": 1,
    }
    assert last_read_seq(group, alice) == root.seq


@pytest.mark.parametrize("path", ["/api/chat/", "/api/chat/unread/"])
def test_thread_replies_cost_no_query_in_the_lists(client_for, alice, bob, carol, group, path):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client_for(alice).get(path).status_code == 200
        return len(captured)

    send(group, bob, "hello")
    before = queries()
    root = send(group, bob, "root")
    for n in range(5):
        reply(group, carol, root, f"reply {n}")
    assert queries() == before
    assert before == (4 if path == "/api/chat/" else 2)  # as before the rule left thread replies out


def test_the_count_reads_the_main_timeline_index(alice, bob, group):
    from chat.conversations.selectors import unread_counts

    bulk_messages(group, bob, 50)
    with CaptureQueriesContext(connection) as captured:
        assert unread_counts(user=alice) == {str(group.id): 50}
    [query] = captured.captured_queries
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: the planner would read them all
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("EXPLAIN " + query["sql"])
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "main_line_by_seq" in plan, plan
