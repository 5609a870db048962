"""
Invite links: a group's owner and admins make links that let anyone signed
in join, until the link expires, its uses run out or it is revoked; a link
made with ``approval`` files a join request for them to approve instead.

Who may manage links is chat.conversations.roles' ``MANAGE_INVITES``. A
join is a system message (``member_joined``) and ``conversation.updated``,
as every change to a group (chat.conversations.groups). Bounds: links alive
per group (CHAT_INVITES_PER_CONVERSATION), their lifetime
(CHAT_INVITE_MAX_SECONDS), pending requests per group
(CHAT_JOIN_REQUESTS_PER_CONVERSATION), the group's size
(CHAT_GROUP_MAX_MEMBERS); joins per user per hour are the ``invite_join``
throttle's (THROTTLE_INVITE_JOIN).

    invite = invite_create(conversation_id=cid, user=admin, expires_in=86400, max_uses=10)
    result = invite_join(token=invite.token, user=someone)   # JoinResult(conversation, joined, pending)
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from chat.conversations.groups import announce_update, system_message
from chat.conversations.roles import Action, group_for
from chat.conversations.selectors import conversation_with_users
from chat.models import Conversation, ConversationInvite, ConversationMember, JoinRequest
from chat.realtime import events
from chat.realtime.groups import user_group
from core.errors import Forbidden, InvalidInput, NotFound
from core.outbox import Outbox, with_outbox
from core.validation import uuid_or_none
from useraccount.models import User


@dataclass(frozen=True)
class JoinResult:
    conversation: Conversation
    joined: bool  # False: already a member, or waiting for approval
    pending: bool  # a join request waits for an owner or admin


def _live() -> Q:
    return Q(revoked_at__isnull=True, expires_at__gt=timezone.now()) & (
        Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses"))
    )


def invite_create(
    *, conversation_id, user: User, expires_in: int | None = None, max_uses: int | None = None, approval: bool = False,
) -> ConversationInvite:
    """A new link to the group, alive ``expires_in`` seconds (default CHAT_INVITE_DEFAULT_SECONDS)."""
    longest = settings.CHAT_INVITE_MAX_SECONDS
    expires_in = settings.CHAT_INVITE_DEFAULT_SECONDS if expires_in is None else expires_in
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or not 60 <= expires_in <= longest:
        raise InvalidInput(
            f"expires_in must be a number of seconds from 60 to {longest}.", code="invalid_expiry", field="expires_in"
        )
    most = settings.CHAT_GROUP_MAX_MEMBERS
    if max_uses is not None and (not isinstance(max_uses, int) or isinstance(max_uses, bool) or not 1 <= max_uses <= most):
        raise InvalidInput(f"max_uses must be from 1 to {most}, or null.", code="invalid_max_uses", field="max_uses")
    with transaction.atomic():
        conversation = group_for(conversation_id=conversation_id, user=user, action=Action.MANAGE_INVITES)
        limit = settings.CHAT_INVITES_PER_CONVERSATION
        if ConversationInvite.objects.filter(_live(), conversation=conversation).count() >= limit:
            raise InvalidInput(
                f"A group has at most {limit} invite links alive: revoke one first.", code="too_many_invites"
            )
        return ConversationInvite.objects.create(
            conversation=conversation, token=secrets.token_urlsafe(32), created_by=user,
            expires_at=timezone.now() + timedelta(seconds=expires_in), max_uses=max_uses, approval=approval,
        )


def invite_list(*, conversation_id, user: User):
    """The group's links still alive, newest first (owner and admins)."""
    conversation = group_for(conversation_id=conversation_id, user=user, action=Action.MANAGE_INVITES, lock=False)
    return ConversationInvite.objects.filter(_live(), conversation=conversation).select_related("created_by")


