"""Conversation endpoints under /api/chat/: listing, starting, reading and sending."""

import json
import re
from datetime import datetime

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import Conversation, ConversationMember, ConversationMessage
from tests.factories import DirectConversationFactory, GroupConversationFactory
from tests.plugins.conversations import UNKNOWN_ID, post_message, send, send_many
from tests.plugins.sockets import open_socket
from tests.plugins.users import access_token, error_fields

pytestmark = pytest.mark.django_db

CONVERSATION_KEYS = {"id", "title", "is_direct", "users", "modified_at", "last_seq", "owner_id", "disappearing_seconds"}
LIST_ITEM_KEYS = CONVERSATION_KEYS | {"last_message", "unread_count", "muted", "muted_until", "notification_level",
                                      "draft"}
MESSAGE_KEYS = {
    "id", "seq", "conversation_id", "body", "created_by", "sent_to_id", "created_at", "client_id",
    "edited_at", "deleted", "expired", "expires_at", "moderated", "kind", "system", "reply_to", "reactions", "attachments",
    "thread_id", "thread", "pinned", "forwarded", "mentions", "mentions_all", "preview", "metadata",
}



def public(user) -> dict:
    return {"id": str(user.id), "name": user.name, "avatar_url": ""}


def member(user, online=False, role="member") -> dict:
    """A user as listed among a conversation's members over REST."""
    return {**public(user), "online": online, "role": role}



def groups_of(owner, others, count: int) -> list[Conversation]:
    return [
        GroupConversationFactory(creator=owner, members=others, title=f"Group {n}")
        for n in range(count)
    ]


def ids(items) -> list[str]:
    return [item["id"] for item in items]


