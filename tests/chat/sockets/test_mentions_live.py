"""
Mentions and notification levels on real sockets: a muted member is still
told of a mention (and of nothing else), a "mentions" level lets only
mentions through, a level chosen on one device reaches the others, an edit
that adds a mention tells the newly mentioned, a block keeps even mentions out.
"""

import pytest
from channels.db import database_sync_to_async

from chat.conversations.membership import conversation_mute, conversation_set_notification_level
from chat.messages.services import message_edit
from tests.plugins.conversations import send
from tests.plugins.sockets import assert_silent, drain, notifications, receive, room
from useraccount.models import Block

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_muted_member_is_told_of_a_mention_and_of_nothing_else(alice, bob, carol, group):
    await database_sync_to_async(conversation_mute)(conversation_id=group.id, user=bob)
    async with notifications(bob) as feed:
        await drain(feed)
        await database_sync_to_async(send)(group, alice, "plain")
        await assert_silent(feed)
        message = await database_sync_to_async(send)(group, alice, f"<@{bob.id}> look")
        frame = await receive(feed)
        assert frame["type"] == "notification" and frame["mentioned"] is True
        assert frame["message"]["id"] == str(message.id) and frame["message"]["mentions"] == [str(bob.id)]
        await database_sync_to_async(send)(group, alice, f"<@{carol.id}> only carol")
        await assert_silent(feed)


async def test_an_unmuted_member_is_told_of_every_message_and_which_mention_them(alice, bob, carol, group):
    async with notifications(bob) as feed:
        await drain(feed)
        await database_sync_to_async(send)(group, alice, "plain")
        assert (await receive(feed))["mentioned"] is False
        await database_sync_to_async(send)(group, carol, "@all hello")
        assert (await receive(feed))["mentioned"] is True


async def test_the_mentions_level_lets_only_mentions_through_and_reaches_every_socket_of_the_user(
    alice, bob, group
):
    async with notifications(bob) as feed, notifications(bob) as other_device, room(group, bob) as chat:
        await drain(feed), await drain(other_device), await drain(chat)
        await database_sync_to_async(conversation_set_notification_level)(
            conversation_id=group.id, user=bob, level="mentions"
        )
        expected = {"type": "conversation.notifications", "conversation_id": str(group.id), "level": "mentions"}
        assert await receive(feed) == expected
        assert await receive(other_device) == expected
        await database_sync_to_async(send)(group, alice, "plain")
        await assert_silent(other_device)
        await database_sync_to_async(send)(group, alice, f"<@{bob.id}> look")
        assert (await receive(other_device))["mentioned"] is True
        assert (await receive(feed))["mentioned"] is True
        assert [(await receive(chat))["body"] for _ in range(2)] == ["plain", f"<@{bob.id}> look"], (
            "the room shows every message whatever the level"
        )

        await database_sync_to_async(conversation_set_notification_level)(
            conversation_id=group.id, user=bob, level="none"
        )
        await receive(feed)
        await database_sync_to_async(send)(group, alice, f"<@{bob.id}> again")
        await assert_silent(feed)


async def test_an_edit_that_adds_a_mention_tells_the_newly_mentioned_only(alice, bob, carol, group):
    await database_sync_to_async(conversation_mute)(conversation_id=group.id, user=bob)
    await database_sync_to_async(conversation_mute)(conversation_id=group.id, user=carol)
    message = await database_sync_to_async(send)(group, alice, f"<@{carol.id}> look")
    async with notifications(bob) as bob_feed, notifications(carol) as carol_feed:
        await drain(bob_feed), await drain(carol_feed)
        await database_sync_to_async(message_edit)(
            conversation_id=group.id, user=alice, message_id=message.id, body=f"<@{carol.id}> <@{bob.id}> look"
        )
        updated = await receive(bob_feed)
        assert updated["type"] == "chat.message.updated"
        mention = await receive(bob_feed)
        assert mention["type"] == "notification" and mention["mentioned"] is True
        assert mention["message"]["mentions"] == [str(carol.id), str(bob.id)]
        assert (await receive(carol_feed))["type"] == "chat.message.updated"
        await assert_silent(carol_feed), "carol was mentioned already"


async def test_a_mention_from_someone_blocked_is_not_announced(alice, bob, group):
    await database_sync_to_async(Block.objects.create)(blocker=bob, blocked=alice)
    async with notifications(bob) as feed:
        await drain(feed)
        await database_sync_to_async(send)(group, alice, f"<@{bob.id}> look")
        await assert_silent(feed)


async def test_a_level_chosen_earlier_holds_on_a_socket_opened_later(alice, bob, group):
    await database_sync_to_async(conversation_set_notification_level)(
        conversation_id=group.id, user=bob, level="mentions"
    )
    async with notifications(bob) as feed:
        await drain(feed)
        await database_sync_to_async(send)(group, alice, "plain")
        await assert_silent(feed)
        await database_sync_to_async(send)(group, alice, f"<@{bob.id}> look")
        assert (await receive(feed))["mentioned"] is True
