"""
``user.status`` frames (useraccount.status, chat.accounts.status_changed):
announced to whoever sees the user's presence (room and notifications
sockets of their conversations, never a direct one a block closes), to the
user's own other sockets once, and to a contact once however many
conversations they share.
"""

import pytest
from channels.db import database_sync_to_async

from tests.factories import BlockFactory
from tests.plugins.sockets import assert_silent, notifications, receive, room
from useraccount.status import user_status_clear, user_status_set

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def set_status(user, **fields):
    return user_status_set(user=user, **fields)


async def test_members_and_contacts_are_told_once_and_so_are_the_users_own_sockets(alice, bob, carol, direct, group):
    async with room(group, carol) as carols_room, notifications(bob) as bobs_feed, \
            notifications(alice) as own_feed, room(direct, alice) as own_room:
        await set_status(alice, text="Lunch", emoji="\U0001f35d")
        expected = {"type": "user.status", "user_id": str(alice.id),
                    "status": {"text": "Lunch", "emoji": "\U0001f35d", "expires_at": None}}
        for socket in (carols_room, bobs_feed, own_feed, own_room):
            assert await receive(socket) == expected
        # Bob shares the direct conversation and the group with Alice, and so does Alice herself: once each.
        for socket in (bobs_feed, own_feed, own_room):
            await assert_silent(socket)
        await database_sync_to_async(user_status_clear)(user=alice)
        assert (await receive(bobs_feed))["status"] is None
        assert (await receive(carols_room))["status"] is None


async def test_a_direct_conversation_a_block_closes_is_not_told(alice, bob, direct):
    await database_sync_to_async(BlockFactory)(blocker=bob, blocked=alice)
    async with room(direct, bob) as bobs_room, notifications(bob) as bobs_feed:
        await set_status(alice, text="Hello?")
        await assert_silent(bobs_room)
        await assert_silent(bobs_feed)


async def test_the_original_client_is_not_sent_statuses(alice, bob, direct):
    async with room(direct, bob, original=True) as legacy:
        await set_status(alice, text="Away")
        await assert_silent(legacy)