def next_link(response) -> str | None:
    match = re.search(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    return match.group(1) if match else None


def seqs(messages) -> list[int]:
    return [m["seq"] for m in messages]


def assert_timestamp(value: str, expected: datetime) -> None:
    assert value.endswith("Z")
    assert datetime.fromisoformat(value) == expected


def assert_message_json(data: dict, saved: ConversationMessage) -> None:
    """``data`` is exactly the message JSON of ``saved``."""
    assert set(data) == MESSAGE_KEYS
    assert data == {
        "id": str(saved.id),
        "seq": saved.seq,
        "conversation_id": str(saved.conversation_id),
        "body": saved.body,
        "created_by": public(saved.created_by),
        "sent_to_id": str(saved.sent_to_id) if saved.sent_to_id else None,
        "created_at": data["created_at"],
        "client_id": saved.client_id or None,
        "edited_at": None,
        "deleted": False,
        "expired": False,
        "expires_at": None,
        "moderated": False,
        "kind": "text",
        "system": None,
        "reply_to": None,
        "reactions": [],
        "attachments": [],
        "thread_id": None,
        "thread": None,
        "pinned": False,
        "forwarded": None,
        "mentions": [],
        "mentions_all": False,
        "preview": None,
        "metadata": None,
    }
    assert_timestamp(data["created_at"], saved.created_at)


# --- Listing --------------------------------------------------------------------------


def test_list_item_shape(client_for, alice, bob, direct):
    message = send(direct, bob, "hi Alice")
    direct.refresh_from_db()
    response = client_for(alice).get("/api/chat/")
    assert response.status_code == 200
    [item] = response.json()
    assert set(item) == LIST_ITEM_KEYS
    assert item["id"] == str(direct.id)
    assert (item["title"], item["is_direct"], item["last_seq"]) == ("", True, 1)
    assert item["users"] == [member(alice), member(bob)]
    assert_timestamp(item["modified_at"], direct.modified_at)
    assert_message_json(item["last_message"], message)
    assert item["last_message"]["body"] == "hi Alice"


def test_list_without_messages_has_null_last_message(client_for, alice, group):
    [item] = client_for(alice).get("/api/chat/").json()
    assert (item["title"], item["is_direct"], item["last_seq"], item["last_message"]) == (
        "Team", False, 0, None,
    )


def test_list_last_message_is_the_newest(client_for, alice, bob, direct):
    send(direct, alice, "first")
    newest = send(direct, bob, "second")
    [item] = client_for(alice).get("/api/chat/").json()
    assert item["last_message"]["id"] == str(newest.id)
    assert item["last_message"]["seq"] == 2
    assert item["last_message"]["body"] == "second"


def test_list_shows_only_the_callers_conversations(client_for, alice, bob, carol, direct, make_user):
    carol_and_dave = DirectConversationFactory(user=carol, other=make_user("Dave"))
    without_alice = GroupConversationFactory(creator=bob, members=[carol], title="No Alice")
    assert ids(client_for(alice).get("/api/chat/").json()) == [str(direct.id)]
    assert ids(client_for(carol).get("/api/chat/").json()) == [str(without_alice.id), str(carol_and_dave.id)]
    assert client_for(make_user("Erin")).get("/api/chat/").json() == []


def test_list_is_latest_activity_first(client_for, alice, bob, carol, direct, group):
    assert ids(client_for(alice).get("/api/chat/").json()) == [str(group.id), str(direct.id)]


def test_new_message_moves_conversation_to_the_front(client_for, alice, bob, carol, direct, group):
    third = GroupConversationFactory(creator=carol, members=[alice], title="Third")
    send(direct, bob, "bump")
    listed = ids(client_for(alice).get("/api/chat/").json())
    assert listed == [str(direct.id), str(third.id), str(group.id)]


def test_list_default_page_is_100_with_next_link(client_for, alice, bob):
    # Large because the original tutorial client shows only the first page.
    groups_of(alice, [bob], 101)
    response = client_for(alice).get("/api/chat/")
    assert len(response.json()) == 100
    assert next_link(response)


def test_list_limit_sets_page_size(client_for, alice, bob):
    groups_of(alice, [bob], 6)
    response = client_for(alice).get("/api/chat/?limit=5")
    assert len(response.json()) == 5
    assert next_link(response)


def test_list_page_size_and_its_cap_are_settings(client_for, alice, bob, settings):
    settings.CHAT_CONVERSATION_PAGE_SIZE, settings.CHAT_CONVERSATION_PAGE_MAX = 3, 5
    groups_of(alice, [bob], 6)
    assert len(client_for(alice).get("/api/chat/").json()) == 3
    response = client_for(alice).get("/api/chat/?limit=500")
    assert len(response.json()) == 5
    assert next_link(response)


def test_list_single_page_has_no_link_header(client_for, alice, bob, direct):
    response = client_for(alice).get("/api/chat/")
    assert "Link" not in response.headers


def test_following_next_links_visits_every_conversation_once(client_for, alice, bob):
    expected = [str(c.id) for c in reversed(groups_of(alice, [bob], 25))]
    client = client_for(alice)
    seen, pages = [], []
    url = "/api/chat/?limit=7"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        assert isinstance(response.json(), list)
        pages.append(len(response.json()))
        seen += ids(response.json())
        url = next_link(response)
    assert pages == [7, 7, 7, 4]
    assert seen == expected


def test_list_query_count_does_not_grow_with_data(client_for, alice, make_user):
    def list_queries(user) -> tuple[int, list]:
        with CaptureQueriesContext(connection) as queries:
            response = client_for(user).get("/api/chat/")
        assert response.status_code == 200
        return len(queries), response.json()

    small_owner, large_owner = make_user("Small"), make_user("Large")
    for conversation in groups_of(small_owner, [make_user()], 2) + [
        DirectConversationFactory(user=small_owner, other=alice)
    ]:
        send(conversation, small_owner)
    others = [make_user() for _ in range(5)]
    for n, conversation in enumerate(
        groups_of(large_owner, others, 12)
        + [DirectConversationFactory(user=large_owner, other=u) for u in others[:3]]
    ):
        send_many(conversation, others[n % 3], 3)

    small_count, small = list_queries(small_owner)
    large_count, large = list_queries(large_owner)
    assert (len(small), len(large)) == (3, 15)
    assert all(item["last_message"] for item in small + large)
    assert sum(len(item["users"]) for item in large) == 12 * 6 + 3 * 2
    assert large_count == small_count
    assert large_count <= 4  # the user, the page, its members, its last messages


# --- Creating a group -------------------------------------------------------------------


def test_create_group_returns_201_including_the_caller(client_for, alice, bob, carol):
    response = client_for(alice).post(
        "/api/chat/", {"user_ids": [str(bob.id), str(carol.id)], "title": " Trip "}, format="json"
    )
    assert response.status_code == 201
    data = response.json()
    conversation = Conversation.objects.get()
    assert set(data) == LIST_ITEM_KEYS
    assert data["id"] == str(conversation.id)
    assert (data["title"], data["is_direct"], data["last_seq"], data["last_message"]) == (
        "Trip", False, 0, None,
    )
    assert data["users"] == [member(alice, role="owner"), member(bob), member(carol)]
    assert_timestamp(data["modified_at"], conversation.modified_at)
    assert set(conversation.users.all()) == {alice, bob, carol}


def test_create_group_without_title_has_empty_title(client_for, alice, bob):
    response = client_for(alice).post("/api/chat/", {"user_ids": [str(bob.id)]}, format="json")
    assert response.status_code == 201
    assert response.json()["title"] == ""


def test_create_group_lists_the_caller_once(client_for, alice, bob):
    response = client_for(alice).post(
        "/api/chat/", {"user_ids": [str(alice.id), str(bob.id), str(bob.id)]}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["users"] == [member(alice, role="owner"), member(bob)]
    assert ConversationMember.objects.count() == 2


def test_members_of_new_group_see_it_in_their_list(client_for, alice, bob, carol):
    created = client_for(alice).post(
        "/api/chat/", {"user_ids": [str(bob.id), str(carol.id)]}, format="json"
    ).json()
    for user in (alice, bob, carol):
        assert client_for(user).get("/api/chat/").json() == [created]


def test_create_group_with_unknown_user_is_400_on_user_ids(client_for, alice, bob, make_user):
    inactive = make_user("Gone", is_active=False)
    for unknown in (UNKNOWN_ID, str(inactive.id)):
        response = client_for(alice).post(
            "/api/chat/", {"user_ids": [str(bob.id), unknown]}, format="json"
        )
        assert response.status_code == 400
        assert "user_ids" in error_fields(response)
        assert unknown in response.json()["fields"]["user_ids"][0]
    assert not Conversation.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"user_ids": []},
        {"user_ids": ["alice"]},
        {"user_ids": ["not-a-uuid"]},
        {"user_ids": "not-a-list"},
        {"title": "No one"},
    ],
    ids=["empty", "only-caller", "not-a-uuid", "not-a-list", "missing"],
)
def test_create_group_with_bad_user_ids_is_400_on_user_ids(client_for, alice, body):
    if body.get("user_ids") == ["alice"]:
        body = {"user_ids": [str(alice.id)]}
    response = client_for(alice).post("/api/chat/", body, format="json")
    assert response.status_code == 400
    assert "user_ids" in error_fields(response)
    assert not Conversation.objects.exists()


