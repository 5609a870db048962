"""
Mentions stored with a message on both send paths (the PostgreSQL one-statement
path included), edits and deletions, the message JSON, the list of one's
mentions, and the per-conversation notification level over REST.
"""

import pytest
from channels.db import database_sync_to_async

from chat.conversations.groups import conversation_remove_member
from chat.messages import send as send_module
from chat.messages.send import message_send, message_send_from_loop
from chat.messages.services import message_delete, message_edit
from chat.models import Conversation, ConversationMember, ConversationMessage, Mention
from chat.moderation.services import message_hide
from core.errors import ApplicationError
from core.outbox import carry_out
from core.runtime.asyncdb import loop_queries
from tests.factories import GroupConversationFactory, UserFactory
from tests.plugins.conversations import post_message, send


async def transactional(**kwargs):
    return await database_sync_to_async(message_send)(**kwargs)


async def from_loop(**kwargs):
    return (await carry_out(message_send_from_loop, **kwargs))[0]


EXECUTORS = {"transactional": transactional, "from_loop": from_loop}


def mentioned(message) -> set:
    return {str(user_id) for user_id in Mention.objects.filter(message_id=message.id).values_list("user_id", flat=True)}


def state(conversation):
    return (
        Conversation.objects.values_list("last_seq", flat=True).get(id=conversation.id),
        ConversationMessage.objects.filter(conversation=conversation).count(),
        Mention.objects.filter(message__conversation=conversation).count(),
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("executor", EXECUTORS)
async def test_mentions_of_members_are_stored_with_the_message_both_ways(executor, alice, bob, carol, group):
    outsider = await database_sync_to_async(UserFactory)()
    body = f"<@{bob.id}> <@{outsider.id}> and <@{bob.id}> again, <@{alice.id}>"
    message, created = await EXECUTORS[executor](conversation_id=group.id, sender=alice, body=body)
    assert created and message.mention_ids == [str(bob.id)] and not message.mentions_all
    saved = await database_sync_to_async(ConversationMessage.objects.get)(id=message.id)
    assert saved.mention_ids == [str(bob.id)] and saved.body == body, "the markup stays in the body"
    assert await database_sync_to_async(mentioned)(message) == {str(bob.id)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("executor", EXECUTORS)
async def test_at_all_mentions_every_member_but_the_sender_both_ways(executor, alice, bob, carol, group):
    message, _ = await EXECUTORS[executor](conversation_id=group.id, sender=bob, body="@all standup")
    assert message.mentions_all and message.mention_ids == []
    assert await database_sync_to_async(mentioned)(message) == {str(alice.id), str(carol.id)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("executor", EXECUTORS)
async def test_refused_mentions_save_nothing_both_ways(executor, settings, alice, bob, carol, group):
    settings.CHAT_MENTION_ALL_MIN_MEMBERS = 2
    before = await database_sync_to_async(state)(group)
    with pytest.raises(ApplicationError) as refused:
        await EXECUTORS[executor](conversation_id=group.id, sender=bob, body="@all hello")
    assert (refused.value.status, refused.value.code) == (403, "not_admin")
    settings.CHAT_MESSAGE_MAX_MENTIONS = 1
    with pytest.raises(ApplicationError) as refused:
        await EXECUTORS[executor](conversation_id=group.id, sender=alice, body=f"<@{bob.id}> <@{carol.id}>")
    assert (refused.value.status, refused.value.code) == (400, "too_many_mentions")
    assert await database_sync_to_async(state)(group) == before, "nothing saved, no seq taken"


@pytest.mark.django_db(transaction=True)
async def test_the_fast_path_still_takes_plain_messages_and_leaves_mentions_to_the_transactional_send(
    alice, bob, group, monkeypatch
):
    if not loop_queries():
        pytest.skip("the one-statement send runs on PostgreSQL only")
    taken = []
    real = send_module.message_send

    def counting(**kwargs):
        taken.append(kwargs["body"])
        return real(**kwargs)

    monkeypatch.setattr(send_module, "message_send", counting)
    plain, _ = await from_loop(conversation_id=group.id, sender=alice, body="hi @bob, a@all.org")
    mentioning, _ = await from_loop(conversation_id=group.id, sender=alice, body=f"hi <@{bob.id}>")
    assert taken == [f"hi <@{bob.id}>"]
    saved = await database_sync_to_async(ConversationMessage.objects.get)(id=plain.id)
    assert (saved.mention_ids, saved.mentions_all) == ([], False), "the database's defaults"
    assert mentioning.mention_ids == [str(bob.id)]


@pytest.mark.django_db
def test_owner_and_admins_mention_all_in_a_large_group_over_rest(settings, client_for, alice, bob, carol, group):
    settings.CHAT_MENTION_ALL_MIN_MEMBERS = 2
    refused = post_message(client_for(bob), group, "@all look")
    assert refused.status_code == 403 and refused.json()["code"] == "not_admin"
    ConversationMember.objects.filter(conversation=group, user=bob).update(role="admin")
    answer = post_message(client_for(bob), group, "@all look")
    assert answer.status_code == 201 and answer.json()["mentions_all"] is True
    assert post_message(client_for(alice), group, "@all again").status_code == 201


@pytest.mark.django_db
def test_message_json_carries_mentions_everywhere_without_a_query_per_message(
    client_for, django_assert_max_num_queries, alice, bob, carol, group
):
    answer = post_message(client_for(alice), group, f"<@{bob.id}> and <@{carol.id}>")
    assert answer.status_code == 201
    assert answer.json()["mentions"] == [str(bob.id), str(carol.id)] and answer.json()["mentions_all"] is False
    for n in range(5):
        send(group, alice, f"<@{bob.id}> {n}")
    with django_assert_max_num_queries(4):
        page = client_for(bob).get(f"/api/chat/{group.id}/messages/").json()
    assert [m["mentions"] for m in page][-1] == [str(bob.id)]
    assert page[0]["mentions"] == [str(bob.id), str(carol.id)]


@pytest.mark.django_db
def test_an_edit_parses_again_dropping_and_adding_mentions(alice, bob, carol, group):
    message = send(group, alice, f"<@{bob.id}> look")
    edited = message_edit(conversation_id=group.id, user=alice, message_id=message.id, body=f"<@{carol.id}> look")
    assert edited.mention_ids == [str(carol.id)]
    assert mentioned(edited) == {str(carol.id)}
    assert ConversationMessage.objects.get(id=message.id).mention_ids == [str(carol.id)]
    plain = message_edit(conversation_id=group.id, user=alice, message_id=message.id, body="never mind")
    assert plain.mention_ids == [] and mentioned(plain) == set()


@pytest.mark.django_db
def test_an_edit_that_mentions_too_many_is_refused_and_changes_nothing(settings, alice, bob, carol, group):
    message = send(group, alice, f"<@{bob.id}> look")
    settings.CHAT_MESSAGE_MAX_MENTIONS = 1
    with pytest.raises(ApplicationError) as refused:
        message_edit(conversation_id=group.id, user=alice, message_id=message.id, body=f"<@{bob.id}> <@{carol.id}>")
    assert refused.value.code == "too_many_mentions"
    assert ConversationMessage.objects.get(id=message.id).body == f"<@{bob.id}> look"
    assert mentioned(message) == {str(bob.id)}


@pytest.mark.django_db
def test_a_deleted_message_keeps_no_mentions(alice, bob, group):
    message = send(group, alice, f"<@{bob.id}> look")
    deleted = message_delete(conversation_id=group.id, user=alice, message_id=message.id)
    assert deleted.mention_ids == [] and mentioned(deleted) == set()


# --- GET /api/chat/mentions/ -----------------------------------------------------------


def mention_pages(client, limit: int) -> list[list[dict]]:
    pages, url = [], f"/api/chat/mentions/?limit={limit}"
    while url:
        answer = client.get(url)
        assert answer.status_code == 200
        pages.append(answer.json())
        link = answer.headers.get("Link", "")
        url = next((part.split(";")[0].strip()[1:-1] for part in link.split(",") if 'rel="next"' in part), None)
    return pages


@pytest.mark.django_db
def test_my_mentions_newest_first_in_pages(client_for, alice, bob, carol, group, direct):
    sent = [send(group, alice, f"<@{bob.id}> {n}") for n in range(3)]
    send(group, alice, f"<@{carol.id}> not bob")
    send(group, carol, "no mention")
    sent.append(send(group, carol, "@all everyone"))
    sent.append(send(direct, alice, f"<@{bob.id}> direct"))
    pages = mention_pages(client_for(bob), limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [m["id"] for page in pages for m in page] == [str(m.id) for m in reversed(sent)]
    assert pages[0][0]["mentions"] == [str(bob.id)] and pages[0][1]["mentions_all"] is True


@pytest.mark.django_db
def test_my_mentions_leave_out_deleted_and_hidden_messages_and_conversations_i_left(
    client_for, make_user, alice, bob, carol, group, direct
):
    moderator = make_user(is_superuser=True)
    kept = send(direct, alice, f"<@{bob.id}> kept")
    deleted = send(direct, alice, f"<@{bob.id}> deleted")
    hidden = send(direct, alice, f"<@{bob.id}> hidden")
    send(group, alice, f"<@{bob.id}> in the group bob leaves")
    message_delete(conversation_id=direct.id, user=alice, message_id=deleted.id)
    message_hide(message_id=hidden.id, moderator=moderator)
    conversation_remove_member(conversation_id=group.id, user=bob, member_id=bob.id)
    assert [m["id"] for m in client_for(bob).get("/api/chat/mentions/").json()] == [str(kept.id)]
    assert client_for(carol).get("/api/chat/mentions/").json() == []


@pytest.mark.django_db
def test_my_mentions_page_size_is_bounded(settings, client_for, alice, bob, direct):
    settings.CHAT_MENTIONS_PAGE_MAX = 2
    for n in range(3):
        send(direct, alice, f"<@{bob.id}> {n}")
    assert len(client_for(bob).get("/api/chat/mentions/?limit=100").json()) == 2
    assert client_for().get("/api/chat/mentions/").status_code == 401


# --- PUT /api/chat/<id>/notifications/ ----------------------------------------------------


@pytest.mark.django_db
def test_a_member_chooses_a_notification_level_shown_in_their_list(client_for, alice, bob, group):
    client = client_for(bob)
    assert client.get("/api/chat/").json()[0]["notification_level"] == "all"
    answer = client.put(f"/api/chat/{group.id}/notifications/", {"level": "mentions"}, format="json")
    assert answer.status_code == 200 and answer.json() == {"conversation_id": str(group.id), "level": "mentions"}
    assert client.get("/api/chat/").json()[0]["notification_level"] == "mentions"
    assert client_for(alice).get("/api/chat/").json()[0]["notification_level"] == "all", "each member their own"


@pytest.mark.django_db
def test_a_notification_level_must_be_one_of_three_and_the_conversation_one_of_yours(
    client_for, make_user, bob, group
):
    answer = client_for(bob).put(f"/api/chat/{group.id}/notifications/", {"level": "loud"}, format="json")
    assert answer.status_code == 400
    stranger = client_for(make_user()).put(f"/api/chat/{group.id}/notifications/", {"level": "none"}, format="json")
    assert stranger.status_code == 404


@pytest.mark.django_db
def test_a_large_group_of_many_mentions_stays_within_the_bound(settings, make_user, alice):
    settings.CHAT_MESSAGE_MAX_MENTIONS = 3
    members = [make_user() for _ in range(4)]
    group = GroupConversationFactory(creator=alice, members=members)
    body = " ".join(f"<@{member.id}>" for member in members[:3])
    assert len(send(group, alice, body).mention_ids) == 3
