"""
Drafts (chat.conversations.drafts): kept per member and conversation over
REST, bounded, listed with the conversation, synced to the user's other
sockets, and cleared by a send (both send paths) but not by someone else's.
"""

import pytest
from channels.db import database_sync_to_async

from chat.conversations.drafts import draft_get, draft_save
from chat.models import ConversationMember
from tests.plugins.conversations import post_message, send
from tests.plugins.sockets import assert_silent, notifications, receive, room

pytestmark = pytest.mark.django_db(transaction=True)


NONE = {"body": "", "updated_at": None}


def url(conversation):
    return f"/api/chat/{conversation.id}/draft/"


def test_a_draft_is_kept_read_and_deleted(client_for, alice, direct):
    assert client_for(alice).get(url(direct)).json() == NONE
    saved = client_for(alice).put(url(direct), {"body": "Half a thought"}, format="json")
    assert saved.status_code == 200
    assert saved.json()["body"] == "Half a thought" and saved.json()["updated_at"].endswith("Z")
    assert client_for(alice).get(url(direct)).json()["body"] == "Half a thought"
    assert client_for(alice).delete(url(direct)).json() == NONE
    assert client_for(alice).get(url(direct)).json() == NONE


def test_drafts_are_each_members_own(client_for, alice, bob, direct):
    client_for(alice).put(url(direct), {"body": "mine"}, format="json")
    assert client_for(bob).get(url(direct)).json() == NONE


def test_a_blank_draft_is_none(client_for, alice, direct):
    client_for(alice).put(url(direct), {"body": "x"}, format="json")
    assert client_for(alice).put(url(direct), {"body": "   "}, format="json").json() == NONE
    assert ConversationMember.objects.get(conversation=direct, user=alice).draft == ""


@pytest.mark.parametrize("body", [0, 1.5, True, None, ["hi"], {"text": "hi"}])
def test_a_draft_body_that_is_not_text_is_refused(client_for, alice, direct, body):
    # DRF's CharField would keep 0 as "0"; the schema says a string (found by schemathesis' negative checks).
    response = client_for(alice).put(url(direct), {"body": body}, format="json")
    assert response.status_code == 400 and "body" in response.json()["fields"]
    assert draft_get(conversation_id=direct.id, user=alice) is None


def test_a_draft_is_bounded_by_a_setting(client_for, alice, direct, settings):
    settings.CHAT_DRAFT_MAX_LENGTH = 10
    response = client_for(alice).put(url(direct), {"body": "x" * 11}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "draft_too_long")
    assert client_for(alice).put(url(direct), {"body": "x" * 10}, format="json").status_code == 200


def test_only_members_have_drafts(client_for, carol, direct):
    assert client_for(carol).get(url(direct)).status_code == 404
    assert client_for(carol).put(url(direct), {"body": "x"}, format="json").status_code == 404


def test_the_conversation_list_carries_the_callers_draft_without_more_queries(
    client_for, alice, bob, direct, group, django_assert_max_num_queries
):
    draft_save(conversation_id=group.id, user=alice, body="for the team")
    draft_save(conversation_id=group.id, user=bob, body="bob's, not shown to alice")
    client = client_for(alice)
    client.get("/api/chat/")  # warm up the token's user lookup path
    with django_assert_max_num_queries(8):
        items = {item["id"]: item for item in client.get("/api/chat/").json()}
    assert items[str(group.id)]["draft"]["body"] == "for the team"
    assert items[str(direct.id)]["draft"] is None


@pytest.mark.parametrize("path", ["rest", "socket"])
async def test_sending_a_message_clears_the_senders_draft_not_others(client_for, alice, bob, direct, path):
    await database_sync_to_async(draft_save)(conversation_id=direct.id, user=alice, body="almost")
    await database_sync_to_async(draft_save)(conversation_id=direct.id, user=bob, body="bob's")
    if path == "rest":
        await database_sync_to_async(post_message)(client_for(alice), direct, "sent")
    else:
        async with room(direct, alice) as ws:
            await ws.send_json_to({"type": "message.send", "body": "sent"})
            await receive(ws)
    assert await database_sync_to_async(draft_get)(conversation_id=direct.id, user=alice) is None
    assert (await database_sync_to_async(draft_get)(conversation_id=direct.id, user=bob))["body"] == "bob's"


def test_a_system_message_does_not_clear_its_actors_draft(client_for, alice, group):
    draft_save(conversation_id=group.id, user=alice, body="keep me")
    client_for(alice).patch(f"/api/chat/{group.id}/", {"title": "Renamed"}, format="json")
    assert draft_get(conversation_id=group.id, user=alice)["body"] == "keep me"


async def test_a_saved_draft_reaches_the_users_other_sockets(client_for, alice, bob, direct, group):
    async with notifications(alice) as feed, room(direct, alice) as direct_room, room(group, alice) as group_room, \
            notifications(bob) as bobs_feed:
        response = await database_sync_to_async(client_for(alice).put)(url(direct), {"body": "so"}, format="json")
        assert response.status_code == 200
        for socket in (feed, direct_room):
            frame = await receive(socket)
            assert frame == {"type": "draft.updated", "conversation_id": str(direct.id), "draft": response.json()}
        await assert_silent(group_room)  # another conversation's room
        await assert_silent(bobs_feed)
        await database_sync_to_async(client_for(alice).delete)(url(direct))
        assert (await receive(feed))["draft"] is None


def test_a_message_from_someone_else_leaves_the_draft(alice, bob, direct):
    draft_save(conversation_id=direct.id, user=alice, body="replying…")
    send(direct, bob, "hi")
    assert draft_get(conversation_id=direct.id, user=alice)["body"] == "replying…"
