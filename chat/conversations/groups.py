"""
Managing groups: rename, add members, remove a member or leave, change
roles; and the disappearing-messages timer, which direct conversations have too.

Who may do what is chat.conversations.roles' table (docs/protocol.md,
"Roles"): the owner and admins rename the group and add and remove members
(an admin removes members, only the owner removes admins); only the owner
changes roles or hands the group on; the owner and admins set the
disappearing-messages timer (in a direct conversation, either member); any member leaves; when the owner
leaves, the admin who joined earliest owns it, else the member who did; a
direct conversation has no roles and its members never change. Every change
is a system message in the timeline (it takes a seq through chat.rules) and
a ``conversation.updated`` event to the members, those added and those removed.
"""

from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Case, When

from chat.conversations.roles import ADMIN, OWNER, ROLES, Action, direct_refusal, group_for, outranks, role_of
from chat.conversations.selectors import conversation_with_users
from chat.conversations.services import refuse_users_who_blocked, validate_title
from chat.models import (
    Conversation,
    ConversationMember,
    ConversationMessage,
)
from chat.realtime import events
from chat.realtime.groups import conversation_group, user_group
from chat.rules import mark_own_read_now, next_seq
from chat.webhooks.emit import webhooks_emit
from core import metrics
from core.errors import Forbidden, InvalidInput, NotFound
from core.outbox import Outbox, with_outbox
from core.validation import uuid_or_none
from useraccount.models import User
from useraccount.selectors import active_users



def _names(users) -> str:
    names = [user.display_name for user in users]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def system_message(
    conversation: Conversation, *, actor: User, body: str, action: str, outbox: Outbox,
    user_ids=(), **details,
) -> ConversationMessage:
    """A system message by ``actor`` (still a member), in the timeline like any message."""
    seq, _ = next_seq(conversation_id=conversation.id, sender=actor)
    message = ConversationMessage.objects.create(
        conversation_id=conversation.id, seq=seq, body=body, created_by=actor,
        kind=ConversationMessage.SYSTEM,
        system={"action": action, "user_ids": [str(user_id) for user_id in user_ids], **details},
    )
    mark_own_read_now(conversation_id=conversation.id, sender=actor, seq=seq)
    outbox.emit(conversation_group(conversation.id), events.message(message))
    metrics.MESSAGES_SAVED.inc()
    return message


def announce_update(
    conversation_id: UUID, *, actor: User, message: ConversationMessage, outbox: Outbox,
    added=(), removed=(),
) -> Conversation:
    """
    ``conversation.updated`` to everyone it concerns, and ``member.joined``
    and ``member.left`` to webhooks; returns the conversation as it is now.
    """
    conversation = conversation_with_users(conversation_id=conversation_id)
    event = events.conversation_updated(
        conversation, system=message.system, actor_id=actor.id, added=added, removed=removed
    )
    for user_id in {user.id for user in conversation.users.all()} | set(removed):
        outbox.emit(user_group(user_id), event)
    for kind, user_ids in (("member.joined", added), ("member.left", removed)):
        for user_id in user_ids:
            webhooks_emit(outbox, conversation_id=conversation_id, event=kind, user_id=user_id, actor_id=actor.id)
    return conversation


@with_outbox
def conversation_rename(*, conversation_id, user: User, title, outbox: Outbox) -> Conversation:
    """The owner or an admin gives the group a new title (the same title changes nothing)."""
    title = validate_title(title)
    with transaction.atomic():
        conversation = group_for(conversation_id=conversation_id, user=user, action=Action.RENAME)
        if conversation.title == title:
            return conversation_with_users(conversation_id=conversation.id)
        Conversation.objects.filter(id=conversation.id).update(title=title)
        text = f"{user.display_name} renamed the group to \u201c{title}\u201d" if title else (
            f"{user.display_name} removed the group's title"
        )
        message = system_message(conversation, actor=user, body=text, action="renamed", title=title, outbox=outbox)
        return announce_update(conversation.id, actor=user, message=message, outbox=outbox)


@with_outbox
def conversation_add_members(*, conversation_id, user: User, user_ids: list[UUID], outbox: Outbox) -> Conversation:
    """
    The owner or an admin adds active users to the group (members already
    in it are skipped), as members. They see its history and start with nothing unread; their
    notifications sockets follow it at once.
    """
    with transaction.atomic():
        conversation = group_for(conversation_id=conversation_id, user=user, action=Action.ADD_MEMBERS)
        current = set(ConversationMember.objects.filter(conversation=conversation).values_list("user_id", flat=True))
        wanted = {user_id for user_id in user_ids if user_id not in current}
        if not wanted:
            return conversation_with_users(conversation_id=conversation.id)
        users = list(active_users().filter(id__in=wanted).order_by("name", "email"))
        missing = wanted - {added.id for added in users}
        if missing:
            raise InvalidInput(
                "No such user: " + ", ".join(sorted(str(user_id) for user_id in missing)), field="user_ids"
            )
        limit = settings.CHAT_GROUP_MAX_MEMBERS
        if len(current) + len(users) > limit:
            raise InvalidInput(f"A group has at most {limit} members.", code="too_many_members", field="user_ids")
        refuse_users_who_blocked(user=user, others=users)
        message = system_message(
            conversation, actor=user, body=f"{user.display_name} added {_names(users)}",
            action="members_added", user_ids=[added.id for added in users], outbox=outbox,
        )
        ConversationMember.objects.bulk_create(
            [ConversationMember(conversation=conversation, user=added, last_read_seq=message.seq) for added in users]
        )
        return announce_update(
            conversation.id, actor=user, message=message, outbox=outbox, added=[added.id for added in users]
        )


