"""Invite links: made and revoked by the owner and admins, joined by anyone signed in, within every bound."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat.models import ConversationInvite, ConversationMember, ConversationMessage, JoinRequest
from tests.plugins.sockets import notifications, receive, room

pytestmark = pytest.mark.django_db(transaction=True)


def make_invite(client, conversation, **fields):
    return client.post(f"/api/chat/{conversation.id}/invites/", fields, format="json")


def join(client, token):
    return client.post(f"/api/chat/invites/{token}/join/")


def is_member(conversation, user) -> bool:
    return ConversationMember.objects.filter(conversation=conversation, user=user).exists()


def test_the_owner_makes_a_link_and_anyone_signed_in_joins_with_it(client_for, make_user, alice, group):
    response = make_invite(client_for(alice), group, expires_in=3600, max_uses=5)
    assert response.status_code == 201
    invite = response.json()
    assert (invite["max_uses"], invite["uses"], invite["approval"]) == (5, 0, False)
    assert invite["url"].endswith(f"/api/chat/invites/{invite['token']}/")
    dave = make_user("Dave")
    preview = client_for(dave).get(f"/api/chat/invites/{invite['token']}/").json()
    assert preview == {"conversation_id": str(group.id), "title": "Team", "member_count": 3, "approval": False,
                       "expires_at": invite["expires_at"]}
    assert client_for(dave).get(f"/api/chat/{group.id}/").status_code == 404, "the preview is all they see"
    response = join(client_for(dave), invite["token"])
    assert response.json() == {"conversation_id": str(group.id), "status": "joined"}
    assert is_member(group, dave)
    system = ConversationMessage.objects.filter(conversation=group).order_by("-seq").first()
    assert (system.kind, system.body, system.system["action"]) == ("system", "Dave joined with an invite link", "member_joined")
    member = ConversationMember.objects.get(conversation=group, user=dave)
    assert member.last_read_seq == system.seq, "nothing unread on joining"
    assert join(client_for(dave), invite["token"]).json()["status"] == "member", "a second open changes nothing"
    assert ConversationInvite.objects.get(id=invite["id"]).uses == 1


def test_members_may_not_make_or_see_links_and_direct_conversations_have_none(client_for, alice, bob, group, direct):
    response = make_invite(client_for(bob), group)
    assert (response.status_code, response.json()["code"]) == (403, "not_admin")
    assert client_for(bob).get(f"/api/chat/{group.id}/invites/").status_code == 403
    response = make_invite(client_for(alice), direct)
    assert (response.status_code, response.json()["code"]) == (400, "direct_conversation")
    client_for(alice).patch(f"/api/chat/{group.id}/members/{bob.id}/", {"role": "admin"}, format="json")
    assert make_invite(client_for(bob), group).status_code == 201, "an admin may"


@pytest.mark.parametrize("why", ["revoked", "expired", "used_up", "not_found"])
def test_a_link_that_no_longer_works_says_why_and_admits_nobody(client_for, make_user, alice, group, why):
    invite = ConversationInvite.objects.get(id=make_invite(client_for(alice), group, max_uses=1).json()["id"])
    if why == "revoked":
        assert client_for(alice).delete(f"/api/chat/{group.id}/invites/{invite.id}/").status_code == 204
    elif why == "expired":
        ConversationInvite.objects.filter(id=invite.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif why == "used_up":
        assert join(client_for(make_user("First")), invite.token).json()["status"] == "joined"
    token = invite.token if why != "not_found" else "x" * 43
    late = make_user("Late")
    for response in (join(client_for(late), token), client_for(late).get(f"/api/chat/invites/{token}/")):
        assert (response.status_code, response.json()["code"]) == (404, f"invite_{why}")
    assert not is_member(group, late)


def test_links_are_bounded_in_number_lifetime_and_uses(client_for, alice, group, settings):
    settings.CHAT_INVITES_PER_CONVERSATION = 2
    for fields, code in (({"expires_in": 59}, "invalid_expiry"), ({"expires_in": settings.CHAT_INVITE_MAX_SECONDS + 1}, "invalid_expiry"),
                         ({"max_uses": 0}, "invalid_max_uses"), ({"max_uses": settings.CHAT_GROUP_MAX_MEMBERS + 1}, "invalid_max_uses")):
        response = make_invite(client_for(alice), group, **fields)
        assert (response.status_code, response.json()["code"]) == (400, code), fields
    first = make_invite(client_for(alice), group).json()
    make_invite(client_for(alice), group)
    response = make_invite(client_for(alice), group)
    assert (response.status_code, response.json()["code"]) == (400, "too_many_invites")
    client_for(alice).delete(f"/api/chat/{group.id}/invites/{first['id']}/")
    assert make_invite(client_for(alice), group).status_code == 201, "a revoked link frees its place"
    listed = client_for(alice).get(f"/api/chat/{group.id}/invites/?limit=1")
    assert len(listed.json()) == 1 and 'rel="next"' in listed["Link"]


def test_a_full_group_takes_nobody_more(client_for, make_user, alice, group, settings):
    token = make_invite(client_for(alice), group).json()["token"]
    settings.CHAT_GROUP_MAX_MEMBERS = 3
    response = join(client_for(make_user("Dave")), token)
    assert (response.status_code, response.json()["code"]) == (400, "too_many_members")
    assert ConversationInvite.objects.get(token=token).uses == 0, "a refused join takes no use"


def test_joins_per_user_are_throttled(client_for, make_user, alice, group, rest_settings):
    rest_settings(rates={"invite_join": "2/hour"})
    dave = make_user("Dave")
    token = make_invite(client_for(alice), group).json()["token"]
    assert join(client_for(dave), "y" * 43).status_code == 404
    assert join(client_for(dave), token).status_code == 200
    response = join(client_for(dave), token)
    assert (response.status_code, response.json()["code"]) == (429, "throttled")


def test_a_link_with_approval_files_a_request_the_admins_decide(client_for, make_user, alice, bob, group):
    token = make_invite(client_for(alice), group, approval=True).json()["token"]
    dave, erin = make_user("Dave"), make_user("Erin")
    for user in (dave, erin):
        assert join(client_for(user), token).json() == {"conversation_id": str(group.id), "status": "pending"}
    assert join(client_for(dave), token).json()["status"] == "pending", "asking twice files one request"
    assert not is_member(group, dave) and JoinRequest.objects.count() == 2
    assert client_for(bob).get(f"/api/chat/{group.id}/join-requests/").status_code == 403
    waiting = client_for(alice).get(f"/api/chat/{group.id}/join-requests/").json()
    assert [item["user"]["name"] for item in waiting] == ["Dave", "Erin"]
    response = client_for(alice).post(f"/api/chat/{group.id}/join-requests/{dave.id}/approve/")
    assert response.status_code == 200 and is_member(group, dave)
    assert ConversationMessage.objects.filter(conversation=group).order_by("-seq").first().body == "Alice let Dave in"
    assert client_for(alice).delete(f"/api/chat/{group.id}/join-requests/{erin.id}/").status_code == 204
    assert not is_member(group, erin) and not JoinRequest.objects.exists()
    assert client_for(alice).post(f"/api/chat/{group.id}/join-requests/{erin.id}/approve/").status_code == 404


def test_pending_requests_are_bounded(client_for, make_user, alice, group, settings):
    settings.CHAT_JOIN_REQUESTS_PER_CONVERSATION = 1
    token = make_invite(client_for(alice), group, approval=True).json()["token"]
    assert join(client_for(make_user("Dave")), token).json()["status"] == "pending"
    response = join(client_for(make_user("Erin")), token)
    assert (response.status_code, response.json()["code"]) == (400, "too_many_requests")


async def test_members_see_the_join_and_admins_hear_of_requests_on_their_sockets(client_for, make_user, alice, bob, group):
    dave, erin = await database_sync_to_async(make_user)("Dave"), await database_sync_to_async(make_user)("Erin")
    open_token = (await database_sync_to_async(make_invite)(client_for(alice), group)).json()["token"]
    asking_token = (await database_sync_to_async(make_invite)(client_for(alice), group, approval=True)).json()["token"]
    async with notifications(alice) as alices_feed, notifications(bob) as bobs_feed, room(group, bob) as bobs_room, \
            notifications(dave) as daves_feed:
        assert (await database_sync_to_async(join)(client_for(dave), open_token)).status_code == 200
        update = await receive(daves_feed, skip={"presence", "presence.changes"})
        assert update["type"] == "conversation.updated" and update["change"]["action"] == "member_joined"
        assert (await receive(bobs_room))["body"] == "Dave joined with an invite link"
        await database_sync_to_async(join)(client_for(erin), asking_token)
        request = await receive(alices_feed, skip={"presence", "presence.changes", "conversation.updated", "notification"})
        assert request["type"] == "conversation.join_requested"
        assert (request["conversation_id"], request["user"]["name"]) == (str(group.id), "Erin")
        frames = []
        while (frame := await receive(bobs_feed, skip={"presence", "presence.changes"})) and frame["type"] != "conversation.updated":
            frames.append(frame)
        assert all(frame["type"] != "conversation.join_requested" for frame in frames), "Bob is no admin"