# --- Starting a direct conversation -------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_start_direct_returns_conversation_id(client_for, alice, bob, method):
    response = getattr(client_for(alice), method)(f"/api/chat/start/{bob.id}/")
    assert response.status_code == 200
    conversation = Conversation.objects.get()
    assert response.json() == {"success": True, "conversation_id": str(conversation.id), "created": True}
    assert conversation.is_direct
    assert set(conversation.users.all()) == {alice, bob}


def test_start_direct_is_the_same_whoever_starts_it_and_on_repeats(client_for, alice, bob):
    first = client_for(alice).post(f"/api/chat/start/{bob.id}/").json()
    reverse = client_for(bob).post(f"/api/chat/start/{alice.id}/").json()
    again = client_for(alice).get(f"/api/chat/start/{bob.id}/").json()
    assert first["conversation_id"] == reverse["conversation_id"] == again["conversation_id"]
    assert (first["created"], reverse["created"], again["created"]) == (True, False, False)
    assert Conversation.objects.count() == 1
    assert ConversationMember.objects.count() == 2


def test_start_direct_with_yourself_is_400(client_for, alice):
    response = client_for(alice).post(f"/api/chat/start/{alice.id}/")
    assert response.status_code == 400
    assert error_fields(response) == {"user_id"}
    assert response.json()["code"] == "invalid"
    assert not Conversation.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("user_id", [UNKNOWN_ID, "not-a-uuid", "inactive"])
