"""Replies and reactions, over REST and the room socket."""

from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async

from chat.models import ConversationMessage, Reaction
from chat.messages.services import message_delete
from tests.plugins.conversations import UNKNOWN_ID, post_message, send
from tests.plugins.sockets import assert_silent, receive, room

pytestmark = pytest.mark.django_db(transaction=True)

THUMBS, HEART = "\U0001f44d", "\u2764\ufe0f"


def react(client, message, emoji=THUMBS):
    return client.post(
        f"/api/chat/{message.conversation_id}/messages/{message.id}/reactions/", {"emoji": emoji}, format="json"
    )


def unreact(client, message, emoji=THUMBS):
    return client.delete(f"/api/chat/{message.conversation_id}/messages/{message.id}/reactions/{quote(emoji)}/")


# --- Replies --------------------------------------------------------------------------


def test_a_reply_carries_who_and_what_it_answers(client_for, alice, bob, direct):
    original = send(direct, bob, "Lunch at noon? " + "x" * 200)
    response = post_message(client_for(alice), direct, "Yes!", reply_to=str(original.id))
    assert response.status_code == 201
    reply = response.json()["reply_to"]
    assert reply["id"] == str(original.id) and reply["seq"] == original.seq
    assert reply["created_by"]["id"] == str(bob.id)
    assert reply["deleted"] is False
    assert len(reply["body"]) == 140 and reply["body"].startswith("Lunch at noon? ") and reply["body"].endswith("\u2026")


def test_a_reply_to_a_message_deleted_later_shows_it_deleted(client_for, alice, bob, direct):
    original = send(direct, bob, "secret plan")
    reply = send(direct, alice, "ok", reply_to=str(original.id))
    message_delete(conversation_id=direct.id, user=bob, message_id=original.id)
    history = client_for(alice).get(f"/api/chat/{direct.id}/messages/").json()
    [shown] = [m for m in history if m["id"] == str(reply.id)]
    assert shown["reply_to"]["deleted"] is True
    assert shown["reply_to"]["body"] == ""


@pytest.mark.parametrize("target", ["other conversation", "unknown", "not a uuid", "deleted"])
def test_a_reply_must_answer_a_live_message_of_the_same_conversation(client_for, alice, bob, carol, direct, group, target):
    elsewhere = send(group, carol, "in the group")
    gone = send(direct, bob, "gone")
    message_delete(conversation_id=direct.id, user=bob, message_id=gone.id)
    reply_to = {"other conversation": str(elsewhere.id), "unknown": UNKNOWN_ID, "not a uuid": "abc",
                "deleted": str(gone.id)}[target]
    before = ConversationMessage.objects.filter(conversation=direct).count()
    response = post_message(client_for(alice), direct, "hm", reply_to=reply_to)
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_reply_to", "invalid"}
    assert ConversationMessage.objects.filter(conversation=direct).count() == before
    direct.refresh_from_db()
    assert direct.last_seq == before, "the refused reply took no seq"


async def test_a_reply_over_the_socket_reaches_the_room(alice, bob, direct):
    original = await database_sync_to_async(send)(direct, bob, "question?")
    async with room(direct, alice) as mine, room(direct, bob) as theirs:
        await mine.send_json_to({"type": "message.send", "body": "answer", "reply_to": str(original.id)})
        for ws in (mine, theirs):
            frame = await receive(ws)
            assert frame["type"] == "chat.message"
            assert frame["reply_to"]["id"] == str(original.id)
        await mine.send_json_to({"type": "message.send", "body": "x", "reply_to": UNKNOWN_ID, "client_id": "r2"})
        error = await receive(mine)
        assert (error["type"], error["code"], error["client_id"]) == ("error", "invalid_reply_to", "r2")
        await assert_silent(theirs)


# --- Reactions ------------------------------------------------------------------------


