"""
Pushes for mentions (chat.push with chat.notify's rule): a mention reaches a
member who muted the conversation or chose "mentions", never one who chose
"none" or blocked the sender; an edit that adds a mention pushes to the newly
mentioned only; each device's push says whether it is for a mention.
"""

import uuid

import pytest
from django.utils import timezone

from chat.messages.services import message_edit
from chat.models import ConversationMember
from chat.push.recipients import Member, push_recipients
from tests.chat.push.test_push import push_service, subscribe, web_push, worker  # noqa: F401 (fixtures)
from tests.factories import BlockFactory, GroupConversationFactory
from tests.plugins.conversations import send

pytestmark = pytest.mark.django_db


def test_recipients_follow_levels_mutes_and_mentions():
    now = timezone.now()
    sender, muted, mentions_only, nothing, blocking, plain = (uuid.uuid4() for _ in range(6))
    members = [
        Member(sender), Member(muted, muted=True), Member(mentions_only, level="mentions"),
        Member(nothing, level="none"), Member(blocking), Member(plain),
    ]

    def chosen(**mentions):
        return set(push_recipients(
            members, sender_id=sender, online=set(), blocked_sender={blocking}, now=now, **mentions
        ))

    assert chosen() == {plain}
    everyone_mentioned = {muted, mentions_only, nothing, blocking, plain, sender}
    assert chosen(mentioned=everyone_mentioned) == {muted, mentions_only, plain}
    assert chosen(mentions_all=True) == {muted, mentions_only, plain}
    assert chosen(mentioned={muted}) == {muted, plain}


def test_a_mention_is_pushed_through_a_mute_and_marked(web_push, worker, push_service, subscribe, make_user, alice):
    muted, mentions_only, nothing = (make_user() for _ in range(3))
    group = GroupConversationFactory(creator=alice, members=[muted, mentions_only, nothing])
    ConversationMember.objects.filter(conversation=group, user=muted).update(muted=True)
    ConversationMember.objects.filter(conversation=group, user=mentions_only).update(notification_level="mentions")
    ConversationMember.objects.filter(conversation=group, user=nothing).update(notification_level="none")
    browsers = {user: subscribe(user) for user in (muted, mentions_only, nothing)}
    send(group, alice, "plain: nobody")
    send(group, alice, f"<@{muted.id}> <@{mentions_only.id}> <@{nothing.id}> look")
    worker()
    requests = push_service.wait_for(2)
    assert {request["path"] for request in requests} == {browsers[muted].path, browsers[mentions_only].path}
    for request in requests:
        browser = next(b for b in browsers.values() if b.path == request["path"])
        assert browser.decrypt(request)["mentioned"] is True


def test_an_edit_pushes_to_the_newly_mentioned_only(web_push, worker, push_service, subscribe, make_user, alice):
    first, added, blocking = (make_user() for _ in range(3))
    group = GroupConversationFactory(creator=alice, members=[first, added, blocking])
    for user in (first, added, blocking):
        ConversationMember.objects.filter(conversation=group, user=user).update(muted=True)
    BlockFactory(blocker=blocking, blocked=alice)
    browsers = {user: subscribe(user) for user in (first, added, blocking)}
    message = send(group, alice, f"<@{first.id}> look")
    worker()
    assert [r["path"] for r in push_service.wait_for(1)] == [browsers[first].path]
    message_edit(
        conversation_id=group.id, user=alice, message_id=message.id,
        body=f"<@{first.id}> <@{added.id}> <@{blocking.id}> look",
    )
    worker()
    requests = push_service.wait_for(2)
    assert [r["path"] for r in requests] == [browsers[first].path, browsers[added].path]
    assert browsers[added].decrypt(requests[1])["mentioned"] is True
