"""
The REST side of the real-time features: idempotent resends, read positions
and unread counts, presence on user objects, editing and deleting messages,
and logged-out sessions. The socket side is in test_realtime.
"""

from datetime import datetime
from uuid import uuid4

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from chat.models import ConversationMessage
from chat.realtime.presence import presence_store
from chat.messages.services import message_delete
from tests.factories import GroupConversationFactory
from tests.plugins.conversations import UNKNOWN_ID, last_read_seq, post_message, send, send_many
from tests.plugins.sockets import open_socket, receive
from tests.plugins.users import access_token, error_fields
from useraccount.tokens import token_pair_for_user

pytestmark = pytest.mark.django_db





def post_read(client, conversation, seq):
    return client.post(f"/api/chat/{conversation.id}/read/", {"seq": seq}, format="json")


def message_url(message) -> str:
    return f"/api/chat/{message.conversation_id}/messages/{message.id}/"


def assert_timestamp(value: str) -> None:
    assert value.endswith("Z")
    datetime.fromisoformat(value)


@pytest.fixture
def online():
    """Count users online as an open socket would, and offline again afterwards."""
    connections = []

    def mark(user):
        connection_id = f"test-{uuid4().hex}"
        async_to_sync(presence_store().touch)(str(user.id), connection_id)
        connections.append((str(user.id), connection_id))

    yield mark
    for user_id, connection_id in connections:
        async_to_sync(presence_store().leave)(user_id, connection_id)


# --- Idempotent send ---------------------------------------------------------------------


