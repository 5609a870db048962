"""Pinned messages: who may pin, the bound, idempotency, unpinning on delete and hide, the list, the room's events."""

import pytest
from channels.db import database_sync_to_async

from chat.conversations.groups import conversation_rename, conversation_set_role
from chat.messages.services import message_delete
from chat.models import ConversationMessage
from chat.moderation.services import message_hide
from tests.plugins.conversations import UNKNOWN_ID, send
from tests.plugins.sockets import assert_silent, receive, room
from useraccount.models import Block

pytestmark = pytest.mark.django_db(transaction=True)


def pin_url(message) -> str:
    return f"/api/chat/{message.conversation_id}/messages/{message.id}/pin/"


def pin(client, message):
    return client.post(pin_url(message))


def unpin(client, message):
    return client.delete(pin_url(message))


def pins(client, conversation, **params):
    return client.get(f"/api/chat/{conversation.id}/pins/", params)


def pinned_ids(conversation) -> set[str]:
    return {
        str(message_id)
        for message_id in ConversationMessage.objects.filter(
            conversation=conversation, pinned_at__isnull=False
        ).values_list("id", flat=True)
    }


# --- Who may pin ----------------------------------------------------------------------


def test_in_a_group_the_owner_and_admins_pin_and_members_may_not(client_for, alice, bob, carol, group):
    message = send(group, carol, "the plan")
    conversation_set_role(conversation_id=group.id, user=alice, member_id=bob.id, role="admin")
    refused = pin(client_for(carol), message)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_admin")
    assert pinned_ids(group) == set()
    assert pin(client_for(bob), message).status_code == 200  # an admin
    assert unpin(client_for(carol), message).status_code == 403
    assert unpin(client_for(alice), message).json()["pinned"] is False  # the owner
    answer = pin(client_for(alice), message)
    assert (answer.status_code, answer.json()["pinned"]) == (200, True)
    assert pinned_ids(group) == {str(message.id)}


def test_either_member_of_a_direct_conversation_pins(client_for, alice, bob, direct):
    mine, theirs = send(direct, alice, "mine"), send(direct, bob, "theirs")
    assert pin(client_for(alice), theirs).status_code == 200
    assert pin(client_for(bob), mine).status_code == 200
    assert pinned_ids(direct) == {str(mine.id), str(theirs.id)}
    assert unpin(client_for(alice), mine).status_code == 200
    assert pinned_ids(direct) == {str(theirs.id)}


def test_outsiders_and_unknown_messages_are_not_found(client_for, alice, bob, carol, direct, group):
    message = send(direct, alice, "private")
    assert pin(client_for(carol), message).status_code == 404
    assert pins(client_for(carol), direct).status_code == 404
    assert client_for(alice).post(f"/api/chat/{direct.id}/messages/{UNKNOWN_ID}/pin/").status_code == 404
    # A message of another conversation, through this one's URL.
    elsewhere = send(group, alice, "group")
    assert client_for(alice).post(f"/api/chat/{direct.id}/messages/{elsewhere.id}/pin/").status_code == 404
    assert pinned_ids(direct) == pinned_ids(group) == set()


def test_a_direct_conversation_a_block_closes_takes_no_pins(client_for, alice, bob, direct):
    message = send(direct, alice, "hi")
    Block.objects.create(blocker=bob, blocked=alice)
    answer = pin(client_for(alice), message)
    assert (answer.status_code, answer.json()["code"]) == (403, "blocked")
    assert pinned_ids(direct) == set()


@pytest.mark.parametrize("state,code", [
    ("deleted", "message_deleted"), ("moderated", "message_moderated"), ("system", "system_message"),
])
def test_deleted_hidden_and_system_messages_cannot_be_pinned(client_for, alice, bob, group, make_user, state, code):
    message = send(group, bob, "x")
    if state == "deleted":
        message_delete(conversation_id=group.id, user=bob, message_id=message.id)
    elif state == "moderated":
        message_hide(message_id=message.id, moderator=make_user("Mod", is_staff=True))
    else:
        conversation_rename(conversation_id=group.id, user=alice, title="New")
        message = ConversationMessage.objects.filter(conversation=group).latest("seq")
    answer = pin(client_for(alice), message)
    assert (answer.status_code, answer.json()["code"]) == (400, code)
    assert pinned_ids(group) == set()


# --- The bound and idempotency -----------------------------------------------------------


def test_a_conversation_holds_a_bounded_number_of_pins(settings, client_for, alice, bob, direct):
    settings.CHAT_PINS_PER_CONVERSATION = 2
    first, second, third = (send(direct, bob, f"m{n}") for n in range(3))
    client = client_for(alice)
    assert pin(client, first).status_code == 200
    assert pin(client, second).status_code == 200
    over = pin(client, third)
    assert (over.status_code, over.json()["code"]) == (400, "too_many_pins")
    assert "at most 2" in over.json()["detail"]
    assert pin(client, second).status_code == 200, "pinning a pinned message at the bound changes nothing"
    assert unpin(client, first).status_code == 200
    assert pin(client, third).status_code == 200
    assert pinned_ids(direct) == {str(second.id), str(third.id)}


