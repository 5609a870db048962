"""
Message metadata (chat.messages.metadata): sent over REST and the socket,
bounded by size and depth, kept, returned, edited with the body, dropped with
a delete, and found by key equality on the history (containment on
PostgreSQL, JSON1 on SQLite).
"""

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from chat.messages.services import message_delete
from chat.models import ConversationMessage
from tests.plugins.conversations import post_message, send
from tests.plugins.sockets import receive, room

pytestmark = pytest.mark.django_db(transaction=True)

POLL = {"type": "poll", "options": ["tea", "coffee"], "settings": {"multiple": False}}


def test_metadata_sent_over_rest_is_kept_and_returned(client_for, alice, direct):
    response = post_message(client_for(alice), direct, "Tea or coffee?", metadata=POLL)
    assert response.status_code == 201
    assert response.json()["metadata"] == POLL
    assert ConversationMessage.objects.get(id=response.json()["id"]).metadata == POLL
    history = client_for(alice).get(f"/api/chat/{direct.id}/messages/").json()
    assert history[-1]["metadata"] == POLL


def test_a_message_without_metadata_has_null_and_an_empty_object_is_none(client_for, alice, direct):
    assert post_message(client_for(alice), direct, "plain").json()["metadata"] is None
    assert post_message(client_for(alice), direct, "empty", metadata={}).json()["metadata"] is None


@pytest.mark.parametrize("metadata, code", [
    (["a", "list"], "invalid_metadata"),
    ("text", "invalid_metadata"),
    (7, "invalid_metadata"),
    ({"a": {"b": {"c": {"d": [1]}}}}, "invalid_metadata"),  # 5 levels of objects and lists, over the 4 allowed
    ({"blob": "x" * 5000}, "metadata_too_large"),
    ({"nul": "a\u0000b"}, "invalid_metadata"),
])
def test_bad_metadata_is_a_400_with_its_code_and_nothing_is_saved(client_for, alice, direct, metadata, code):
    response = post_message(client_for(alice), direct, "x", metadata=metadata)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not ConversationMessage.objects.filter(conversation=direct).exists()


def test_the_bounds_are_settings(client_for, alice, direct, settings):
    settings.CHAT_MESSAGE_METADATA_MAX_BYTES = 20
    settings.CHAT_MESSAGE_METADATA_MAX_DEPTH = 1
    assert post_message(client_for(alice), direct, "x", metadata={"k": "v" * 20}).json()["code"] == "metadata_too_large"
    assert post_message(client_for(alice), direct, "x", metadata={"k": [1]}).json()["code"] == "invalid_metadata"
    assert post_message(client_for(alice), direct, "x", metadata={"k": 1}).status_code == 201


async def test_metadata_sent_on_the_socket_reaches_the_room(alice, bob, direct):
    async with room(direct, alice) as mine, room(direct, bob) as theirs:
        await mine.send_json_to({"type": "message.send", "body": "vote", "metadata": POLL})
        assert (await receive(mine))["metadata"] == POLL
        assert (await receive(theirs))["metadata"] == POLL


async def test_bad_metadata_on_the_socket_is_an_error_frame(alice, direct):
    async with room(direct, alice) as ws:
        await ws.send_json_to({"type": "message.send", "body": "x", "metadata": {"big": "x" * 5000}})
        frame = await receive(ws)
        assert (frame["type"], frame["code"]) == ("error", "metadata_too_large")


def test_metadata_is_edited_with_the_body_or_alone(client_for, alice, direct):
    message = post_message(client_for(alice), direct, "poll", metadata=POLL).json()
    url = f"/api/chat/{direct.id}/messages/{message['id']}/"
    closed = {**POLL, "closed": True}
    edited = client_for(alice).patch(url, {"metadata": closed}, format="json")
    assert edited.status_code == 200
    assert (edited.json()["body"], edited.json()["metadata"]) == ("poll", closed)
    both = client_for(alice).patch(url, {"body": "poll (closed)", "metadata": None}, format="json").json()
    assert (both["body"], both["metadata"]) == ("poll (closed)", None)
    assert client_for(alice).patch(url, {}, format="json").status_code == 400


async def test_an_edit_frame_changes_metadata_and_leaves_the_body(alice, direct):
    message = await database_sync_to_async(send)(direct, alice, "poll", metadata=POLL)
    async with room(direct, alice) as ws:
        await ws.send_json_to({"type": "message.edit", "message_id": str(message.id), "metadata": {"type": "done"}})
        frame = await receive(ws)
        assert frame["type"] == "chat.message.updated"
        assert (frame["body"], frame["metadata"]) == ("poll", {"type": "done"})


def test_a_deleted_message_loses_its_metadata(alice, direct):
    message = send(direct, alice, "poll", metadata=POLL)
    message_delete(conversation_id=direct.id, user=alice, message_id=message.id)
    message.refresh_from_db()
    assert message.metadata is None


def test_the_history_filters_by_metadata_key_equality(client_for, alice, bob, direct):
    send(direct, alice, "a poll", metadata={"type": "poll", "n": "1"})
    send(direct, bob, "a card", metadata={"type": "card"})
    send(direct, alice, "plain")
    send(direct, bob, "another poll", metadata={"type": "poll", "n": "2", "contains": "x"})
    url = f"/api/chat/{direct.id}/messages/"
    bodies = lambda query: [m["body"] for m in client_for(alice).get(url + query).json()]  # noqa: E731
    assert bodies("?metadata.type=poll") == ["a poll", "another poll"]
    assert bodies("?metadata.type=poll&metadata.n=2") == ["another poll"]
    assert bodies("?metadata.type=nothing") == []
    assert bodies("?metadata.contains=x") == ["another poll"], "a key named like a lookup is still a key"
    assert bodies("?metadata.type=poll&limit=1") == ["another poll"]


def test_bad_or_too_many_metadata_filters_are_a_400(client_for, alice, direct, settings):
    url = f"/api/chat/{direct.id}/messages/"
    assert client_for(alice).get(url + "?metadata.a%20b=1").json()["code"] == "invalid_filter"
    settings.CHAT_MESSAGE_METADATA_MAX_FILTERS = 1
    assert client_for(alice).get(url + "?metadata.a=1&metadata.b=2").json()["code"] == "too_many_filters"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN index is PostgreSQL's")
def test_postgresql_filters_by_containment_on_the_gin_index(alice, direct):
    from chat.messages.metadata import metadata_filter

    query = str(ConversationMessage.objects.filter(metadata_filter({"type": "poll"})).query)
    assert "@>" in query
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'message_metadata'")
        assert "jsonb_path_ops" in cursor.fetchone()[0]