def test_resend_with_another_body_returns_the_original_unchanged(client_for, alice, direct):
    first = post_message(client_for(alice), direct, "original", client_id="c-1")
    again = post_message(client_for(alice), direct, "edited on retry", client_id="c-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert again.json()["body"] == "original"
    assert ConversationMessage.objects.count() == 1


def test_client_ids_are_per_sender(client_for, alice, bob, direct):
    from_alice = post_message(client_for(alice), direct, "from Alice", client_id="same")
    from_bob = post_message(client_for(bob), direct, "from Bob", client_id="same")
    retry = post_message(client_for(alice), direct, "from Alice", client_id="same")
    assert (from_alice.status_code, from_bob.status_code, retry.status_code) == (201, 201, 200)
    assert retry.json()["id"] == from_alice.json()["id"] != from_bob.json()["id"]
    assert ConversationMessage.objects.count() == 2


def test_client_id_is_per_conversation(client_for, alice, direct, group):
    first = post_message(client_for(alice), direct, client_id="same")
    other = post_message(client_for(alice), group, client_id="same")
    assert (first.status_code, other.status_code) == (201, 201)
    assert ConversationMessage.objects.count() == 2


# --- Read state ------------------------------------------------------------------------------


def test_post_read_records_position_and_returns_unread_count(client_for, alice, bob, direct):
    send_many(direct, bob, 5)
    response = post_read(client_for(alice), direct, 3)
    assert response.status_code == 200
    assert response.json() == {"conversation_id": str(direct.id), "last_read_seq": 3, "unread_count": 2}
    assert last_read_seq(direct, alice) == 3
    assert last_read_seq(direct, bob) == 5, "only the caller's position moves"


def test_post_read_never_moves_backwards(client_for, alice, bob, direct):
    send_many(direct, bob, 5)
    post_read(client_for(alice), direct, 5)
    response = post_read(client_for(alice), direct, 3)
    assert response.status_code == 200
    assert (response.json()["last_read_seq"], response.json()["unread_count"]) == (5, 0)
    assert last_read_seq(direct, alice) == 5


def test_post_read_is_capped_at_the_newest_seq(client_for, alice, bob, direct):
    send_many(direct, bob, 5)
    response = post_read(client_for(alice), direct, 99)
    assert (response.json()["last_read_seq"], response.json()["unread_count"]) == (5, 0)
    assert last_read_seq(direct, alice) == 5


@pytest.mark.parametrize("body", [{"seq": -1}, {"seq": "three"}, {"seq": 1.5}, {"seq": None}, {}], ids=repr)
def test_post_read_with_bad_seq_is_400(client_for, alice, bob, direct, body):
    send_many(direct, bob, 5)
    response = client_for(alice).post(f"/api/chat/{direct.id}/read/", body, format="json")
    assert response.status_code == 400
    assert "seq" in error_fields(response)
    assert last_read_seq(direct, alice) == 0


def test_post_read_in_someone_elses_conversation_is_404(client_for, bob, carol, direct):
    send_many(direct, bob, 2)
    response = post_read(client_for(carol), direct, 2)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_list_items_carry_the_callers_unread_count(client_for, alice, bob, carol, direct, group):
    send_many(direct, bob, 3)
    send_many(group, carol, 2)
    post_read(client_for(alice), direct, 1)
    unread = {item["id"]: item["unread_count"] for item in client_for(alice).get("/api/chat/").json()}
    assert unread == {str(direct.id): 2, str(group.id): 2}
    unread = {item["id"]: item["unread_count"] for item in client_for(bob).get("/api/chat/").json()}
    assert unread == {str(direct.id): 0, str(group.id): 2}


def test_unread_endpoint_lists_non_zero_counts_and_total(client_for, alice, bob, carol, direct, group):
    send_many(direct, bob, 3)
    send_many(group, carol, 2)
    post_read(client_for(alice), group, 2)
    response = client_for(alice).get("/api/chat/unread/")
    assert response.status_code == 200
    assert response.json() == {"total": 3, "conversations": {str(direct.id): 3}}


def test_unread_endpoint_without_unread_messages_is_empty(client_for, alice, direct):
    send_many(direct, alice, 2)
    assert client_for(alice).get("/api/chat/unread/").json() == {"total": 0, "conversations": {}}


def test_sending_a_message_marks_it_read_for_the_sender(client_for, alice, bob, direct):
    send_many(direct, alice, 2)
    assert client_for(bob).get("/api/chat/unread/").json()["total"] == 2
    assert post_message(client_for(bob), direct, "reply").status_code == 201
    assert last_read_seq(direct, bob) == 3
    assert client_for(bob).get("/api/chat/unread/").json() == {"total": 0, "conversations": {}}
    assert client_for(alice).get("/api/chat/unread/").json() == {
        "total": 1, "conversations": {str(direct.id): 1},
    }


@pytest.mark.parametrize("path", ["/api/chat/", "/api/chat/unread/"])
def test_unread_query_count_does_not_grow_with_conversations(client_for, make_user, path):
    def reader_of(count: int):
        reader, writer = make_user(), make_user()
        for conversation in [
            GroupConversationFactory(creator=writer, members=[reader], title=f"Group {n}")
            for n in range(count)
        ]:
            send_many(conversation, writer, 2)
        return reader

    def queries(reader) -> tuple[int, dict]:
        with CaptureQueriesContext(connection) as captured:
            response = client_for(reader).get(path)
        assert response.status_code == 200
        return len(captured), response.json()

    small_count, small = queries(reader_of(3))
    large_count, large = queries(reader_of(20))
    if path == "/api/chat/unread/":
        assert (small["total"], large["total"]) == (6, 40)
    else:
        assert [item["unread_count"] for item in large] == [2] * 20
    assert large_count == small_count


# --- Presence --------------------------------------------------------------------------------


def test_conversation_users_carry_online(client_for, alice, bob, carol, group, online):
    online(bob)
    expected = {str(alice.id): False, str(bob.id): True, str(carol.id): False}
    [item] = client_for(alice).get("/api/chat/").json()
    assert {user["id"]: user["online"] for user in item["users"]} == expected
    detail = client_for(alice).get(f"/api/chat/{group.id}/").json()
    assert {user["id"]: user["online"] for user in detail["conversation"]["users"]} == expected


def test_user_detail_carries_online_for_contacts(client_for, alice, bob, carol, group, online):
    online(bob)
    assert client_for(alice).get(f"/api/auth/{bob.id}/").json()["online"] is True
    assert client_for(alice).get(f"/api/auth/{carol.id}/").json()["online"] is False


def test_presence_endpoint_lists_online_contacts_only(
    client_for, alice, bob, carol, direct, make_user, online
):
    stranger = make_user("Stranger")
    for user in (alice, bob, stranger):
        online(user)
    response = client_for(alice).get("/api/chat/presence/")
    assert response.status_code == 200
    assert response.json() == {"online": [str(bob.id)]}


def test_presence_endpoint_drops_a_connection_nobody_refreshed(
    client_for, alice, bob, direct, settings, clock, monkeypatch
):
    settings.PRESENCE_TTL = 1
    monkeypatch.setattr(presence_store(), "_clock", clock)
    async_to_sync(presence_store().touch)(str(bob.id), "crashed-process-connection")
    clock.advance(0.9)
    assert client_for(alice).get("/api/chat/presence/").json() == {"online": [str(bob.id)]}
    clock.advance(0.2)
    assert client_for(alice).get("/api/chat/presence/").json() == {"online": []}


# --- Editing and deleting ----------------------------------------------------------------------


@pytest.fixture
def message(direct, alice, bob):
    """Alice's second message in her direct conversation with Bob."""
    send(direct, bob, "first")
    return send(direct, alice, "helo")


def test_author_patch_edits_the_message(client_for, alice, message):
    response = client_for(alice).patch(message_url(message), {"body": "hello"}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert (data["id"], data["seq"], data["body"], data["deleted"]) == (str(message.id), 2, "hello", False)
    assert_timestamp(data["edited_at"])
    message.refresh_from_db()
    assert (message.body, message.seq) == ("hello", 2)
    assert message.edited_at is not None


def test_edited_message_shows_in_history(client_for, alice, bob, message):
    client_for(alice).patch(message_url(message), {"body": "hello"}, format="json")
    history = client_for(bob).get(f"/api/chat/{message.conversation_id}/messages/").json()
    assert [(m["seq"], m["body"], m["edited_at"] is not None) for m in history] == [
        (1, "first", False), (2, "hello", True),
    ]


def test_author_delete_leaves_a_tombstone_at_the_same_seq(client_for, alice, bob, message):
    response = client_for(alice).delete(message_url(message))
    assert response.status_code == 200
    data = response.json()
    assert (data["id"], data["seq"], data["body"], data["deleted"]) == (str(message.id), 2, "", True)
    message.refresh_from_db()
    assert (message.body, message.seq) == ("", 2)
    assert message.deleted_at is not None
    assert ConversationMessage.objects.count() == 2

    conversation_id = message.conversation_id
    history = client_for(bob).get(f"/api/chat/{conversation_id}/messages/?after=0").json()
    assert [(m["seq"], m["body"], m["deleted"]) for m in history] == [(1, "first", False), (2, "", True)]
    detail = client_for(bob).get(f"/api/chat/{conversation_id}/").json()
    assert detail["messages"][-1]["deleted"] is True


def test_deleting_twice_is_harmless(client_for, alice, message):
    first = client_for(alice).delete(message_url(message))
    again = client_for(alice).delete(message_url(message))
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_changing_someone_elses_message_is_403(client_for, bob, message, method):
    response = getattr(client_for(bob), method)(message_url(message), {"body": "hijacked"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    message.refresh_from_db()
    assert (message.body, message.edited_at, message.deleted_at) == ("helo", None, None)


@pytest.mark.parametrize("method", ["patch", "delete"])
@pytest.mark.parametrize("which", ["unknown", "not-a-uuid", "other-conversation"])
def test_changing_an_unknown_message_is_404(client_for, alice, direct, group, method, which):
    elsewhere = send(group, alice, "in the group")
    message_id = {
        "unknown": UNKNOWN_ID, "not-a-uuid": "not-a-uuid", "other-conversation": elsewhere.id,
    }[which]
    url = f"/api/chat/{direct.id}/messages/{message_id}/"
    response = getattr(client_for(alice), method)(url, {"body": "changed"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "No such message."}
    elsewhere.refresh_from_db()
    assert (elsewhere.body, elsewhere.deleted_at) == ("in the group", None)


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_changing_a_message_in_someone_elses_conversation_is_404(client_for, carol, message, method):
    response = getattr(client_for(carol), method)(message_url(message), {"body": "x"}, format="json")
    assert response.status_code == 404
    assert response.json()["detail"] == "No such conversation."


def test_editing_a_deleted_message_is_400_message_deleted(client_for, alice, direct, message):
    message_delete(conversation_id=direct.id, user=alice, message_id=message.id)
    response = client_for(alice).patch(message_url(message), {"body": "back"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "message_deleted"
    message.refresh_from_db()
    assert (message.body, message.edited_at) == ("", None)


@pytest.mark.parametrize("body", ["", "   "], ids=["empty", "blank"])
def test_editing_to_an_empty_body_is_400_empty_body(client_for, alice, message, body):
    response = client_for(alice).patch(message_url(message), {"body": body}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "empty_body"
    message.refresh_from_db()
    assert message.body == "helo"


def test_editing_without_body_is_400_on_body(client_for, alice, message):
    response = client_for(alice).patch(message_url(message), {}, format="json")
    assert response.status_code == 400
    assert error_fields(response) == {"body"}


@pytest.mark.django_db(transaction=True)
async def test_rest_edit_and_delete_are_broadcast_to_members(client_for, alice, bob, direct):
    message = await database_sync_to_async(send)(direct, alice, "helo")
    client = client_for(alice)
    async with open_socket(f"/ws/chat/{direct.id}/", token=access_token(bob)) as room, open_socket(
        "/ws/notifications/", token=access_token(bob)
    ) as feed:
        response = await database_sync_to_async(client.patch)(
            message_url(message), {"body": "hello"}, format="json"
        )
        updated = {"type": "chat.message.updated", **response.json(), "name": "Alice"}
        assert await receive(room) == updated
        assert await receive(feed) == updated

        response = await database_sync_to_async(client.delete)(message_url(message))
        deleted = {"type": "chat.message.deleted", **response.json(), "name": "Alice"}
        assert await receive(room) == deleted
        assert await receive(feed) == deleted


# --- Logged-out sessions ------------------------------------------------------------------------


def test_access_token_of_a_logged_out_session_is_401(alice):
    pair = token_pair_for_user(alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert client.get("/api/chat/").status_code == 200
    assert client.post("/api/auth/logout/", {"refresh": pair["refresh"]}, format="json").status_code == 200
    assert client.get("/api/chat/").status_code == 401
    assert client.get("/api/auth/me/").status_code == 401


def test_logging_out_one_session_keeps_the_others(alice):
    kept, ended = token_pair_for_user(alice), token_pair_for_user(alice)
    logout = APIClient().post("/api/auth/logout/", {"refresh": ended["refresh"]}, format="json")
    assert logout.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ended['access']}")
    assert client.get("/api/chat/").status_code == 401, "the logged-out session is refused"
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {kept['access']}")
    assert client.get("/api/chat/").status_code == 200
