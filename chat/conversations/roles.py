"""
Roles in a conversation and what each may do: the one table every group
service asks (``group_for``), so a right is granted or refused in one place.

A group has one **owner** (``Conversation.owner``: its creator, until they
leave or hand it on), **admins** and **members** (``ConversationMember.role``).
A direct conversation has two members and no roles: each may do what
``IN_DIRECT`` lists (pin, set disappearing messages), nothing that changes
the group (rename, members, roles), which is ``direct_conversation``.

    conversation = group_for(conversation_id=cid, user=user, action=Action.RENAME)  # locked; raises otherwise
    role_of(conversation, user_id=user.id, stored="admin")                          # "owner" | "admin" | "member"
"""

from enum import StrEnum

from django.db.models import OuterRef, Subquery

from chat.models import Conversation, ConversationMember
from chat.rules import parse_conversation_id
from core.errors import Forbidden, InvalidInput, NotFound
from useraccount.models import User

OWNER, ADMIN, MEMBER = "owner", ConversationMember.ADMIN, ConversationMember.MEMBER
ROLES = (OWNER, ADMIN, MEMBER)
RANK = {MEMBER: 0, ADMIN: 1, OWNER: 2}


class Action(StrEnum):
    RENAME = "rename"
    ADD_MEMBERS = "add_members"
    REMOVE_MEMBERS = "remove_members"
    CHANGE_ROLES = "change_roles"
    PIN = "pin"
    DELETE_OTHERS_MESSAGES = "delete_others_messages"
    SET_DISAPPEARING = "set_disappearing"
    MANAGE_INVITES = "manage_invites"
    MENTION_ALL = "mention_all"
    MANAGE_WEBHOOKS = "manage_webhooks"


# The least role a group member needs for each action (docs/protocol.md, "Roles").
NEEDS = {
    Action.RENAME: ADMIN,
    Action.ADD_MEMBERS: ADMIN,
    Action.REMOVE_MEMBERS: ADMIN,
    Action.CHANGE_ROLES: OWNER,
    Action.PIN: ADMIN,
    Action.DELETE_OTHERS_MESSAGES: ADMIN,
    Action.SET_DISAPPEARING: ADMIN,
    Action.MANAGE_INVITES: ADMIN,
    Action.MENTION_ALL: ADMIN,
    Action.MANAGE_WEBHOOKS: ADMIN,
}
# What either member of a direct conversation may do; anything else there is refused.
IN_DIRECT = frozenset({Action.PIN, Action.SET_DISAPPEARING})


def role_of(conversation: Conversation, *, user_id, stored: str) -> str:
    """A member's role: ``owner`` for the group's owner, else the membership's ``stored`` role."""
    if conversation.owner_id is not None and conversation.owner_id == user_id:
        return OWNER
    return stored


def may(role: str, action: Action, *, direct: bool) -> bool:
    """Whether a member with ``role`` may do ``action`` (in a direct conversation: ``IN_DIRECT``)."""
    if direct:
        return action in IN_DIRECT
    return RANK[role] >= RANK[NEEDS[action]]


def outranks(role: str, other: str) -> bool:
    """Whether ``role`` may act on a member with role ``other`` (remove them): only a higher role may."""
    return RANK[role] > RANK[other]


def refusal(action: Action) -> Forbidden:
    needed = NEEDS[action]
    if needed == OWNER:
        return Forbidden("Only the group's owner can do that.", code="not_owner")
    return Forbidden("Only the group's owner and admins can do that.", code="not_admin")


def direct_refusal() -> InvalidInput:
    return InvalidInput("A direct conversation has no title, members or roles to change.", code="direct_conversation")


def group_for(*, conversation_id, user: User, action: Action | None, lock: bool = True) -> Conversation:
    """
    The conversation, locked until the transaction ends (unless ``lock`` is
    False, for reads), if ``user`` is a member who may do ``action`` (None:
    any member); ``actor_role`` is set on it. NotFound for a non-member; ``direct_conversation`` for what a direct
    conversation has no room for; Forbidden ``not_admin``/``not_owner``.
    """
    conversation_id = parse_conversation_id(conversation_id)
    stored = ConversationMember.objects.filter(conversation=OuterRef("pk"), user=user).values("role")[:1]
    conversations = Conversation.objects.select_for_update(of=("self",)) if lock else Conversation.objects
    conversation = (
        conversations
        .annotate(stored_role=Subquery(stored))
        .filter(id=conversation_id, stored_role__isnull=False)
        .first()
    )
    if conversation is None:
        raise NotFound("No such conversation.")
    conversation.actor_role = role_of(conversation, user_id=user.id, stored=conversation.stored_role)
    if action is None:
        return conversation
    if conversation.is_direct and action not in IN_DIRECT:
        raise direct_refusal()
    if not may(conversation.actor_role, action, direct=conversation.is_direct):
        raise refusal(action)
    return conversation


def member_may(*, conversation_id, user: User, action: Action) -> bool:
    """Whether ``user``, a member, may do ``action`` in the conversation now (no lock: for a check inside a write that locks something else)."""
    row = (
        ConversationMember.objects.filter(conversation_id=conversation_id, user=user)
        .values_list("role", "conversation__owner_id", "conversation__direct_key")
        .first()
    )
    if row is None:
        return False
    stored, owner_id, direct_key = row
    role = OWNER if owner_id is not None and owner_id == user.id else stored
    return may(role, action, direct=direct_key is not None)