def test_start_direct_with_unknown_user_is_404(client_for, alice, make_user, user_id, method):
    if user_id == "inactive":
        user_id = make_user("Gone", is_active=False).id
    response = getattr(client_for(alice), method)(f"/api/chat/start/{user_id}/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No such user."}
    assert not Conversation.objects.exists()


# --- Reading a conversation ---------------------------------------------------------------


def test_detail_returns_conversation_and_latest_messages_oldest_first(client_for, alice, bob, direct, settings):
    settings.CHAT_HISTORY_MESSAGES = 50
    send_many(direct, bob, 60)
    direct.refresh_from_db()
    response = client_for(alice).get(f"/api/chat/{direct.id}/")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"conversation", "messages"}
    conversation = data["conversation"]
    assert set(conversation) == CONVERSATION_KEYS
    assert (conversation["id"], conversation["is_direct"], conversation["last_seq"]) == (
        str(direct.id), True, 60,
    )
    assert conversation["users"] == [member(alice), member(bob)]
    assert_timestamp(conversation["modified_at"], direct.modified_at)
    assert seqs(data["messages"]) == list(range(11, 61))
    assert all(set(m) == MESSAGE_KEYS for m in data["messages"])
    assert data["messages"][-1]["body"] == "message 60"


def test_detail_returns_the_latest_200_messages_by_default(client_for, alice, bob, direct):
    # The original tutorial client shows a conversation as this one page.
    send_many(direct, bob, 205)
    data = client_for(alice).get(f"/api/chat/{direct.id}/").json()
    assert seqs(data["messages"]) == list(range(6, 206))


def test_message_page_limit_is_capped_by_setting(client_for, alice, bob, direct, settings):
    send_many(direct, bob, 4)
    settings.CHAT_HISTORY_MESSAGES, settings.CHAT_MESSAGE_PAGE_MAX = 2, 3
    client = client_for(alice)
    assert seqs(client.get(f"/api/chat/{direct.id}/messages/?limit=3").json()) == [2, 3, 4]
    response = client.get(f"/api/chat/{direct.id}/messages/?limit=4")
    assert response.status_code == 400 and "limit" in error_fields(response)


def test_detail_of_empty_conversation_has_no_messages(client_for, alice, group):
    data = client_for(alice).get(f"/api/chat/{group.id}/").json()
    assert data["messages"] == []
    assert data["conversation"]["title"] == "Team"


@pytest.fixture
def sixty(direct, bob):
    """The direct conversation with 60 messages from Bob."""
    send_many(direct, bob, 60)
    return direct


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", range(11, 61)),
        ("?limit=200", range(1, 61)),
        ("?limit=5", range(56, 61)),
        ("?before=20&limit=5", range(15, 20)),
        ("?before=5", range(1, 5)),
        ("?before=1", []),
        ("?after=20&limit=5", range(21, 26)),
        ("?after=0&limit=3", range(1, 4)),
        ("?after=58", [59, 60]),
        ("?after=60", []),
        ("?after=10&before=15", range(11, 15)),
    ],
)
def test_message_range(client_for, alice, sixty, query, expected):
    response = client_for(alice).get(f"/api/chat/{sixty.id}/messages/{query}")
    assert response.status_code == 200
    assert seqs(response.json()) == list(expected)


def test_message_list_items_are_message_json(client_for, alice, bob, sixty):
    [message] = client_for(alice).get(f"/api/chat/{sixty.id}/messages/?limit=1").json()
    saved = ConversationMessage.objects.get(conversation=sixty, seq=60)
    assert_message_json(message, saved)
    assert (message["seq"], message["body"], message["client_id"]) == (60, "message 60", None)
    assert (message["created_by"], message["sent_to_id"]) == (public(bob), str(alice.id))


@pytest.mark.parametrize(
    "query, field",
    [
        ("?limit=201", "limit"),
        ("?limit=0", "limit"),
        ("?limit=ten", "limit"),
        ("?before=abc", "before"),
        ("?before=0", "before"),
        ("?after=-1", "after"),
        ("?after=1.5", "after"),
    ],
)
def test_message_range_with_bad_parameter_is_400(client_for, alice, direct, query, field):
    response = client_for(alice).get(f"/api/chat/{direct.id}/messages/{query}")
    assert response.status_code == 400
    assert error_fields(response) == {field}


# --- Sending --------------------------------------------------------------------------------


