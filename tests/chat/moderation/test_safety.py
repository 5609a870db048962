"""Blocking users, muting conversations, reporting, and the moderators' actions: REST, sockets and the admin."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat.models import ConversationMember, ConversationMessage, ModerationAction, Report
from chat.conversations.membership import conversation_mute
from chat.moderation.services import message_hide, report_create, report_resolve, user_deactivate_for_moderation
from tests.factories import GroupConversationFactory
from tests.plugins.conversations import UNKNOWN_ID, post_message, send
from tests.plugins.sockets import assert_silent, close_code, drain, notifications, presence_frame, receive, room
from useraccount.models import Block
from useraccount.services import user_block

pytestmark = pytest.mark.django_db(transaction=True)


def block(client, user):
    return client.post("/api/auth/blocks/", {"user_id": str(user.id)}, format="json")


def unblock(client, user):
    return client.delete(f"/api/auth/blocks/{user.id}/")


def report(client, **fields):
    return client.post("/api/reports/", {"reason": "spam", **fields}, format="json")


# --- Blocking


def test_blocking_is_idempotent_listed_in_pages_and_undone(client_for, make_user, alice, bob):
    client = client_for(alice)
    first = block(client, bob)
    assert first.status_code == 201
    assert first.json()["user"] == {"id": str(bob.id), "name": "Bob", "avatar_url": ""}
    assert block(client, bob).status_code == 200, "blocking again changes nothing"
    assert Block.objects.filter(blocker=alice).count() == 1
    others = [make_user(f"Other {n}") for n in range(3)]
    for other in others:
        assert block(client, other).status_code == 201
    page = client.get("/api/auth/blocks/?limit=2")
    assert page.status_code == 200
    assert [item["user"]["id"] for item in page.json()] == [str(others[2].id), str(others[1].id)]
    assert 'rel="next"' in page["Link"]
    rest = client.get(page["Link"].split(";")[0].strip("<>"))
    assert [item["user"]["id"] for item in rest.json()] == [str(others[0].id), str(bob.id)]
    assert client_for(bob).get("/api/auth/blocks/").json() == [], "each user sees their own blocks"
    assert unblock(client, bob).status_code == 204
    assert unblock(client, bob).status_code == 204, "unblocking again changes nothing"
    for anything in (UNKNOWN_ID, "not-a-uuid"):
        answer = client.delete(f"/api/auth/blocks/{anything}/")
        assert answer.status_code == 204, f"unblocking {anything} is idempotent too, as documented"
    assert not Block.objects.filter(blocker=alice, blocked=bob).exists()


def test_blocking_oneself_nobody_or_past_the_limit_is_refused(settings, client_for, make_user, alice, bob):
    client = client_for(alice)
    assert block(client, alice).status_code == 400
    missing = client.post("/api/auth/blocks/", {"user_id": UNKNOWN_ID}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert client.post("/api/auth/blocks/", {"user_id": "nope"}, format="json").status_code == 400
    settings.USER_MAX_BLOCKS = 1
    assert block(client, bob).status_code == 201
    over = block(client, make_user("Carl"))
    assert (over.status_code, over.json()["code"]) == (400, "too_many_blocks")
    assert block(client, bob).status_code == 200, "an existing block is not a new one"
    assert Block.objects.filter(blocker=alice).count() == 1


@pytest.mark.parametrize("who_blocks", ["alice", "bob"])
def test_no_direct_conversation_either_way_while_one_blocks_the_other(client_for, alice, bob, direct, who_blocks):
    blocker, other = (alice, bob) if who_blocks == "alice" else (bob, alice)
    assert block(client_for(blocker), other).status_code == 201
    for sender, receiver in ((alice, bob), (bob, alice)):
        started = client_for(sender).post(f"/api/chat/start/{receiver.id}/")
        assert (started.status_code, started.json()["code"]) == (403, "blocked")
        sent = post_message(client_for(sender), direct, "hello?")
        assert (sent.status_code, sent.json()["code"]) == (403, "blocked")
    assert not ConversationMessage.objects.filter(conversation=direct).exists()
    direct.refresh_from_db()
    assert direct.last_seq == 0, "the refused message took no seq"
    assert unblock(client_for(blocker), other).status_code == 204
    assert post_message(client_for(other), direct, "hello again").status_code == 201


@pytest.mark.parametrize("who_blocks", ["alice", "bob"])
def test_no_edits_or_reactions_in_a_direct_conversation_while_one_blocks_the_other(
    client_for, alice, bob, direct, who_blocks
):
    mine = post_message(client_for(bob), direct, "before the block").json()
    theirs = post_message(client_for(alice), direct, "also before").json()
    blocker, other = (alice, bob) if who_blocks == "alice" else (bob, alice)
    assert block(client_for(blocker), other).status_code == 201
    edited = client_for(bob).patch(
        f"/api/chat/{direct.id}/messages/{mine['id']}/", {"body": "new words after the block"}, format="json"
    )
    assert (edited.status_code, edited.json()["code"]) == (403, "blocked")
    reacted = client_for(bob).post(
        f"/api/chat/{direct.id}/messages/{theirs['id']}/reactions/", {"emoji": "\N{THUMBS UP SIGN}"}, format="json"
    )
    assert (reacted.status_code, reacted.json()["code"]) == (403, "blocked")
    assert ConversationMessage.objects.get(id=mine["id"]).body == "before the block"
    assert ConversationMessage.objects.get(id=theirs["id"]).reaction_summary == []
    assert unblock(client_for(blocker), other).status_code == 204
    assert client_for(bob).patch(
        f"/api/chat/{direct.id}/messages/{mine['id']}/", {"body": "after unblocking"}, format="json"
    ).status_code == 200


def test_nobody_is_put_in_a_group_by_someone_they_blocked(client_for, make_user, alice, bob, group):
    carol = make_user()
    assert block(client_for(alice), bob).status_code == 201
    created = client_for(bob).post("/api/chat/", {"user_ids": [str(alice.id), str(carol.id)]}, format="json")
    assert (created.status_code, created.json()["code"]) == (403, "blocked")
    # The blocker may still put the blocked user in a group (their choice), and others are unaffected.
    assert client_for(alice).post("/api/chat/", {"user_ids": [str(bob.id)]}, format="json").status_code == 201
    own = client_for(bob).post("/api/chat/", {"user_ids": [str(carol.id)]}, format="json")
    assert own.status_code == 201
    added = client_for(bob).post(
        f"/api/chat/{own.json()['id']}/members/", {"user_ids": [str(alice.id)]}, format="json"
    )
    assert (added.status_code, added.json()["code"]) == (403, "blocked")
    assert not ConversationMember.objects.filter(conversation_id=own.json()["id"], user=alice).exists()


def test_blocking_leaves_groups_alone(client_for, alice, bob, group):
    assert block(client_for(alice), bob).status_code == 201
    assert post_message(client_for(bob), group, "still here").status_code == 201
    assert post_message(client_for(alice), group, "me too").status_code == 201
    assert ConversationMember.objects.filter(conversation=group).count() == 3


async def test_a_blocked_user_cannot_send_on_the_socket(alice, bob, direct):
    await database_sync_to_async(user_block)(blocker=alice, user_id=bob.id)
    async with room(direct, bob) as ws:
        await ws.send_json_to({"type": "message.send", "body": "hi", "client_id": "x1"})
        error = await receive(ws)
        assert (error["type"], error["code"], error["client_id"]) == ("error", "blocked", "x1")


async def test_the_blocker_hears_nothing_from_the_blocked_anywhere_and_learns_live(client_for, alice, bob, carol, group,
                                                                                     direct):
    async with notifications(alice) as feed, notifications(alice) as other_device:
        await drain(feed)
        await drain(other_device)
        response = await database_sync_to_async(block)(client_for(alice), bob)
        assert response.status_code == 201
        for socket in (feed, other_device):
            assert await receive(socket) == {"type": "block.updated", "user_id": str(bob.id), "blocked": True}
        await database_sync_to_async(send)(group, bob, "from the blocked")
        await database_sync_to_async(send)(group, carol, "from carol")
        notification = await receive(feed)
        assert notification["message"]["body"] == "from carol", "nothing from Bob, even in a group"
        await database_sync_to_async(unblock)(client_for(alice), bob)
        assert (await receive(feed))["blocked"] is False
        await database_sync_to_async(send)(group, bob, "unblocked")
        assert (await receive(feed))["message"]["body"] == "unblocked"
    # A socket opened later knows the blocks from the start.
    await database_sync_to_async(user_block)(blocker=alice, user_id=bob.id)
    async with notifications(alice) as feed, room(group, alice) as alices_room:
        await drain(feed)
        await database_sync_to_async(send)(group, bob, "still blocked")
        await assert_silent(feed)
        frame = await receive(alices_room)
        assert frame["body"] == "still blocked", "the room shows everything; clients may hide it (docs)"


def state_of(frames) -> list[str]:
    """The ``online`` of the ``presence.state`` among frames just received."""
    return next(frame["online"] for frame in frames if frame["type"] == "presence.state")


@pytest.mark.parametrize("who_blocks", ["alice", "bob"])
async def test_a_block_stops_typing_and_presence_both_ways_in_the_direct_conversation_not_in_groups(
    settings, alice, bob, direct, group, who_blocks
):
    settings.PRESENCE_HEARTBEAT = 0.1  # a leak through the heartbeat would show within the test
    blocker, other = (alice, bob) if who_blocks == "alice" else (bob, alice)
    await database_sync_to_async(user_block)(blocker=blocker, user_id=other.id)
    async with room(direct, alice) as alice_direct, room(group, alice) as alice_group:
        assert state_of(await drain(alice_direct)) == [str(alice.id)]
        await drain(alice_group)
        async with room(direct, bob) as bob_direct, room(group, bob) as bob_group:
            assert state_of(await drain(bob_direct)) == [str(bob.id)], "Alice is online, but not shown there"
            assert state_of(await drain(bob_group)) == sorted([str(alice.id), str(bob.id)])
            assert await receive(alice_group, skip=()) == presence_frame(bob, True), "the group is told"
            for typist, watcher in ((bob_direct, alice_direct), (alice_direct, bob_direct)):
                await typist.send_json_to({"type": "typing"})
                await assert_silent(watcher, skip=(), timeout=0.5)
            await bob_group.send_json_to({"type": "typing"})
            assert (await receive(alice_group, skip=()))["type"] == "chat.typing", "groups are unaffected"
        assert await receive(alice_group, skip=()) == presence_frame(bob, False)
        await assert_silent(alice_direct, skip=(), timeout=0.3)


async def test_a_block_made_or_lifted_on_open_sockets_applies_at_once(settings, client_for, alice, bob, direct):
    settings.PRESENCE_HEARTBEAT = 0.1
    settings.TYPING_INTERVAL = 0.2
    async with room(direct, alice) as alice_direct, room(direct, bob) as bob_direct:
        await drain(alice_direct)
        await drain(bob_direct)
        assert (await database_sync_to_async(block)(client_for(alice), bob)).status_code == 201
        assert await receive(alice_direct, skip=()) == presence_frame(bob, False), "shown offline from now on"
        assert await receive(bob_direct, skip=()) == presence_frame(alice, False), "both ways"
        await bob_direct.send_json_to({"type": "typing"})
        await assert_silent(alice_direct, skip=(), timeout=0.5)
        assert (await database_sync_to_async(unblock)(client_for(alice), bob)).status_code == 204
        assert await receive(alice_direct, skip=()) == presence_frame(bob, True), "the next heartbeat shows them"
        assert await receive(bob_direct, skip=()) == presence_frame(alice, True)
        await asyncio.sleep(0.3)  # the typing interval of Bob's earlier, unrelayed notice
        await bob_direct.send_json_to({"type": "typing"})
        assert (await receive(alice_direct, skip=()))["type"] == "chat.typing"


def test_rest_shows_no_presence_across_a_block_but_in_shared_groups(client_for, alice, bob, carol, direct):
    from asgiref.sync import async_to_sync

    from chat.realtime.presence import presence_store

    async_to_sync(presence_store().touch)(str(bob.id), "bobs-socket")
    client = client_for(alice)

    def bob_online_in(conversation) -> bool | None:
        item = next(item for item in client.get("/api/chat/").json() if item["id"] == str(conversation.id))
        return next(user["online"] for user in item["users"] if user["id"] == str(bob.id))

    def shown_online() -> tuple:
        detail = client.get(f"/api/chat/{direct.id}/").json()["conversation"]["users"]
        return (
            bob_online_in(direct),
            next(user["online"] for user in detail if user["id"] == str(bob.id)),
            str(bob.id) in client.get("/api/chat/presence/").json()["online"],
            client.get(f"/api/auth/{bob.id}/").json().get("online"),
        )

    try:
        assert shown_online() == (True, True, True, True)
        assert block(client_for(bob), alice).status_code == 201
        assert shown_online() == (False, False, False, None), "nothing of Bob's presence in their direct conversation"
        shared = GroupConversationFactory(creator=carol, members=[alice, bob])
        assert bob_online_in(shared) is True, "a group they share shows it"
        assert shown_online() == (False, False, True, True), "and so do the contact list and the lookup"
    finally:
        async_to_sync(presence_store().leave)(str(bob.id), "bobs-socket")


# --- Muting


def mute(client, conversation, until=None):
    return client.put(f"/api/chat/{conversation.id}/mute/", {"until": until}, format="json")


def list_item(client, conversation) -> dict:
    return next(item for item in client.get("/api/chat/").json() if item["id"] == str(conversation.id))


def test_muting_shows_in_the_conversation_list_and_unmuting_ends_it(client_for, alice, group):
    client = client_for(alice)
    assert list_item(client, group)[("muted")] is False
    until = (timezone.now() + timedelta(hours=8)).replace(microsecond=0)
    answer = mute(client, group, until.isoformat())
    assert answer.status_code == 200
    assert answer.json() == {"muted": True, "muted_until": until.isoformat().replace("+00:00", "Z")}
    item = list_item(client, group)
    assert (item["muted"], item["muted_until"]) == (True, answer.json()["muted_until"])
    assert list_item(client_for(group.users.exclude(id=alice.id).first()), group)["muted"] is False, "per member"
    assert mute(client, group).json() == {"muted": True, "muted_until": None}
    assert client.delete(f"/api/chat/{group.id}/mute/").status_code == 204
    assert list_item(client, group)["muted"] is False


def test_a_mute_that_ran_out_is_shown_as_none(client_for, alice, group):
    ConversationMember.objects.filter(conversation=group, user=alice).update(
        muted=True, muted_until=timezone.now() - timedelta(minutes=1)
    )
    item = list_item(client_for(alice), group)
    assert (item["muted"], item["muted_until"]) == (False, None)


def test_a_mute_must_end_in_the_future_with_a_time_zone_and_be_of_ones_own_conversation(client_for, make_user, alice, group):
    client = client_for(alice)
    past = mute(client, group, (timezone.now() - timedelta(minutes=1)).isoformat())
    assert (past.status_code, past.json()["code"]) == (400, "invalid_until")
    naive = mute(client, group, "2030-01-01T00:00:00")
    assert (naive.status_code, naive.json()["code"], list(naive.json()["fields"])) == (400, "invalid_until", ["until"])
    assert mute(client, group, "2030-01-01T00:00:00+02:00").json()["muted_until"] == "2029-12-31T22:00:00Z"
    assert mute(client, group, "2030-01-01T00:00:00Z").status_code == 200
    assert mute(client, group, "tomorrow").status_code == 400
    outsider = client_for(make_user("Out"))
    assert mute(outsider, group).status_code == 404
    assert outsider.delete(f"/api/chat/{group.id}/mute/").status_code == 404


async def test_a_muted_conversation_sends_no_notifications_but_unread_counts_move(client_for, alice, bob, group, direct):
    async with notifications(alice) as feed, notifications(alice) as other_device:
        await drain(feed)
        await drain(other_device)
        answer = await database_sync_to_async(mute)(client_for(alice), group)
        assert answer.status_code == 200
        for socket in (feed, other_device):
            frame = await receive(socket)
            assert frame == {"type": "conversation.muted", "conversation_id": str(group.id), "muted": True,
                             "muted_until": None}
        await database_sync_to_async(send)(group, bob, "in the muted group")
        await database_sync_to_async(send)(direct, bob, "direct")
        assert (await receive(feed))["message"]["body"] == "direct"
        unread = await database_sync_to_async(client_for(alice).get)("/api/chat/unread/")
        assert unread.json()["conversations"][str(group.id)] == 1
        await database_sync_to_async(client_for(alice).delete)(f"/api/chat/{group.id}/mute/")
        assert (await receive(feed))["muted"] is False
        await database_sync_to_async(send)(group, bob, "unmuted")
        assert (await receive(feed))["message"]["body"] == "unmuted"


async def test_a_mute_runs_out_on_an_open_socket(alice, bob, group):
    soon = timezone.now() + timedelta(seconds=1.5)
    await database_sync_to_async(conversation_mute)(conversation_id=group.id, user=alice, until=soon)
    async with notifications(alice) as feed:
        await drain(feed)
        await database_sync_to_async(send)(group, bob, "while muted")
        await assert_silent(feed)
        await asyncio.sleep(max(0.0, (soon - timezone.now()).total_seconds()) + 0.1)
        await database_sync_to_async(send)(group, bob, "after the mute")
        assert (await receive(feed))["message"]["body"] == "after the mute"


def test_sync_result_carries_the_mute(alice, group):
    from chat.messages.selectors import changes_since
    from chat.conversations.serializers import sync_result_data
    from chat.threads.selectors import unread_threads

    conversation_mute(conversation_id=group.id, user=alice)
    data = sync_result_data(*changes_since(user=alice, known={}, limit=5), threads=unread_threads(user=alice, limit=5))
    entry = next(item for item in data["conversations"] if item["conversation"]["id"] == str(group.id))
    assert (entry["muted"], entry["muted_until"]) == (True, None)


# --- Reports


def test_a_member_reports_a_message_once_while_open(client_for, alice, bob, group):
    message = send(group, bob, "buy now")
    first = report(client_for(alice), message_id=str(message.id), reason="spam", details="an ad")
    assert first.status_code == 201
    body = first.json()
    assert (body["message_id"], body["user_id"], body["reason"], body["status"]) == (
        str(message.id), str(bob.id), "spam", "open"
    )
    again = report(client_for(alice), message_id=str(message.id), reason="harassment")
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    Report.objects.filter(id=body["id"]).update(status=Report.RESOLVED)
    assert report(client_for(alice), message_id=str(message.id)).status_code == 201, "a new one once resolved"


def test_only_members_report_messages_and_users_are_reported_by_id(client_for, make_user, alice, bob, group):
    message = send(group, bob, "hello")
    outsider = client_for(make_user("Eve"))
    refused = report(outsider, message_id=str(message.id))
    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert report(outsider, user_id=str(bob.id)).status_code == 201
    assert report(outsider, user_id=str(bob.id)).status_code == 200
    assert report(outsider, user_id=UNKNOWN_ID).status_code == 404
    assert report(client_for(bob), message_id=str(message.id)).status_code == 400, "not one's own message"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"message_id": UNKNOWN_ID, "user_id": UNKNOWN_ID},
        {"user_id": "placeholder", "reason": "boring"},
        {"user_id": "placeholder", "details": "x" * 1001},
    ],
    ids=["neither", "both", "reason", "details"],
)
def test_a_report_needs_one_target_a_known_reason_and_bounded_details(client_for, alice, bob, fields):
    fields = {key: str(bob.id) if value == "placeholder" else value for key, value in fields.items()}
    answer = report(client_for(alice), **fields)
    assert answer.status_code == 400
    assert not Report.objects.exists()


def test_reports_are_throttled(rest_settings, client_for, make_user, alice):
    rest_settings(rates={"report": "2/min"})
    client = client_for(alice)
    for _ in range(2):
        assert report(client, user_id=str(make_user().id)).status_code == 201
    over = report(client, user_id=str(make_user().id))
    assert (over.status_code, over.json()["code"]) == (429, "throttled")


def test_only_reports_made_count_toward_the_report_limit(rest_settings, client_for, make_user, alice, bob):
    rest_settings(rates={"report": "2/min"})
    client = client_for(alice)
    for _ in range(3):
        assert report(client, user_id=str(alice.id)).status_code == 400, "about oneself"
        assert report(client, user_id=str(bob.id), reason="boring").status_code == 400
        assert report(client, user_id=UNKNOWN_ID).status_code == 404
    assert report(client, user_id=str(bob.id)).status_code == 201
    assert report(client, user_id=str(bob.id)).status_code == 200, "a repeat of one's open report costs nothing"
    assert report(client, user_id=str(make_user().id)).status_code == 201
    over = report(client, user_id=str(make_user().id))
    assert (over.status_code, over.json()["code"]) == (429, "throttled")
    assert Report.objects.count() == 2


# --- Moderation


@pytest.fixture
def moderator(make_user):
    return make_user("Mod", is_staff=True, is_superuser=True)


def test_a_hidden_message_is_a_tombstone_for_members_everywhere(client_for, moderator, alice, bob, group):
    before = send(group, alice, "before")
    bad = send(group, bob, "findable nasty words")
    reply = send(group, alice, "replying", reply_to=str(bad.id))
    report_, _ = report_create(reporter=alice, message_id=bad.id, reason="harassment")
    message_hide(message_id=bad.id, moderator=moderator, report=report_)
    client = client_for(alice)
    history = {item["id"]: item for item in client.get(f"/api/chat/{group.id}/messages/").json()}
    assert history[str(bad.id)]["moderated"] is True
    assert history[str(bad.id)]["body"] == "" and history[str(bad.id)]["reactions"] == []
    assert history[str(before.id)]["moderated"] is False and history[str(before.id)]["body"] == "before"
    assert history[str(reply.id)]["reply_to"]["body"] == "" and history[str(reply.id)]["reply_to"]["moderated"]
    assert client.get("/api/chat/search/?q=nasty").json() == [], "search does not find it"
    assert client.get(f"/api/chat/{group.id}/messages/?q=nasty").json() == []
    detail = client.get(f"/api/chat/{group.id}/").json()["messages"]
    assert [m["body"] for m in detail if m["id"] == str(bad.id)] == [""]
    bad.refresh_from_db()
    assert bad.body == "findable nasty words" and bad.moderated_by_id == moderator.id, "kept for staff"
    edit = client_for(bob).patch(f"/api/chat/{group.id}/messages/{bad.id}/", {"body": "sorry"}, format="json")
    assert (edit.status_code, edit.json()["code"]) == (400, "message_moderated")
    react = client_for(alice).post(f"/api/chat/{group.id}/messages/{bad.id}/reactions/", {"emoji": "\U0001f44d"},
                                   format="json")
    assert react.status_code == 400
    log = ModerationAction.objects.get()
    assert (log.action, log.moderator_id, log.message_id, log.user_id, log.report_id) == (
        "hide_message", moderator.id, bad.id, bob.id, report_.id
    )


async def test_open_rooms_and_catch_up_see_the_message_hidden(moderator, alice, bob, group):
    bad = await database_sync_to_async(send)(group, bob, "nasty")
    async with room(group, alice) as ws:
        await database_sync_to_async(message_hide)(message_id=bad.id, moderator=moderator)
        frame = await receive(ws)
        assert (frame["type"], frame["id"], frame["moderated"], frame["body"]) == (
            "chat.message.updated", str(bad.id), True, ""
        )
    async with room(group, alice, after=0) as ws:
        frame = await receive(ws)
        assert (frame["id"], frame["moderated"], frame["body"]) == (str(bad.id), True, "")


async def test_deactivating_a_reported_user_closes_their_sockets_and_tokens(client_for, moderator, alice, bob, group):
    report_, _ = await database_sync_to_async(report_create)(reporter=alice, user_id=bob.id, reason="harassment")
    async with room(group, bob) as ws:
        await database_sync_to_async(user_deactivate_for_moderation)(user=bob, moderator=moderator, report=report_)
        assert await close_code(ws) == 4401
    answer = await database_sync_to_async(client_for(bob).get)("/api/chat/")
    assert answer.status_code == 401
    log = await database_sync_to_async(ModerationAction.objects.get)()
    assert (log.action, log.user_id, log.report_id) == ("deactivate_user", bob.id, report_.id)


def test_resolving_a_report_is_logged(moderator, alice, bob):
    report_, _ = report_create(reporter=alice, user_id=bob.id, reason="spam")
    report_resolve(report=report_, moderator=moderator)
    report_.refresh_from_db()
    assert (report_.status, report_.resolved_by_id) == ("resolved", moderator.id)
    assert report_.resolved_at is not None
    assert ModerationAction.objects.get().action == "resolve_report"


def test_a_report_keeps_the_text_reported_and_the_queue_shows_it_beside_a_later_edit(
    client, client_for, moderator, alice, bob, carol, group
):
    insult = send(group, bob, "you are all idiots")
    answer = report(client_for(alice), message_id=str(insult.id), reason="harassment")
    kept = Report.objects.get(id=answer.json()["id"])
    assert kept.message_body == "you are all idiots"
    edited = client_for(bob).patch(
        f"/api/chat/{group.id}/messages/{insult.id}/", {"body": "have a nice day"}, format="json"
    )
    assert edited.status_code == 200
    kept.refresh_from_db()
    assert kept.message_body == "you are all idiots", "an edit leaves the report's copy alone"
    gone = send(group, bob, "something I will delete")
    deleted_report, _ = report_create(reporter=carol, message_id=gone.id, reason="spam")
    client_for(bob).delete(f"/api/chat/{group.id}/messages/{gone.id}/")
    plain = send(group, bob, "left as it was")
    plain_report, _ = report_create(reporter=alice, message_id=plain.id, reason="spam")
    client.force_login(moderator)
    page = client.get(f"/admin/chat/report/{kept.id}/change/").content.decode()
    assert "you are all idiots" in page, "what was reported"
    assert "have a nice day" in page and "edited since the report" in page, "and what it says now, marked"
    page = client.get(f"/admin/chat/report/{deleted_report.id}/change/").content.decode()
    assert "something I will delete" in page and "deleted by its author since the report" in page
    page = client.get(f"/admin/chat/report/{plain_report.id}/change/").content.decode()
    assert "left as it was" in page and "(unchanged)" in page and "since the report" not in page
    listing = client.get("/admin/chat/report/").content.decode()
    assert "you are all idiots" in listing and "edited since the report" in listing
    assert "have a nice day" not in listing, "the list shows what was reported"


def test_the_moderation_queue_renders_and_its_actions_work(client, moderator, make_user, alice, bob, group):
    for n in range(8):
        send(group, alice if n % 2 else bob, f"line {n}")
    bad = ConversationMessage.objects.get(conversation=group, seq=5)
    old, _ = report_create(reporter=alice, user_id=bob.id, reason="spam")
    report_resolve(report=old, moderator=moderator)
    fresh, _ = report_create(reporter=alice, message_id=bad.id, reason="harassment", details="see this")
    client.force_login(moderator)
    listing = client.get("/admin/chat/report/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert page.index(str(fresh.id)) < page.index(str(old.id)), "open reports first"
    detail = client.get(f"/admin/chat/report/{fresh.id}/change/")
    assert detail.status_code == 200
    text = detail.content.decode()
    assert all(f"line {n}" in text for n in range(8)), "the messages around the reported one"
    answer = client.post("/admin/chat/report/", {"action": "hide_messages", "_selected_action": [str(fresh.id)]})
    assert answer.status_code == 302
    bad.refresh_from_db()
    assert bad.moderated_at is not None and bad.moderated_by_id == moderator.id
    client.post("/admin/chat/report/", {"action": "resolve_reports", "_selected_action": [str(fresh.id)]})
    client.post("/admin/chat/report/", {"action": "deactivate_users", "_selected_action": [str(fresh.id)]})
    fresh.refresh_from_db()
    bob.refresh_from_db()
    assert fresh.status == "resolved" and bob.is_active is False
    log = client.get("/admin/chat/moderationaction/")
    assert log.status_code == 200 and "deactivated a user" in log.content.decode()
    entry = ModerationAction.objects.first()
    assert client.get(f"/admin/chat/moderationaction/{entry.id}/change/").status_code == 200
    assert client.post(f"/admin/chat/moderationaction/{entry.id}/delete/").status_code == 403, "the log is kept"
    assert "hidden" in client.get(f"/admin/chat/report/{fresh.id}/change/").content.decode()


def test_repeating_a_moderation_action_does_nothing_and_logs_nothing(client, moderator, alice, bob, group):
    bad = send(group, bob, "nasty")
    report_, _ = report_create(reporter=alice, message_id=bad.id, reason="harassment")
    about_bob, _ = report_create(reporter=alice, user_id=bob.id, reason="harassment")
    client.force_login(moderator)
    for action in ("hide_messages", "deactivate_users", "resolve_reports"):
        client.post("/admin/chat/report/", {"action": action, "_selected_action": [str(report_.id)]}, follow=True)
    assert ModerationAction.objects.count() == 3
    bad.refresh_from_db()
    report_.refresh_from_db()
    hidden_at, resolved_at = bad.moderated_at, report_.resolved_at
    for action, said in (
        ("hide_messages", "Already hidden: 1."),
        ("deactivate_users", "Already inactive (deactivated or deleted): 1."),
        ("resolve_reports", "Already resolved: 1."),
    ):
        answer = client.post(
            "/admin/chat/report/", {"action": action, "_selected_action": [str(report_.id)]}, follow=True
        )
        shown = [str(message) for message in answer.context["messages"]]
        assert any(said in message for message in shown), shown
        assert not any(message.endswith(": 1.") and not message.startswith("Already") for message in shown), shown
    assert ModerationAction.objects.count() == 3, "nothing logged again"
    bad.refresh_from_db()
    report_.refresh_from_db()
    assert (bad.moderated_at, report_.resolved_at) == (hidden_at, resolved_at)
    # Two selected at once: one done, one already so, each counted apart.
    answer = client.post(
        "/admin/chat/report/", {"action": "resolve_reports", "_selected_action": [str(report_.id), str(about_bob.id)]},
        follow=True,
    )
    shown = [str(message) for message in answer.context["messages"]]
    assert "Reports resolved: 1." in shown and any("Already resolved: 1." in message for message in shown)
    assert ModerationAction.objects.count() == 4
    # The services say so too.
    assert message_hide(message_id=bad.id, moderator=moderator)[1] is False
    assert report_resolve(report=report_, moderator=moderator)[1] is False
    assert user_deactivate_for_moderation(user=bob, moderator=moderator)[1] is False
    assert ModerationAction.objects.count() == 4


def test_each_moderation_action_needs_the_permission_on_what_it_changes(client, make_user, alice, bob, group):
    from django.contrib.auth.models import Permission

    bad = send(group, bob, "nasty")
    report_, _ = report_create(reporter=alice, message_id=bad.id, reason="harassment")
    support = make_user("Support", is_staff=True)
    client.force_login(support)
    actions = ("hide_messages", "deactivate_users", "resolve_reports")

    def grant(codename):
        support.user_permissions.add(Permission.objects.get(codename=codename))

    def offered() -> set[str]:
        page = client.get("/admin/chat/report/").content.decode()
        return {action for action in actions if f'value="{action}"' in page}

    def attempt_all():
        for action in actions:
            client.post("/admin/chat/report/", {"action": action, "_selected_action": [str(report_.id)]})
        bad.refresh_from_db()
        bob.refresh_from_db()
        report_.refresh_from_db()
        return bad.is_moderated, not bob.is_active, report_.status == Report.RESOLVED

    assert client.get("/admin/chat/report/").status_code == 403, "no permission, no queue"
    grant("view_report")
    assert client.get("/admin/chat/report/").status_code == 200
    assert offered() == set()
    assert attempt_all() == (False, False, False), "posting an action one may not use does nothing"
    assert client.get("/admin/chat/moderationaction/").status_code == 403
    grant("change_report")
    assert offered() == {"resolve_reports"}
    assert attempt_all() == (False, False, True), "resolving only: no hiding, no deactivating"
    grant("change_conversationmessage")
    assert offered() == {"resolve_reports", "hide_messages"}
    assert attempt_all() == (True, False, True)
    grant("change_user")
    assert offered() == set(actions)
    assert attempt_all() == (True, True, True)
    grant("view_moderationaction")
    log = client.get("/admin/chat/moderationaction/")
    assert log.status_code == 200 and "deactivated a user" in log.content.decode()
    message_page = client.get(f"/admin/chat/conversationmessage/{bad.id}/change/")
    assert message_page.status_code == 200 and 'name="_save"' not in message_page.content.decode(), (
        "changing messages means hiding them from the queue: their pages stay read-only"
    )
