"""Managing groups: rename, add and remove members, leave; who may; what every socket sees."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Conversation, ConversationMember, ConversationMessage
from tests.plugins.conversations import UNKNOWN_ID, send
from tests.plugins.sockets import assert_silent, close_code, notifications, receive, room

pytestmark = pytest.mark.django_db(transaction=True)


def rename(client, conversation, title):
    return client.patch(f"/api/chat/{conversation.id}/", {"title": title}, format="json")


def add(client, conversation, *users):
    return client.post(f"/api/chat/{conversation.id}/members/", {"user_ids": [str(u.id) for u in users]}, format="json")


def remove(client, conversation, user):
    return client.delete(f"/api/chat/{conversation.id}/members/{user.id}/")


def member_ids(conversation) -> set:
    return set(ConversationMember.objects.filter(conversation=conversation).values_list("user_id", flat=True))


def last_system_message(conversation) -> ConversationMessage:
    return ConversationMessage.objects.filter(conversation=conversation).order_by("-seq").first()


def test_the_creator_owns_the_group_and_renames_it_with_a_system_message(client_for, alice, bob, group):
    response = rename(client_for(alice), group, "  Trip  ")
    assert response.status_code == 200
    assert response.json()["title"] == "Trip"
    assert response.json()["owner_id"] == str(alice.id)
    message = last_system_message(group)
    assert (message.kind, message.seq, message.created_by_id) == ("system", 1, alice.id)
    assert message.system == {"action": "renamed", "user_ids": [], "title": "Trip"}
    assert message.body == "Alice renamed the group to \u201cTrip\u201d"
    history = client_for(bob).get(f"/api/chat/{group.id}/messages/").json()
    assert history[-1]["kind"] == "system" and history[-1]["system"]["title"] == "Trip"
    assert rename(client_for(alice), group, "Trip").status_code == 200
    assert ConversationMessage.objects.filter(conversation=group).count() == 1, "the same title changes nothing"


@pytest.mark.parametrize("action", ["rename", "add", "remove"])
def test_a_member_neither_renames_nor_adds_nor_removes(client_for, make_user, alice, bob, carol, group, action):
    dave = make_user("Dave")
    response = {
        "rename": lambda: rename(client_for(bob), group, "Mine now"),
        "add": lambda: add(client_for(bob), group, dave),
        "remove": lambda: remove(client_for(bob), group, carol),
    }[action]()
    assert response.status_code == 403
    assert response.json()["code"] == "not_admin"
    assert member_ids(group) == {alice.id, bob.id, carol.id}
    assert not ConversationMessage.objects.filter(conversation=group).exists()


def test_a_direct_conversation_cannot_be_renamed_or_joined_or_left(client_for, alice, bob, carol, direct):
    for response in (rename(client_for(alice), direct, "Us"), add(client_for(alice), direct, carol),
                     remove(client_for(alice), direct, alice)):
        assert response.status_code == 400
        assert response.json()["code"] == "direct_conversation"
    assert member_ids(direct) == {alice.id, bob.id}


def test_outsiders_see_nothing(client_for, make_user, group):
    outsider = make_user("Eve")
    for response in (rename(client_for(outsider), group, "x"), add(client_for(outsider), group, outsider),
                     remove(client_for(outsider), group, outsider)):
        assert response.status_code == 404


def test_added_members_see_the_history_with_nothing_unread(client_for, make_user, alice, bob, group):
    send(group, bob, "before you came")
    dave, erin = make_user("Dave"), make_user("Erin")
    response = add(client_for(alice), group, dave, erin, bob)  # Bob is already in: skipped
    assert response.status_code == 200
    assert {u["id"] for u in response.json()["users"]} >= {str(dave.id), str(erin.id)}
    message = last_system_message(group)
    assert message.system == {"action": "members_added", "user_ids": [str(dave.id), str(erin.id)]}
    assert message.body == "Alice added Dave and Erin"
    as_dave = client_for(dave)
    assert [m["body"] for m in as_dave.get(f"/api/chat/{group.id}/messages/").json()] == [
        "before you came", "Alice added Dave and Erin",
    ]
    assert as_dave.get("/api/chat/unread/").json()["total"] == 0


def test_adding_unknown_or_inactive_users_or_too_many_adds_nobody(settings, client_for, make_user, alice, group):
    asleep = make_user("Zed", is_active=False)
    response = add(client_for(alice), group, asleep)
    assert response.status_code == 400
    response = client_for(alice).post(f"/api/chat/{group.id}/members/", {"user_ids": [UNKNOWN_ID]}, format="json")
    assert response.status_code == 400
    settings.CHAT_GROUP_MAX_MEMBERS = 4
    response = add(client_for(alice), group, make_user(), make_user())
    assert response.status_code == 400 and response.json()["code"] == "too_many_members"
    assert len(member_ids(group)) == 3
    assert not ConversationMessage.objects.filter(conversation=group).exists()


def test_removing_and_leaving(client_for, alice, bob, carol, group):
    assert remove(client_for(alice), group, carol).status_code == 204
    assert last_system_message(group).system == {"action": "member_removed", "user_ids": [str(carol.id)]}
    assert client_for(carol).get(f"/api/chat/{group.id}/").status_code == 404
    assert remove(client_for(alice), group, carol).status_code == 404, "not a member any more"
    assert remove(client_for(bob), group, bob).status_code == 204
    message = last_system_message(group)
    assert (message.system, message.body, message.created_by_id) == (
        {"action": "member_left", "user_ids": [str(bob.id)]}, "Bob left", bob.id,
    )
    assert member_ids(group) == {alice.id}


def test_when_the_owner_leaves_the_earliest_member_owns_the_group(client_for, make_user, alice, bob, carol, group):
    dave = make_user("Dave")
    add(client_for(alice), group, dave)
    assert remove(client_for(alice), group, alice).status_code == 204
    group.refresh_from_db()
    assert group.owner_id in {bob.id, carol.id}
    first = ConversationMember.objects.filter(conversation=group).order_by("joined_at", "id").first()
    assert group.owner_id == first.user_id
    new_owner = bob if group.owner_id == bob.id else carol
    assert rename(client_for(new_owner), group, "Ours").status_code == 200
    assert remove(client_for(dave), group, new_owner).status_code == 403


def test_system_messages_cannot_be_edited_or_deleted(client_for, alice, group):
    rename(client_for(alice), group, "Trip")
    message = last_system_message(group)
    url = f"/api/chat/{group.id}/messages/{message.id}/"
    assert client_for(alice).patch(url, {"body": "x"}, format="json").status_code == 403
    assert client_for(alice).delete(url).status_code == 403


async def test_every_member_hears_of_changes_and_added_members_follow_at_once(client_for, make_user, alice, bob, group):
    dave = await database_sync_to_async(make_user)("Dave")
    async with notifications(bob) as bobs_feed, notifications(dave) as daves_feed, room(group, bob) as bobs_room:
        response = await database_sync_to_async(add)(client_for(alice), group, dave)
        assert response.status_code == 200
        update = await receive(bobs_feed, skip={"presence", "notification"})
        assert update["type"] == "conversation.updated"
        assert update["change"] == {"action": "members_added", "user_ids": [str(dave.id)], "by": str(alice.id)}
        update = await receive(daves_feed)
        assert update["type"] == "conversation.updated"
        assert str(dave.id) in {u["id"] for u in update["conversation"]["users"]}
        system = await receive(bobs_room)
        assert (system["type"], system["kind"]) == ("chat.message", "system")
        # Dave's notifications socket follows the group without reconnecting.
        await database_sync_to_async(send)(group, bob, "welcome Dave")
        notification = await receive(daves_feed)
        assert (notification["type"], notification["message"]["body"]) == ("notification", "welcome Dave")


async def test_a_removed_member_is_cut_off_at_once(client_for, alice, bob, carol, group):
    async with room(group, carol) as carols_room, room(group, carol, original=True) as legacy, \
            notifications(carol) as carols_feed, room(group, bob) as bobs_room:
        response = await database_sync_to_async(remove)(client_for(alice), group, carol)
        assert response.status_code == 204
        assert await close_code(carols_room) == 4403
        update = await receive(carols_feed, skip={"presence", "notification"})
        assert update["type"] == "conversation.updated"
        assert update["change"]["action"] == "member_removed"
        assert str(carol.id) not in {u["id"] for u in update["conversation"]["users"]}
        assert (await receive(legacy, skip=set()))["body"] == "Alice removed Carol"
        await legacy.send_json_to({"event": "chat_message", "data": {"body": "am I still here?"}})
        refusal = await receive(legacy, skip=set())
        assert refusal["type"] == "error" and refusal["code"] in {"not_a_member", "not_found"}
        assert refusal["name"] == "Not sent"
        assert await close_code(legacy) == 4403
        assert (await receive(bobs_room))["kind"] == "system"
        await database_sync_to_async(send)(group, bob, "after Carol left")
        assert (await receive(bobs_room))["body"] == "after Carol left"
        await assert_silent(carols_feed, skip={"presence"})
    assert not await database_sync_to_async(
        ConversationMessage.objects.filter(conversation=group, body="am I still here?").exists
    )()


async def test_a_removed_member_cannot_reconnect(client_for, alice, carol, group):
    await database_sync_to_async(remove)(client_for(alice), group, carol)
    async with room(group, carol) as ws:
        assert await close_code(ws) == 4403
    assert await database_sync_to_async(Conversation.objects.filter(id=group.id).exists)()