def test_post_message_returns_201_with_message_json(client_for, alice, bob, direct):
    response = post_message(client_for(alice), direct, "Hello Bob", client_id="c-1")
    assert response.status_code == 201
    saved = ConversationMessage.objects.get()
    data = response.json()
    assert_message_json(data, saved)
    assert (data["seq"], data["conversation_id"], data["body"], data["client_id"]) == (
        1, str(direct.id), "Hello Bob", "c-1",
    )
    assert (data["created_by"], data["sent_to_id"]) == (public(alice), str(bob.id))
    assert (saved.body, saved.created_by, saved.sent_to, saved.seq) == ("Hello Bob", alice, bob, 1)


def test_post_message_sent_to_is_the_other_member_either_way(client_for, alice, bob, direct):
    assert post_message(client_for(alice), direct).json()["sent_to_id"] == str(bob.id)
    assert post_message(client_for(bob), direct).json()["sent_to_id"] == str(alice.id)


def test_post_message_in_group_has_null_sent_to(client_for, carol, group):
    response = post_message(client_for(carol), group)
    assert response.status_code == 201
    assert response.json()["sent_to_id"] is None
    assert response.json()["client_id"] is None


def test_post_message_seq_counts_up(client_for, alice, bob, direct):
    got = [post_message(client_for(user), direct).json()["seq"] for user in (alice, bob, alice)]
    assert got == [1, 2, 3]
    direct.refresh_from_db()
    assert direct.last_seq == 3


def test_post_message_keeps_body_whitespace(client_for, alice, direct):
    assert post_message(client_for(alice), direct, "  indented\n").json()["body"] == "  indented\n"