@with_outbox
def conversation_remove_member(*, conversation_id, user: User, member_id, outbox: Outbox) -> Conversation:
    """
    The owner or an admin removes a member of a lower role, or a member
    (``member_id`` their own id) leaves. Their open room sockets close with
    4403 and their notifications sockets stop following the group, on every
    server process. When the owner leaves, the admin who joined earliest
    owns the group, else the member who did.
    """
    member_id = uuid_or_none(member_id)
    with transaction.atomic():
        leaving = member_id == user.id
        conversation = group_for(
            conversation_id=conversation_id, user=user, action=None if leaving else Action.REMOVE_MEMBERS
        )
        if conversation.is_direct:
            raise direct_refusal()
        target = (
            ConversationMember.objects.select_related("user").filter(conversation=conversation, user_id=member_id).first()
            if member_id
            else None
        )
        if target is None:
            raise NotFound("No such member.")
        if leaving:
            message = system_message(
                conversation, actor=user, body=f"{user.display_name} left", action="member_left",
                user_ids=[user.id], outbox=outbox,
            )
        else:
            if not outranks(conversation.actor_role, role_of(conversation, user_id=target.user_id, stored=target.role)):
                raise Forbidden("Only the group's owner can remove an admin, and nobody the owner.", code="not_owner")
            message = system_message(
                conversation, actor=user, body=f"{user.display_name} removed {target.user.display_name}",
                action="member_removed", user_ids=[target.user_id], outbox=outbox,
            )
        target.delete()
        if conversation.owner_id == target.user_id:
            successor = (
                ConversationMember.objects.filter(conversation=conversation)
                .order_by(Case(When(role=ADMIN, then=0), default=1), "joined_at", "id")
                .values_list("user_id", flat=True).first()
            )
            Conversation.objects.filter(id=conversation.id).update(owner_id=successor)
        return announce_update(
            conversation.id, actor=user, message=message, outbox=outbox, removed=[target.user_id]
        )


@with_outbox
def conversation_set_role(*, conversation_id, user: User, member_id, role, outbox: Outbox) -> Conversation:
    """
    The owner makes a member an admin or a member again, or hands the group
    on (``role="owner"``: the former owner becomes an admin). A member's own
    role, or the role they have, changes nothing.
    """
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}.", code="invalid_role", field="role")
    member_id = uuid_or_none(member_id)
    with transaction.atomic():
        conversation = group_for(conversation_id=conversation_id, user=user, action=Action.CHANGE_ROLES)
        target = (
            ConversationMember.objects.select_related("user").filter(conversation=conversation, user_id=member_id).first()
            if member_id
            else None
        )
        if target is None:
            raise NotFound("No such member.")
        if target.user_id == user.id or role_of(conversation, user_id=target.user_id, stored=target.role) == role:
            return conversation_with_users(conversation_id=conversation.id)
        name = target.user.display_name
        if role == OWNER:
            Conversation.objects.filter(id=conversation.id).update(owner_id=target.user_id)
            ConversationMember.objects.filter(conversation=conversation, user_id__in=[user.id, target.user_id]).update(
                role=ADMIN
            )
            text = f"{user.display_name} made {name} the owner"
        else:
            ConversationMember.objects.filter(pk=target.pk).update(role=role)
            text = f"{user.display_name} made {name} an admin" if role == ADMIN else (
                f"{user.display_name} made {name} a member"
            )
        message = system_message(
            conversation, actor=user, body=text, action="role_changed", user_ids=[target.user_id], role=role,
            outbox=outbox,
        )
        return announce_update(conversation.id, actor=user, message=message, outbox=outbox)

# The disappearing-messages timers a conversation may have, in seconds (none: off), as WhatsApp offers them.
DISAPPEARING_TIMERS = {3600: "1 hour", 86400: "1 day", 604800: "7 days", 7776000: "90 days"}


def validate_disappearing_seconds(value) -> int | None:
    """A disappearing-messages timer: one of DISAPPEARING_TIMERS' seconds, or None (off)."""
    if value is None or (type(value) is int and value in DISAPPEARING_TIMERS):
        return value
    choices = ", ".join(f"{seconds} ({name})" for seconds, name in DISAPPEARING_TIMERS.items())
    raise InvalidInput(
        f"seconds must be null (off) or one of {choices}.", code="invalid_disappearing_timer", field="seconds"
    )


@with_outbox
def conversation_set_disappearing(*, conversation_id, user: User, seconds, outbox: Outbox) -> Conversation:
    """
    Set the conversation's disappearing-messages timer (``seconds``, one of
    DISAPPEARING_TIMERS; None: off): the group's owner and admins, either
    member of a direct conversation. Messages sent from then on expire that
    long after they were sent; earlier ones keep the timer they were sent
    under. The same timer again changes nothing.
    """
    seconds = validate_disappearing_seconds(seconds)
    with transaction.atomic():
        # Locked: a message sent meanwhile takes its seq (and its timer) before or after this, never between.
        conversation = group_for(conversation_id=conversation_id, user=user, action=Action.SET_DISAPPEARING)
        if conversation.disappearing_seconds == seconds:
            return conversation_with_users(conversation_id=conversation.id)
        Conversation.objects.filter(id=conversation.id).update(disappearing_seconds=seconds)
        text = (
            f"{user.display_name} turned off disappearing messages" if seconds is None else
            f"{user.display_name} set messages to disappear after {DISAPPEARING_TIMERS[seconds]}"
        )
        message = system_message(
            conversation, actor=user, body=text, action="disappearing_set", seconds=seconds, outbox=outbox
        )
        return announce_update(conversation.id, actor=user, message=message, outbox=outbox)
