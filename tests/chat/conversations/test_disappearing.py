"""The disappearing-messages timer: who sets it, which values, what members see (chat.conversations.groups)."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Conversation, ConversationMember, ConversationMessage
from tests.plugins.conversations import UNKNOWN_ID, send
from tests.plugins.sockets import notifications, receive, room

pytestmark = pytest.mark.django_db(transaction=True)

DAY = 86400


def set_timer(client, conversation, seconds):
    return client.put(f"/api/chat/{conversation.id}/disappearing/", {"seconds": seconds}, format="json")


def timer(conversation) -> int | None:
    return Conversation.objects.values_list("disappearing_seconds", flat=True).get(id=conversation.id)


def system_messages(conversation) -> list[ConversationMessage]:
    return list(ConversationMessage.objects.filter(conversation=conversation, kind="system").order_by("seq"))


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_the_owner_and_admins_set_the_timer_with_a_system_message(client_for, alice, bob, group, role):
    ConversationMember.objects.filter(conversation=group, user=bob).update(role="admin")
    actor = alice if role == "owner" else bob
    response = set_timer(client_for(actor), group, DAY)
    assert response.status_code == 200, response.json()
    assert response.json()["disappearing_seconds"] == DAY
    assert timer(group) == DAY
    [message] = system_messages(group)
    assert message.system == {"action": "disappearing_set", "user_ids": [], "seconds": DAY}
    assert message.body == f"{actor.display_name} set messages to disappear after 1 day"
    assert message.expires_at is None, "the notice itself does not disappear"
    detail = client_for(alice).get(f"/api/chat/{group.id}/").json()
    assert detail["conversation"]["disappearing_seconds"] == DAY
    assert detail["messages"][-1]["system"]["action"] == "disappearing_set"


def test_a_member_may_not_set_the_timer(client_for, bob, group):
    response = set_timer(client_for(bob), group, DAY)
    assert response.status_code == 403
    assert response.json()["code"] == "not_admin"
    assert timer(group) is None and not system_messages(group)


def test_a_non_member_is_told_there_is_no_such_conversation(client_for, make_user, group):
    outsider = make_user("Eve")
    assert set_timer(client_for(outsider), group, DAY).status_code == 404
    assert client_for(outsider).put(f"/api/chat/{UNKNOWN_ID}/disappearing/", {"seconds": DAY}, format="json").status_code == 404
    assert timer(group) is None


@pytest.mark.parametrize("member", ["alice", "bob"])
def test_either_member_of_a_direct_conversation_sets_it_and_turns_it_off(client_for, alice, bob, direct, member):
    actor = {"alice": alice, "bob": bob}[member]
    assert set_timer(client_for(actor), direct, 3600).json()["disappearing_seconds"] == 3600
    response = set_timer(client_for(actor), direct, None)
    assert response.status_code == 200 and response.json()["disappearing_seconds"] is None
    first, second = system_messages(direct)
    assert (first.system["seconds"], second.system["seconds"]) == (3600, None)
    assert second.body == f"{actor.display_name} turned off disappearing messages"
    assert [first.seq, second.seq] == [1, 2]


@pytest.mark.parametrize("seconds", [0, 60, 3601, 2 * DAY, -3600, "day", True, 86400.5, [DAY]])
def test_only_the_listed_timers_are_accepted(client_for, alice, group, seconds):
    response = set_timer(client_for(alice), group, seconds)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] in {"invalid_disappearing_timer", "invalid"}, body
    if body["code"] == "invalid_disappearing_timer":
        assert "3600 (1 hour), 86400 (1 day), 604800 (7 days), 7776000 (90 days)" in body["detail"]
    assert timer(group) is None and not system_messages(group)


@pytest.mark.parametrize("seconds", [3600, 86400, 604800, 7776000, None])
def test_every_listed_timer_is_accepted(client_for, alice, direct, seconds):
    response = set_timer(client_for(alice), direct, seconds)
    assert response.status_code == 200
    assert timer(direct) == seconds


def test_the_same_timer_again_changes_nothing(client_for, alice, group):
    set_timer(client_for(alice), group, DAY)
    assert set_timer(client_for(alice), group, DAY).status_code == 200
    assert set_timer(client_for(alice), group, None).status_code == 200
    assert set_timer(client_for(alice), group, None).status_code == 200
    assert len(system_messages(group)) == 2


def test_the_timer_applies_to_messages_sent_after_it_was_set(client_for, alice, bob, direct):
    before = send(direct, alice, "before")
    set_timer(client_for(bob), direct, 3600)
    after = send(direct, alice, "after")
    set_timer(client_for(bob), direct, None)
    off = send(direct, alice, "off again")
    before.refresh_from_db(), after.refresh_from_db(), off.refresh_from_db()
    assert before.expires_at is None and off.expires_at is None
    assert after.expires_at is not None
    assert abs((after.expires_at - after.created_at).total_seconds() - 3600) < 1


async def test_members_hear_of_the_change_in_the_room_and_on_their_feeds(client_for, alice, bob, direct):
    async with notifications(bob) as bobs_feed, room(direct, bob) as bobs_room:
        response = await database_sync_to_async(set_timer)(client_for(alice), direct, 604800)
        assert response.status_code == 200
        update = await receive(bobs_feed, skip={"presence", "notification"})
        assert update["type"] == "conversation.updated"
        assert update["conversation"]["disappearing_seconds"] == 604800
        assert update["change"] == {
            "action": "disappearing_set", "user_ids": [], "seconds": 604800, "by": str(alice.id)
        }
        notice = await receive(bobs_room)
        assert (notice["type"], notice["kind"], notice["system"]["seconds"]) == ("chat.message", "system", 604800)