def test_reactions_are_counted_once_per_user_and_emoji(client_for, alice, bob, carol, group):
    message = send(group, alice, "party?")
    assert react(client_for(bob), message).status_code == 200
    assert react(client_for(bob), message).status_code == 200, "again: no change"
    assert react(client_for(carol), message).status_code == 200
    response = react(client_for(carol), message, HEART)
    assert response.status_code == 200
    assert response.json()["reactions"] == [
        {"emoji": THUMBS, "count": 2, "user_ids": [str(bob.id), str(carol.id)]},
        {"emoji": HEART, "count": 1, "user_ids": [str(carol.id)]},
    ]
    history = client_for(alice).get(f"/api/chat/{group.id}/messages/").json()
    assert history[-1]["reactions"] == response.json()["reactions"]
    response = unreact(client_for(bob), message)
    assert response.status_code == 200
    assert response.json()["reactions"][0] == {"emoji": THUMBS, "count": 1, "user_ids": [str(carol.id)]}
    assert unreact(client_for(bob), message).status_code == 200, "taking back what is not there changes nothing"
    assert Reaction.objects.filter(message=message).count() == 2


def test_an_unqualified_emoji_is_the_same_reaction_as_its_qualified_form(client_for, alice, bob, direct):
    message = send(direct, alice, "love it")
    react(client_for(bob), message, "\u2764")  # no variation selector
    response = react(client_for(alice), message, HEART)
    assert response.json()["reactions"] == [{"emoji": HEART, "count": 2, "user_ids": [str(bob.id), str(alice.id)]}]


@pytest.mark.parametrize("emoji", ["a", "hello", THUMBS * 2, ":+1:", "", "\U0001f3fb", "<script>"])
def test_only_one_emoji_is_a_reaction(client_for, alice, bob, direct, emoji):
    message = send(direct, alice, "hi")
    response = react(client_for(bob), message, emoji)
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_emoji", "invalid"}
    assert not Reaction.objects.exists()


def test_a_message_takes_a_bounded_number_of_different_reactions(settings, client_for, alice, bob, direct):
    settings.CHAT_REACTIONS_PER_MESSAGE = 2
    settings.CHAT_REACTION_USERS_SHOWN = 1
    message = send(direct, alice, "hi")
    assert react(client_for(bob), message, THUMBS).status_code == 200
    assert react(client_for(bob), message, HEART).status_code == 200
    response = react(client_for(bob), message, "\U0001f602")
    assert response.status_code == 400 and response.json()["code"] == "too_many_reactions"
    response = react(client_for(alice), message, THUMBS)
    assert response.status_code == 200, "an emoji already there is always welcome"
    assert response.json()["reactions"][0] == {"emoji": THUMBS, "count": 2, "user_ids": [str(bob.id)]}


def test_reactions_need_membership_and_a_live_message(client_for, alice, bob, carol, direct):
    message = send(direct, alice, "hi")
    assert react(client_for(carol), message).status_code == 404
    message_delete(conversation_id=direct.id, user=alice, message_id=message.id)
    assert react(client_for(bob), message).status_code == 400
    response = client_for(bob).post(f"/api/chat/{direct.id}/messages/{UNKNOWN_ID}/reactions/", {"emoji": THUMBS},
                                    format="json")
    assert response.status_code == 404


def test_deleting_a_message_drops_its_reactions(client_for, alice, bob, direct):
    message = send(direct, alice, "hi")
    react(client_for(bob), message)
    deleted = client_for(alice).delete(f"/api/chat/{direct.id}/messages/{message.id}/").json()
    assert deleted["reactions"] == []
    assert not Reaction.objects.exists()


async def test_reactions_over_the_socket_reach_the_room_with_the_new_counts(alice, bob, direct):
    message = await database_sync_to_async(send)(direct, alice, "hi")
    async with room(direct, alice) as mine, room(direct, bob) as theirs, room(direct, alice, original=True) as legacy:
        await theirs.send_json_to({"type": "reaction.add", "message_id": str(message.id), "emoji": THUMBS})
        for ws in (mine, theirs):
            frame = await receive(ws)
            assert frame == {
                "type": "chat.reaction", "message_id": str(message.id), "seq": message.seq, "user_id": str(bob.id),
                "emoji": THUMBS, "added": True,
                "reactions": [{"emoji": THUMBS, "count": 1, "user_ids": [str(bob.id)]}],
            }
        await theirs.send_json_to({"type": "reaction.remove", "message_id": str(message.id), "emoji": THUMBS})
        for ws in (mine, theirs):
            frame = await receive(ws)
            assert (frame["added"], frame["reactions"]) == (False, [])
        await theirs.send_json_to({"type": "reaction.add", "message_id": str(message.id), "emoji": "nope"})
        assert (await receive(theirs))["code"] == "invalid_emoji"
        await assert_silent(mine)
        await assert_silent(legacy, skip=set())
