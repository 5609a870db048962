"""Roles in groups: owner, admins, members; who may do what; handing the group on; what members see."""

import pytest
from channels.db import database_sync_to_async

from chat.conversations.roles import ADMIN, IN_DIRECT, MEMBER, NEEDS, OWNER, Action, may, outranks
from chat.models import Conversation, ConversationMember, ConversationMessage
from tests.plugins.conversations import send
from tests.plugins.sockets import notifications, receive, room

pytestmark = pytest.mark.django_db(transaction=True)


def set_role(client, conversation, user, role):
    return client.patch(f"/api/chat/{conversation.id}/members/{user.id}/", {"role": role}, format="json")


def rename(client, conversation, title):
    return client.patch(f"/api/chat/{conversation.id}/", {"title": title}, format="json")


def remove(client, conversation, user):
    return client.delete(f"/api/chat/{conversation.id}/members/{user.id}/")


def roles(client, conversation) -> dict:
    users = client.get(f"/api/chat/{conversation.id}/").json()["conversation"]["users"]
    return {user["name"]: user["role"] for user in users}


@pytest.mark.parametrize("action", list(Action))
def test_the_table_gives_each_action_to_its_least_role_and_up(action):
    needed = NEEDS[action]
    for role in (MEMBER, ADMIN, OWNER):
        assert may(role, action, direct=False) == ({MEMBER: 0, ADMIN: 1, OWNER: 2}[role] >= {MEMBER: 0, ADMIN: 1, OWNER: 2}[needed])
    assert may(MEMBER, action, direct=True) == (action in IN_DIRECT)


def test_only_a_higher_role_acts_on_a_member():
    assert outranks(OWNER, ADMIN) and outranks(ADMIN, MEMBER) and outranks(OWNER, MEMBER)
    assert not outranks(ADMIN, ADMIN) and not outranks(ADMIN, OWNER) and not outranks(MEMBER, MEMBER)


def test_the_owner_makes_an_admin_who_then_manages_the_group(client_for, alice, bob, carol, group):
    assert roles(client_for(carol), group) == {"Alice": "owner", "Bob": "member", "Carol": "member"}
    response = set_role(client_for(alice), group, bob, "admin")
    assert response.status_code == 200
    assert {user["name"]: user["role"] for user in response.json()["users"]}["Bob"] == "admin"
    message = ConversationMessage.objects.filter(conversation=group).order_by("-seq").first()
    assert (message.kind, message.body) == ("system", "Alice made Bob an admin")
    assert message.system == {"action": "role_changed", "user_ids": [str(bob.id)], "role": "admin"}
    assert rename(client_for(bob), group, "Bob's now").status_code == 200
    assert remove(client_for(bob), group, carol).status_code == 204
    assert roles(client_for(alice), group) == {"Alice": "owner", "Bob": "admin"}


def test_an_admin_removes_neither_the_owner_nor_another_admin_nor_changes_roles(client_for, alice, bob, carol, group):
    for user in (bob, carol):
        assert set_role(client_for(alice), group, user, "admin").status_code == 200
    for response in (remove(client_for(bob), group, alice), remove(client_for(bob), group, carol),
                     set_role(client_for(bob), group, carol, "member")):
        assert response.status_code == 403
        assert response.json()["code"] == "not_owner"
    assert ConversationMember.objects.filter(conversation=group).count() == 3
    assert remove(client_for(alice), group, carol).status_code == 204, "the owner removes an admin"


def test_the_owner_hands_the_group_on_and_becomes_an_admin(client_for, alice, bob, carol, group):
    assert set_role(client_for(alice), group, carol, "owner").status_code == 200
    assert Conversation.objects.get(id=group.id).owner_id == carol.id
    assert roles(client_for(bob), group) == {"Alice": "admin", "Bob": "member", "Carol": "owner"}
    assert set_role(client_for(alice), group, bob, "admin").json()["code"] == "not_owner"
    assert ConversationMessage.objects.filter(conversation=group).order_by("-seq").first().body == (
        "Alice made Carol the owner"
    )


def test_when_the_owner_leaves_the_earliest_admin_takes_over_before_earlier_members(
    client_for, make_user, alice, bob, carol, group
):
    dave = make_user("Dave")
    client_for(alice).post(f"/api/chat/{group.id}/members/", {"user_ids": [str(dave.id)]}, format="json")
    assert set_role(client_for(alice), group, dave, "admin").status_code == 200
    assert remove(client_for(alice), group, alice).status_code == 204
    assert Conversation.objects.get(id=group.id).owner_id == dave.id, "Bob and Carol joined earlier, but Dave is the admin"
    assert roles(client_for(bob), group)["Dave"] == "owner"


def test_role_changes_refuse_bad_input_and_strangers(client_for, make_user, alice, bob, group, direct):
    assert set_role(client_for(alice), group, bob, "king").status_code == 400
    assert set_role(client_for(alice), group, make_user("Eve"), "admin").status_code == 404
    response = set_role(client_for(alice), direct, bob, "admin")
    assert (response.status_code, response.json()["code"]) == (400, "direct_conversation")
    assert set_role(client_for(make_user("Mallory")), group, bob, "admin").status_code == 404
    assert set_role(client_for(alice), group, alice, "member").status_code == 200, "one's own role changes nothing"
    assert Conversation.objects.get(id=group.id).owner_id == alice.id
    assert not ConversationMember.objects.filter(conversation=group, role=ADMIN).exists()


def test_admins_delete_others_messages_and_members_do_not(client_for, alice, bob, carol, group, direct):
    carols = send(group, carol, "off topic")
    response = client_for(bob).delete(f"/api/chat/{group.id}/messages/{carols.id}/")
    assert response.status_code == 403
    assert set_role(client_for(alice), group, bob, "admin").status_code == 200
    response = client_for(bob).delete(f"/api/chat/{group.id}/messages/{carols.id}/")
    assert response.status_code == 200 and response.json()["deleted"] is True
    alices = send(group, alice, "from the owner")
    assert client_for(bob).delete(f"/api/chat/{group.id}/messages/{alices.id}/").status_code == 200
    bobs = send(direct, bob, "mine")
    assert client_for(alice).delete(f"/api/chat/{direct.id}/messages/{bobs.id}/").status_code == 403


async def test_members_hear_of_a_role_change_on_their_sockets(client_for, alice, bob, carol, group):
    async with notifications(carol) as carols_feed, room(group, carol) as carols_room:
        response = await database_sync_to_async(set_role)(client_for(alice), group, bob, "admin")
        assert response.status_code == 200
        update = await receive(carols_feed, skip={"presence", "notification"})
        assert update["type"] == "conversation.updated"
        assert update["change"] == {"action": "role_changed", "user_ids": [str(bob.id)], "role": "admin",
                                    "by": str(alice.id)}
        assert {user["name"]: user["role"] for user in update["conversation"]["users"]}["Bob"] == "admin"
        system = await receive(carols_room)
        assert (system["kind"], system["body"]) == ("system", "Alice made Bob an admin")