def test_resent_client_id_returns_200_with_original_and_no_new_message(client_for, alice, direct):
    first = post_message(client_for(alice), direct, "once", client_id="retry-1")
    again = post_message(client_for(alice), direct, "once", client_id="retry-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert ConversationMessage.objects.count() == 1
    direct.refresh_from_db()
    assert direct.last_seq == 1


def test_same_client_id_from_another_sender_is_a_new_message(client_for, alice, bob, direct):
    first = post_message(client_for(alice), direct, client_id="same")
    other = post_message(client_for(bob), direct, client_id="same")
    assert (first.status_code, other.status_code) == (201, 201)
    assert first.json()["id"] != other.json()["id"]


@pytest.mark.parametrize("body", ["", "   ", "\n\t "])
def test_post_empty_body_is_400_empty_body(client_for, alice, direct, body):
    response = post_message(client_for(alice), direct, body)
    assert response.status_code == 400
    assert error_fields(response) == {"body"}
    assert response.json()["code"] == "empty_body"
    assert not ConversationMessage.objects.exists()


def test_post_body_over_4000_characters_is_400_body_too_long(client_for, alice, direct):
    response = post_message(client_for(alice), direct, "x" * 4001)
    assert response.status_code == 400
    assert error_fields(response) == {"body"}
    assert response.json()["code"] == "body_too_long"
    assert not ConversationMessage.objects.exists()
    direct.refresh_from_db()
    assert direct.last_seq == 0


def test_post_body_of_exactly_4000_characters_is_accepted(client_for, alice, direct):
    response = post_message(client_for(alice), direct, "x" * 4000)
    assert response.status_code == 201
    assert len(response.json()["body"]) == 4000


def test_post_without_body_is_400_on_body(client_for, alice, direct):
    response = client_for(alice).post(f"/api/chat/{direct.id}/messages/", {}, format="json")
    assert response.status_code == 400
    assert error_fields(response) == {"body"}


def test_post_with_too_long_client_id_is_400_on_client_id(client_for, alice, direct):
    response = post_message(client_for(alice), direct, client_id="c" * 65)
    assert response.status_code == 400
    assert error_fields(response) == {"client_id"}
    assert not ConversationMessage.objects.exists()


async def next_chat_frame(ws) -> dict:
    """The next chat.message frame; frames of other types (presence, typing) are skipped."""
    while True:
        frame = json.loads(await ws.receive_from(timeout=5))
        if frame["type"] == "chat.message":
            return frame


async def no_chat_frame(ws) -> bool:
    """True if no chat.message frame is waiting or arrives within 0.2 seconds."""
    while not await ws.receive_nothing(timeout=0.2):
        if json.loads(await ws.receive_from())["type"] == "chat.message":
            return False
    return True


@pytest.mark.django_db(transaction=True)
async def test_rest_message_is_broadcast_to_room_socket_like_a_socket_message(
    alice, bob, direct, client_for
):
    client = client_for(alice)
    apost = database_sync_to_async(post_message)
    async with open_socket(f"/ws/chat/{direct.id}/", token=access_token(bob)) as ws:
        assert ws.connected_ok
        response = await apost(client, direct, "over REST", client_id="r-1")
        assert response.status_code == 201
        assert await next_chat_frame(ws) == {"type": "chat.message", **response.json(), "name": "Alice"}

        again = await apost(client, direct, "over REST", client_id="r-1")
        assert again.status_code == 200
        assert await no_chat_frame(ws), "a resend is not broadcast again"


@pytest.mark.django_db(transaction=True)
async def test_refused_rest_message_is_not_broadcast(alice, bob, direct, client_for):
    async with open_socket(f"/ws/chat/{direct.id}/", token=access_token(bob)) as ws:
        response = await database_sync_to_async(post_message)(client_for(alice), direct, "   ")
        assert response.status_code == 400
        assert await no_chat_frame(ws)


# --- Conversations the caller may not see ------------------------------------------------


CONVERSATION_ENDPOINTS = [
    ("get", "/api/chat/{id}/"),
    ("get", "/api/chat/{id}/messages/"),
    ("get", "/api/chat/{id}/messages/?before=5&limit=2"),
    ("post", "/api/chat/{id}/messages/"),
]
NOT_FOUND = {"code": "not_found", "detail": "No such conversation."}


@pytest.mark.parametrize("method, template", CONVERSATION_ENDPOINTS)
def test_conversation_of_others_is_404_without_its_data(
    client_for, alice, bob, carol, direct, method, template
):
    send(direct, alice, "secret")
    client = client_for(carol)
    path = template.format(id=direct.id)
    response = client.get(path) if method == "get" else client.post(path, {"body": "intrude"}, format="json")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert b"secret" not in response.content
    assert list(ConversationMessage.objects.values_list("body", flat=True)) == ["secret"]


@pytest.mark.parametrize("method, template", CONVERSATION_ENDPOINTS)
@pytest.mark.parametrize("conversation_id", [UNKNOWN_ID, "not-a-uuid"])
def test_unknown_conversation_is_404(client_for, alice, method, template, conversation_id):
    client = client_for(alice)
    path = template.format(id=conversation_id)
    response = client.get(path) if method == "get" else client.post(path, {"body": "x"}, format="json")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert not ConversationMessage.objects.exists()


def test_former_direct_partner_is_refused_after_leaving(client_for, alice, bob, direct):
    ConversationMember.objects.filter(conversation=direct, user=bob).delete()
    assert client_for(bob).get(f"/api/chat/{direct.id}/").status_code == 404
    assert client_for(bob).get("/api/chat/").json() == []


@pytest.mark.django_db
def test_a_retried_group_creation_with_its_client_id_returns_the_group_it_made(client_for, alice, bob, carol):
    client = client_for(alice)
    request = {"user_ids": [str(bob.id), str(carol.id)], "title": "Trip", "client_id": "new-group-1"}
    first = client.post("/api/chat/", request, format="json")
    again = client.post("/api/chat/", request, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Conversation.objects.filter(title="Trip").count() == 1
    # Another creator's client_id, or another id, makes another group.
    assert client_for(bob).post("/api/chat/", {**request, "user_ids": [str(alice.id)]}, format="json").status_code == 201
    assert client.post("/api/chat/", {**request, "client_id": "new-group-2"}, format="json").status_code == 201
    assert client.post("/api/chat/", {**request, "client_id": None}, format="json").status_code == 201
    assert Conversation.objects.filter(title="Trip").count() == 4


@pytest.mark.django_db
def test_a_group_client_id_that_is_not_short_text_is_400(client_for, alice, bob):
    response = client_for(alice).post(
        "/api/chat/", {"user_ids": [str(bob.id)], "client_id": "x" * 65}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_client_id"
    assert not Conversation.objects.filter(created_by=alice).exists()