def invite_revoke(*, conversation_id, user: User, invite_id) -> None:
    """The link stops working at once; revoking a revoked or unknown link is NotFound."""
    with transaction.atomic():
        conversation = group_for(conversation_id=conversation_id, user=user, action=Action.MANAGE_INVITES)
        revoked = ConversationInvite.objects.filter(
            conversation=conversation, id=uuid_or_none(invite_id), revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        if not revoked:
            raise NotFound("No such invite link.")


def invite_by_token(*, token) -> ConversationInvite:
    """The link, if it still works; NotFound otherwise, with a code saying why."""
    invite = (
        ConversationInvite.objects.select_related("conversation").filter(token=token).first()
        if isinstance(token, str) and token else None
    )
    if invite is None:
        raise NotFound("No such invite link.", code="invite_not_found")
    if invite.revoked_at is not None:
        raise NotFound("This invite link was revoked.", code="invite_revoked")
    if invite.expires_at <= timezone.now():
        raise NotFound("This invite link has expired.", code="invite_expired")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        raise NotFound("This invite link has been used as often as it may.", code="invite_used_up")
    return invite


def _add_member(conversation: Conversation, *, user: User, actor: User, outbox: Outbox, body: str) -> Conversation:
    """``user`` joins (inside the caller's transaction, the group locked): system message, then the event."""
    limit = settings.CHAT_GROUP_MAX_MEMBERS
    if ConversationMember.objects.filter(conversation=conversation).count() >= limit:
        raise InvalidInput(f"A group has at most {limit} members.", code="too_many_members")
    # A member first, so that a self-join's system message is posted by a member (chat.rules).
    member = ConversationMember.objects.create(conversation=conversation, user=user)
    message = system_message(
        conversation, actor=actor, body=body, action="member_joined", user_ids=[user.id], outbox=outbox,
    )
    # Like added members, they start with nothing unread.
    ConversationMember.objects.filter(pk=member.pk).update(last_read_seq=message.seq)
    JoinRequest.objects.filter(conversation=conversation, user=user).delete()
    return announce_update(conversation.id, actor=actor, message=message, outbox=outbox, added=[user.id])


@with_outbox
def invite_join(*, token, user: User, outbox: Outbox) -> JoinResult:
    """
    ``user`` opens a link: joins the group (one use of the link), or, on a
    link with ``approval``, asks to (a join request; the owner and admins
    are told). A member already in it changes nothing.
    """
    invite = invite_by_token(token=token)
    conversation_id = invite.conversation_id
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(id=conversation_id)
        if ConversationMember.objects.filter(conversation=conversation, user=user).exists():
            return JoinResult(conversation_with_users(conversation_id=conversation_id), joined=False, pending=False)
        if invite.approval:
            return JoinResult(_request_to_join(conversation, invite=invite, user=user, outbox=outbox),
                              joined=False, pending=True)
        # One use, taken only while the link still works (another join may have taken the last).
        if not ConversationInvite.objects.filter(_live(), id=invite.id).update(uses=F("uses") + 1):
            invite_by_token(token=token)  # raises why
            raise NotFound("No such invite link.", code="invite_not_found")
        conversation = _add_member(
            conversation, user=user, actor=user, outbox=outbox, body=f"{user.display_name} joined with an invite link",
        )
        return JoinResult(conversation, joined=True, pending=False)


def _request_to_join(conversation: Conversation, *, invite: ConversationInvite, user: User, outbox: Outbox):
    if JoinRequest.objects.filter(conversation=conversation, user=user).exists():
        return conversation_with_users(conversation_id=conversation.id)
    limit = settings.CHAT_JOIN_REQUESTS_PER_CONVERSATION
    if JoinRequest.objects.filter(conversation=conversation).count() >= limit:
        raise InvalidInput(
            f"This group has {limit} requests to join waiting already: try again later.", code="too_many_requests"
        )
    try:
        with transaction.atomic():
            request = JoinRequest.objects.create(conversation=conversation, user=user, invite=invite)
    except IntegrityError:  # asked twice at once
        return conversation_with_users(conversation_id=conversation.id)
    managers = ConversationMember.objects.filter(
        Q(role=ConversationMember.ADMIN) | Q(user_id=conversation.owner_id), conversation=conversation
    ).values_list("user_id", flat=True)
    event = events.join_requested(request, user=user)
    for manager_id in managers:
        outbox.emit(user_group(manager_id), event)
    return conversation_with_users(conversation_id=conversation.id)


def join_request_list(*, conversation_id, user: User):
    """Who waits to join the group, oldest first (owner and admins)."""
    conversation = group_for(conversation_id=conversation_id, user=user, action=Action.MANAGE_INVITES, lock=False)
    return JoinRequest.objects.filter(conversation=conversation).select_related("user")


@with_outbox
def join_request_decide(*, conversation_id, user: User, requester_id, approve: bool, outbox: Outbox):
    """The owner or an admin lets a requester in, or turns them away (the request goes either way)."""
    with transaction.atomic():
        conversation = group_for(conversation_id=conversation_id, user=user, action=Action.MANAGE_INVITES)
        request = (
            JoinRequest.objects.select_related("user")
            .filter(conversation=conversation, user_id=uuid_or_none(requester_id)).first()
        )
        if request is None:
            raise NotFound("No such request to join.")
        if not approve:
            request.delete()
            return None
        if not request.user.is_active or request.user.deleted_at is not None:
            request.delete()
            raise Forbidden("That account is no longer active.", code="inactive_user")
        return _add_member(
            conversation, user=request.user, actor=user, outbox=outbox,
            body=f"{user.display_name} let {request.user.display_name} in",
        )
