"""Threads: replies in a message's thread through the one send path, the root's summary, following, read positions, over REST."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from chat.conversations.groups import conversation_remove_member, conversation_rename
from chat.messages.services import message_delete
from chat.models import Conversation, ConversationMessage, ThreadMember
from chat.threads.services import thread_follow
from tests.factories import bulk_messages
from tests.plugins.conversations import UNKNOWN_ID, last_read_seq, post_message, send

pytestmark = pytest.mark.django_db(transaction=True)


def reply(conversation, sender, root, body="in the thread", **fields):
    return send(conversation, sender, body, thread_id=str(root.id), **fields)


def thread_url(root, suffix=""):
    return f"/api/chat/{root.conversation_id}/messages/{root.id}/thread/{suffix}"


def following(root, user) -> bool | None:
    row = ThreadMember.objects.filter(root=root, member__user=user).values_list("following", flat=True).first()
    return row


# --- The send path -----------------------------------------------------------------------


def test_thread_replies_take_the_conversations_next_seqs_with_no_gaps(group, alice, bob, carol):
    root = send(group, alice, "plans?")
    replies = []
    for n in range(3):
        send(group, carol, f"main {n}")
        replies.append(reply(group, bob, root, f"reply {n}"))
    seqs = list(ConversationMessage.objects.filter(conversation=group).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 8))
    assert [m.seq for m in replies] == [3, 5, 7]
    assert all(m.thread_root_id == root.id for m in replies)
    group.refresh_from_db()
    assert group.last_seq == 7


def test_concurrent_replies_and_messages_keep_seqs_gapless_and_count_every_reply(group, alice, bob, carol):
    from chat.messages.send import message_send
    from tests.chat.messages.test_seq import run_in_threads

    root = send(group, alice, "plans?")

    def send_many(index):
        sender = (alice, bob, carol)[index % 3]
        thread = {"thread_id": root.id} if index % 2 else {}
        return [message_send(conversation_id=group.id, sender=sender, body=f"{index}-{n}", **thread)[0].seq
                for n in range(8)]

    seqs = sorted(seq for batch in run_in_threads(6, send_many) for seq in batch)
    assert seqs == list(range(root.seq + 1, root.seq + 49))
    root.refresh_from_db()
    assert root.thread_summary["reply_count"] == 24, "no reply's summary update was lost"
    assert root.thread_summary["last_reply_seq"] == max(
        ConversationMessage.objects.filter(thread_root=root).values_list("seq", flat=True)
    )


def test_the_root_keeps_its_threads_summary_and_message_json_shows_it(client_for, settings, group, alice, bob, carol):
    settings.CHAT_THREAD_REPLIERS_SHOWN = 2
    root = send(group, alice, "plans?")
    for sender in (bob, carol, alice, bob):
        last = reply(group, sender, root)
    root.refresh_from_db()
    assert root.thread_summary == {
        "reply_count": 4,
        "last_reply_at": last.created_at.isoformat().replace("+00:00", "Z"),
        "last_reply_seq": last.seq,
        "latest_replier_ids": [str(bob.id), str(alice.id)],  # newest first, each once, at most the setting
    }
    assert root.thread_last_reply_at == last.created_at
    history = {m["id"]: m for m in client_for(carol).get(f"/api/chat/{group.id}/messages/").json()}
    assert history[str(root.id)]["thread"]["reply_count"] == 4
    assert history[str(root.id)]["thread_id"] is None
    assert history[str(last.id)]["thread_id"] == str(root.id)
    assert history[str(last.id)]["thread"] is None


def test_a_reply_to_a_reply_goes_in_the_roots_thread(group, alice, bob):
    root = send(group, alice, "plans?")
    first = reply(group, bob, root)
    second = send(group, alice, "nested?", thread_id=str(first.id))
    assert second.thread_root_id == root.id
    first.refresh_from_db()
    assert first.thread_summary is None
    root.refresh_from_db()
    assert root.thread_summary["reply_count"] == 2


@pytest.mark.parametrize("target", ["deleted", "system", "other conversation", "unknown", "not a uuid", "moderated"])
def test_a_thread_reply_must_name_a_live_text_message_of_the_conversation(client_for, group, direct, alice, bob, target):
    from django.utils import timezone

    gone = send(group, alice, "gone")
    message_delete(conversation_id=group.id, user=alice, message_id=gone.id)
    conversation_rename(conversation_id=group.id, user=alice, title="Renamed")
    system = ConversationMessage.objects.filter(conversation=group, kind=ConversationMessage.SYSTEM).last()
    hidden = send(group, alice, "hidden")
    ConversationMessage.objects.filter(id=hidden.id).update(moderated_at=timezone.now())
    elsewhere = send(direct, alice, "elsewhere")
    thread_id = {
        "deleted": str(gone.id), "system": str(system.id), "other conversation": str(elsewhere.id),
        "unknown": UNKNOWN_ID, "not a uuid": "abc", "moderated": str(hidden.id),
    }[target]
    before = Conversation.objects.get(id=group.id).last_seq
    response = post_message(client_for(bob), group, "hm", thread_id=thread_id)
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_thread", "invalid"}
    assert Conversation.objects.get(id=group.id).last_seq == before, "the refused reply took no seq"


def test_a_reply_in_a_thread_of_a_root_deleted_meanwhile_is_refused_with_invalid_thread(client_for, group, alice, bob):
    root = send(group, alice, "plans?")
    reply(group, bob, root)
    message_delete(conversation_id=group.id, user=alice, message_id=root.id)
    response = post_message(client_for(bob), group, "still?", thread_id=str(root.id))
    assert (response.status_code, response.json()["code"]) == (400, "invalid_thread")
    # The thread stays readable under the tombstone.
    page = client_for(bob).get(thread_url(root)).json()
    assert page["root"]["deleted"] is True and len(page["replies"]) == 1


def test_a_non_member_cannot_reply_in_a_thread(client_for, group, alice, make_user):
    root = send(group, alice, "plans?")
    outsider = make_user("Eve")
    response = post_message(client_for(outsider), group, "hi", thread_id=str(root.id))
    assert response.status_code == 404
    root.refresh_from_db()
    assert root.thread_summary is None


def test_the_sender_and_the_roots_author_follow_and_the_sender_has_read_up_to_their_reply(group, alice, bob, carol):
    root = send(group, alice, "plans?")
    first = reply(group, bob, root)
    assert following(root, alice) is True and following(root, bob) is True
    assert following(root, carol) is None
    assert ThreadMember.objects.get(root=root, member__user=bob).last_read_seq == first.seq
    assert ThreadMember.objects.get(root=root, member__user=alice).last_read_seq == 0
    # The conversation's read position stays: it counts the main timeline, which the reply did not read.
    assert last_read_seq(group, bob) == 0


def test_an_author_who_unfollowed_stays_unfollowed_and_a_replier_follows_again(group, alice, bob):
    root = send(group, alice, "plans?")
    thread_follow(conversation_id=group.id, user=alice, root_id=root.id, following=False)
    reply(group, bob, root)
    assert following(root, alice) is False
    thread_follow(conversation_id=group.id, user=bob, root_id=root.id, following=False)
    reply(group, bob, root)
    assert following(root, bob) is True


def test_a_thread_reply_over_rest_answers_with_its_thread_id(client_for, group, alice, bob):
    root = send(group, alice, "plans?")
    response = post_message(client_for(bob), group, "yes", thread_id=str(root.id), client_id="t1")
    assert response.status_code == 201
    assert response.json()["thread_id"] == str(root.id)
    again = post_message(client_for(bob), group, "yes", thread_id=str(root.id), client_id="t1")
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]
    root.refresh_from_db()
    assert root.thread_summary["reply_count"] == 1, "a resend is not a new reply"


# --- The thread page ---------------------------------------------------------------------


def test_the_thread_page_pages_replies_by_seq_like_the_messages_list(client_for, group, alice, bob, carol):
    root = send(group, alice, "plans?")
    replies = []
    for n in range(5):
        send(group, carol, f"main {n}")
        replies.append(reply(group, bob, root, f"reply {n}"))
    client = client_for(carol)
    seqs = [m.seq for m in replies]

    page = client.get(thread_url(root)).json()
    assert page["root"]["id"] == str(root.id) and page["root"]["thread"]["reply_count"] == 5
    assert [m["seq"] for m in page["replies"]] == seqs
    assert all(m["thread_id"] == str(root.id) for m in page["replies"])
    assert [m["seq"] for m in client.get(thread_url(root) + "?limit=2").json()["replies"]] == seqs[-2:]
    assert [m["seq"] for m in client.get(thread_url(root) + f"?before={seqs[2]}&limit=1").json()["replies"]] == [seqs[1]]
    assert [m["seq"] for m in client.get(thread_url(root) + f"?after={seqs[2]}").json()["replies"]] == seqs[3:]
    assert (page["following"], page["last_read_seq"], page["unread_count"]) == (False, 0, 5)


@pytest.mark.parametrize("query,code", [("limit=0", "invalid"), ("limit=201", "invalid"), ("after=-1", "invalid"),
                                        ("before=x", "invalid")])
def test_a_bad_thread_page_query_is_a_400(client_for, group, alice, query, code):
    root = send(group, alice, "plans?")
    response = client_for(alice).get(thread_url(root) + "?" + query)
    assert response.status_code == 400
    assert set(response.json()) >= {"code", "detail"}


def test_the_thread_page_limit_is_the_setting(client_for, settings, group, alice, bob):
    settings.CHAT_THREAD_PAGE_MAX = 3
    root = send(group, alice, "plans?")
    assert client_for(alice).get(thread_url(root) + "?limit=3").status_code == 200
    assert client_for(alice).get(thread_url(root) + "?limit=4").status_code == 400


def test_the_thread_of_a_reply_or_a_system_message_is_a_400_and_of_others_a_404(
    client_for, group, direct, alice, bob, carol, make_user
):
    root = send(group, alice, "plans?")
    first = reply(group, bob, root)
    response = client_for(alice).get(thread_url(first))
    assert (response.status_code, response.json()["code"]) == (400, "not_a_thread_root")
    conversation_rename(conversation_id=group.id, user=alice, title="Renamed")
    system = ConversationMessage.objects.filter(conversation=group, kind=ConversationMessage.SYSTEM).last()
    assert client_for(alice).get(thread_url(system)).json()["code"] == "invalid_thread"
    assert client_for(make_user("Eve")).get(thread_url(root)).status_code == 404
    assert client_for(alice).get(f"/api/chat/{group.id}/messages/{UNKNOWN_ID}/thread/").status_code == 404
    elsewhere = send(direct, alice, "elsewhere")
    assert client_for(carol).get(f"/api/chat/{group.id}/messages/{elsewhere.id}/thread/").status_code == 404


def test_the_thread_page_takes_the_same_queries_however_long_the_thread(client_for, group, alice, bob, carol):
    root = send(group, alice, "plans?")
    reply(group, bob, root)
    client = client_for(carol)
    client.post(thread_url(root, "read/"), {"seq": 1}, format="json")  # carol has a row: the full path

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(thread_url(root)).status_code == 200
        return len(captured)

    few = queries()
    for _ in range(10):
        reply(group, bob, root)
    assert queries() == few
    assert few <= 5  # auth, root with membership, replies, state


# --- Read positions and unread counts ------------------------------------------------------


def test_a_thread_read_position_never_moves_backwards_and_is_capped(client_for, group, alice, bob, carol):
    root = send(group, alice, "plans?")
    first, second, third = (reply(group, bob, root, f"r{n}") for n in range(3))
    send(group, carol, "main timeline after")
    client = client_for(carol)
    state = client.post(thread_url(root, "read/"), {"seq": second.seq}, format="json").json()
    assert state == {
        "conversation_id": str(group.id), "root_id": str(root.id), "following": False,
        "last_read_seq": second.seq, "unread_count": 1,
    }
    assert client.post(thread_url(root, "read/"), {"seq": first.seq}, format="json").json()["last_read_seq"] == second.seq
    capped = client.post(thread_url(root, "read/"), {"seq": 10_000}, format="json").json()
    assert (capped["last_read_seq"], capped["unread_count"]) == (third.seq, 0)
    assert client.get(thread_url(root)).json()["unread_count"] == 0
    reply(group, alice, root)
    assert client.get(thread_url(root)).json()["unread_count"] == 1


@pytest.mark.parametrize("body", [{"seq": -1}, {"seq": "x"}, {}])
def test_a_bad_thread_read_is_a_400(client_for, group, alice, body):
    root = send(group, alice, "plans?")
    response = client_for(alice).post(thread_url(root, "read/"), body, format="json")
    assert response.status_code == 400 and "code" in response.json()


def test_reading_a_thread_follows_it_only_for_the_roots_author(client_for, group, alice, bob, carol):
    root = send(group, alice, "plans?")
    assert client_for(carol).post(thread_url(root, "read/"), {"seq": 1}, format="json").json()["following"] is False
    assert client_for(alice).post(thread_url(root, "read/"), {"seq": 1}, format="json").json()["following"] is True
    reply(group, bob, root)
    assert following(root, alice) is True and following(root, carol) is False


# --- Following and the list of followed threads ----------------------------------------------


def test_follow_and_unfollow_a_thread(client_for, group, alice, bob, carol):
    root = send(group, alice, "plans?")
    client = client_for(carol)
    followed = client.put(thread_url(root, "follow/"))
    assert followed.status_code == 200 and followed.json()["following"] is True
    assert following(root, carol) is True
    unfollowed = client.delete(thread_url(root, "follow/"))
    assert unfollowed.status_code == 200 and unfollowed.json()["following"] is False
    assert following(root, carol) is False
    assert client_for(carol).put(thread_url(reply(group, bob, root), "follow/")).json()["code"] == "not_a_thread_root"


def test_the_thread_list_shows_followed_threads_latest_reply_first_with_unread_counts(client_for, group, direct, alice, bob, carol):
    older = send(group, alice, "older")
    newer = send(direct, alice, "newer")
    unfollowed = send(group, alice, "unfollowed")
    reply(group, bob, older)
    reply(direct, bob, newer)
    reply(group, bob, unfollowed)
    reply(group, bob, older)  # older is now the latest replied to
    thread_follow(conversation_id=group.id, user=alice, root_id=unfollowed.id, following=False)
    client = client_for(alice)
    threads = client.get("/api/chat/threads/").json()
    assert [t["root_id"] for t in threads] == [str(older.id), str(newer.id)]
    assert [t["unread_count"] for t in threads] == [2, 1]
    assert threads[0]["root"]["thread"]["reply_count"] == 2
    assert threads[0]["conversation_id"] == str(group.id) and threads[0]["following"] is True
    client.post(thread_url(older, "read/"), {"seq": 10_000}, format="json")
    assert [t["unread_count"] for t in client.get("/api/chat/threads/").json()] == [0, 1]


def test_the_thread_list_is_paged_through_link(client_for, settings, group, alice, bob):
    settings.CHAT_THREAD_LIST_PAGE_SIZE = 2
    settings.CHAT_THREAD_LIST_PAGE_MAX = 3
    roots = [send(group, alice, f"root {n}") for n in range(5)]
    for root in roots:
        reply(group, bob, root)
    client = client_for(alice)
    first = client.get("/api/chat/threads/")
    assert [t["root_id"] for t in first.json()] == [str(r.id) for r in roots[::-1][:2]]
    seen = [t["root_id"] for t in first.json()]
    link = first.headers["Link"]
    while 'rel="next"' in link:
        url = [part.split(">")[0].lstrip("<").strip() for part in link.split(",") if 'rel="next"' in part][0]
        page = client.get(url)
        seen += [t["root_id"] for t in page.json()]
        link = page.headers.get("Link", "")
    assert seen == [str(r.id) for r in roots[::-1]]
    assert len(client.get("/api/chat/threads/?limit=3").json()) == 3
    assert len(client.get("/api/chat/threads/?limit=50").json()) == 3  # capped at the setting


def test_the_thread_list_takes_the_same_queries_however_many_threads(client_for, group, alice, bob):
    client = client_for(alice)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/chat/threads/").status_code == 200
        return len(captured)

    reply(group, bob, send(group, alice, "one"))
    one = queries()
    for n in range(5):
        reply(group, bob, send(group, alice, f"root {n}"))
    assert queries() == one


def test_threads_of_a_conversation_one_left_are_no_longer_listed(client_for, group, alice, bob):
    root = send(group, bob, "plans?")
    reply(group, alice, root)
    assert len(client_for(alice).get("/api/chat/threads/").json()) == 1
    conversation_remove_member(conversation_id=group.id, user=alice, member_id=alice.id)
    assert client_for(alice).get("/api/chat/threads/").json() == []
    assert not ThreadMember.objects.filter(member__user=alice).exists()


def test_many_messages_in_the_main_timeline_do_not_count_as_thread_unread(client_for, group, alice, bob):
    root = send(group, alice, "plans?")
    reply(group, bob, root)
    bulk_messages(group, bob, 20)
    assert client_for(alice).get(thread_url(root)).json()["unread_count"] == 1


def test_the_thread_list_can_keep_to_threads_with_unread_replies(client_for, group, alice, bob, carol):
    read, unread, unfollowed = (send(group, alice, body) for body in ("read", "unread", "unfollowed"))
    for root in (read, unread, unfollowed):
        last = reply(group, bob, root)
    thread_follow(conversation_id=group.id, user=alice, root_id=unfollowed.id, following=False)
    client = client_for(alice)
    client.post(thread_url(read, "read/"), {"seq": last.seq}, format="json")
    assert [t["root_id"] for t in client.get("/api/chat/threads/?unread=true").json()] == [str(unread.id)]
    assert len(client.get("/api/chat/threads/?unread=false").json()) == 2
    response = client.get("/api/chat/threads/?unread=maybe")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