def test_pinning_twice_changes_nothing_and_posts_one_system_message(client_for, alice, bob, group):
    message = send(group, bob, "keep this")
    assert pin(client_for(alice), message).status_code == 200
    message.refresh_from_db()
    first_pinned_at = message.pinned_at
    assert pin(client_for(bob), message).status_code == 403  # a member, whatever the state
    assert pin(client_for(alice), message).status_code == 200
    message.refresh_from_db()
    assert (message.pinned_at, message.pinned_by_id) == (first_pinned_at, alice.id)
    system = list(ConversationMessage.objects.filter(conversation=group, kind="system", system__action="message_pinned"))
    assert len(system) == 1
    assert system[0].body == "Alice pinned a message"
    assert system[0].system == {"action": "message_pinned", "user_ids": [], "message_id": str(message.id)}
    # Unpinning twice is the same.
    assert unpin(client_for(alice), message).status_code == 200
    answer = unpin(client_for(alice), message)
    assert (answer.status_code, answer.json()["pinned"]) == (200, False)


# --- A pin goes with its message -----------------------------------------------------------


def test_a_deleted_or_hidden_message_stops_being_pinned(client_for, alice, bob, group, make_user):
    deleted, hidden, kept = send(group, bob, "a"), send(group, bob, "b"), send(group, bob, "c")
    for message in (deleted, hidden, kept):
        assert pin(client_for(alice), message).status_code == 200
    message_delete(conversation_id=group.id, user=bob, message_id=deleted.id)
    message_hide(message_id=hidden.id, moderator=make_user("Mod", is_staff=True))
    assert pinned_ids(group) == {str(kept.id)}
    listed = pins(client_for(bob), group).json()
    assert [pin["message"]["id"] for pin in listed] == [str(kept.id)]
    history = {m["id"]: m for m in client_for(bob).get(f"/api/chat/{group.id}/messages/").json()}
    assert (history[str(deleted.id)]["pinned"], history[str(hidden.id)]["pinned"]) == (False, False)


# --- The list --------------------------------------------------------------------------


def test_the_pins_list_is_newest_pin_first_with_who_and_when_and_paged(client_for, alice, bob, direct):
    older, newer = send(direct, bob, "older"), send(direct, bob, "newer")
    client = client_for(alice)
    assert pin(client, newer).status_code == 200
    assert pin(client, older).status_code == 200  # pinned last: listed first
    listed = pins(client, direct)
    assert listed.status_code == 200
    data = listed.json()
    assert [item["message"]["body"] for item in data] == ["older", "newer"]
    assert data[0]["pinned_by"] == {"id": str(alice.id), "name": "Alice", "avatar_url": ""}
    assert data[0]["pinned_at"] >= data[1]["pinned_at"]
    assert data[0]["message"]["pinned"] is True
    first_page = pins(client, direct, limit=1)
    assert [item["message"]["body"] for item in first_page.json()] == ["older"]
    next_url = first_page.headers["Link"].split(">")[0].lstrip("<")
    assert [item["message"]["body"] for item in client.get(next_url).json()] == ["newer"]


def test_listing_pins_costs_the_same_queries_however_many(client_for, alice, bob, direct, django_assert_max_num_queries):
    client = client_for(alice)
    for n in range(5):
        assert pin(client, send(direct, bob, f"m{n}")).status_code == 200
    with django_assert_max_num_queries(6):
        assert len(pins(client, direct).json()) == 5


# --- Events on the room's sockets ------------------------------------------------------------


async def test_the_room_hears_pins_unpins_and_a_pin_ending_with_its_message(client_for, alice, bob, direct):
    message = await database_sync_to_async(send)(direct, bob, "hold on to this")
    client = client_for(alice)
    async with room(direct, alice) as mine, room(direct, bob) as theirs, room(direct, bob, original=True) as legacy:
        assert (await database_sync_to_async(pin)(client, message)).status_code == 200
        for ws in (mine, theirs):
            system = await receive(ws)
            assert (system["type"], system["kind"], system["body"]) == ("chat.message", "system", "Alice pinned a message")
            frame = await receive(ws)
            assert frame["type"] == "chat.pinned"
            assert (frame["message_id"], frame["seq"], frame["pinned_by"]["id"]) == (str(message.id), message.seq, str(alice.id))
            assert frame["message"]["pinned"] is True and frame["pinned_at"]
        # The original client shows the system message only.
        assert (await receive(legacy, skip=set()))["body"] == "Alice pinned a message"
        await assert_silent(legacy, skip=set())
        assert (await database_sync_to_async(unpin)(client, message)).status_code == 200
        for ws in (mine, theirs):
            assert await receive(ws) == {
                "type": "chat.unpinned", "message_id": str(message.id), "seq": message.seq, "by": str(alice.id),
            }
        assert (await database_sync_to_async(pin)(client, message)).status_code == 200
        for ws in (mine, theirs):
            assert [(await receive(ws))["type"] for _ in range(2)] == ["chat.message", "chat.pinned"]
        await database_sync_to_async(message_delete)(conversation_id=direct.id, user=bob, message_id=message.id)
        for ws in (mine, theirs):
            frames = [await receive(ws) for _ in range(2)]
            assert {frame["type"] for frame in frames} == {"chat.unpinned", "chat.message.deleted"}
            [ended] = [frame for frame in frames if frame["type"] == "chat.unpinned"]
            assert ended["by"] is None
        await assert_silent(mine)
