"""
Reads about conversations: the list a user sees, unread counts, members,
presence contacts, and the quiet list (blocks and mutes) a notifications
socket keeps (what a connecting room socket reads is one statement:
chat.conversations.opening). Every read keeps to a fixed number of queries
however many conversations or members there are.
"""

from functools import reduce
from operator import or_
from uuid import UUID

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from chat.models import (
    Conversation,
    ConversationMember,
    ConversationMessage,
    direct_peer_id,
)
from chat.unread import conversation_unread
from core.errors import NotFound
from core.runtime.asyncdb import loop_rows
from core.validation import uuid_or_none
from useraccount.models import Block, User
from useraccount.selectors import (
    blocked_between,
    blocked_either_way_ids,
    blocks_involving,
)



# Each member with ``member_role``, their membership's stored role, read off
# the membership table the prefetch joins already (as Django reads the
# conversation id there): roles cost no other query.
_MEMBERS = Prefetch(
    "users",
    queryset=User.objects.extra(
        select={"member_role": f"{connection.ops.quote_name(ConversationMember._meta.db_table)}.role"}
    ).order_by("name", "email"),
)


def conversation_list(*, user: User) -> QuerySet[Conversation]:
    """
    The user's conversations, latest activity first, members prefetched, each
    with the user's ``unread_count`` (chat.unread: main-timeline messages after
    their read position, capped), their mute (``muted``, ``muted_until``), their
    ``notification_level``, their ``draft`` (and ``draft_updated_at``), and
    ``closed_by_block``: a direct conversation whose other member blocks them
    or is blocked by them.
    """
    mine = ConversationMember.objects.filter(conversation=OuterRef("pk"), user=user)
    # A user never blocks themselves, so a block of the user's naming a member is one with the other member.
    block_with_a_member = Block.objects.filter(
        Q(blocker=user, blocked__memberships__conversation=OuterRef("pk"))
        | Q(blocked=user, blocker__memberships__conversation=OuterRef("pk"))
    )
    # The user's membership is the row the filter joins: the unread count reads its read position there.
    return (
        Conversation.objects.filter(members__user=user)
        .annotate(
            unread_count=conversation_unread(conversation="pk", last_seq="last_seq", read_seq="members__last_read_seq"),
            muted=Subquery(mine.values("muted")[:1]),
            muted_until=Subquery(mine.values("muted_until")[:1]),
            notification_level=Subquery(mine.values("notification_level")[:1]),
            draft=Subquery(mine.values("draft")[:1]),
            draft_updated_at=Subquery(mine.values("draft_updated_at")[:1]),
            closed_by_block=Case(
                When(direct_key__isnull=False, then=Exists(block_with_a_member)),
                default=Value(False), output_field=BooleanField(),
            ),
        )
        .prefetch_related(_MEMBERS)
        .order_by("-modified_at")
    )


def unread_counts(*, user: User) -> dict[str, int]:
    """
    ``{conversation id: unread count}`` (chat.unread) for the user's
    conversations with unread messages, in one query that counts only in
    conversations with messages after the user's read position.
    """
    members = ConversationMember.objects.filter(user=user, conversation__last_seq__gt=F("last_read_seq"))
    rows = members.annotate(
        unread=conversation_unread(
            conversation="conversation_id", last_seq="conversation__last_seq", read_seq="last_read_seq"
        )
    ).values_list("conversation_id", "unread")
    return {str(conversation_id): unread for conversation_id, unread in rows if unread}


def member_ids(*, conversation_id) -> list[str]:
    return [str(user_id) for (user_id,) in _member_ids(conversation_id=conversation_id)]


def _member_ids(*, conversation_id):
    return ConversationMember.objects.filter(conversation_id=conversation_id).values_list("user_id")


def sees_presence_of(*, user: User, other: User) -> bool:
    """Whether ``user`` is shown ``other``'s presence: they share a conversation that no block closes."""
    shared = ConversationMember.objects.filter(user=other, conversation__members__user=user)
    if blocked_between(first_id=user.id, second_id=other.id):
        shared = shared.filter(conversation__direct_key__isnull=True)
    return shared.exists()


def contact_ids(*, user: User) -> list[str]:
    """Everyone whose presence ``user`` is shown: who shares a conversation with them that no block closes."""
    members = ConversationMember.objects.filter(conversation__members__user=user).exclude(user=user)
    if closed := blocked_either_way_ids(user_id=user.id):
        members = members.exclude(conversation__direct_key__isnull=False, user_id__in=closed)
    return [str(user_id) for user_id in members.values_list("user_id", flat=True).distinct()]


def direct_closed_by_block(*, conversation: Conversation, user: User) -> bool:
    """Whether ``conversation`` is a direct one of ``user``'s that a block (either way) closes."""
    peer_id = direct_peer_id(conversation.direct_key, user.id)
    return peer_id is not None and blocked_between(first_id=user.id, second_id=peer_id)


def presence_conversation_ids(*, user_id: UUID) -> list[UUID]:
    """
    The conversations in which ``user_id`` coming online or going offline is
    announced: all of theirs but the direct ones a block closes. Two queries.
    """
    return _announced_in(user_id, blocks_involving(user_id=user_id), _conversation_keys(user_id))


async def presence_conversation_ids_on_loop(*, user_id: UUID) -> list[UUID]:
    """``presence_conversation_ids``, its queries run from the event loop (core.runtime.asyncdb)."""
    blocks = await loop_rows(blocks_involving(user_id=user_id))
    return _announced_in(user_id, blocks, await loop_rows(_conversation_keys(user_id)))


def _conversation_keys(user_id):
    return Conversation.objects.filter(members__user_id=user_id).values_list("id", "direct_key")


def _announced_in(user_id, block_rows, conversation_rows) -> list[UUID]:
    closed = blocked_either_way_ids(user_id=user_id, rows=block_rows)
    return [
        conversation_id for conversation_id, key in conversation_rows
        if key is None or direct_peer_id(key, user_id) not in closed
    ]


def quiet_list(*, user: User) -> tuple[list[str], dict[str, float | None], dict[str, str]]:
    """
    What a notifications socket stays quiet about (chat.realtime.session.QuietList):
    the ids of the users ``user`` blocked, their muted conversations with
    when each mute ends (a Unix time; None: until unmuted), and the
    conversations whose notification level is not "all". Three queries.
    """
    from useraccount.selectors import blocked_ids

    now = timezone.now()
    mutes = ConversationMember.objects.filter(user=user, muted=True).filter(
        Q(muted_until__isnull=True) | Q(muted_until__gt=now)
    ).values_list("conversation_id", "muted_until")
    muted = {str(conversation_id): until.timestamp() if until else None for conversation_id, until in mutes}
    levels = dict(
        ConversationMember.objects.filter(user=user).exclude(notification_level=ConversationMember.NOTIFY_ALL)
        .values_list("conversation_id", "notification_level")
    )
    return blocked_ids(user=user), muted, {str(conversation_id): level for conversation_id, level in levels.items()}


def conversation_with_users(*, conversation_id: UUID) -> Conversation:
    return Conversation.objects.prefetch_related(_MEMBERS).get(id=conversation_id)


def conversation_get_for_user(*, conversation_id, user: User) -> Conversation:
    """
    The conversation if ``user`` is a member, else NotFound.

    A conversation the user is not in looks exactly like one that does not
    exist, so its id leaks nothing.
    """
    query = _members_conversation(conversation_id=conversation_id, user=user)
    conversation = query.first() if query is not None else None
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


def _members_conversation(*, conversation_id, user: User) -> QuerySet[Conversation] | None:
    parsed = uuid_or_none(conversation_id)
    return Conversation.objects.filter(id=parsed, members__user=user) if parsed else None


def conversation_ids_for_user(*, user_id: UUID) -> list[UUID]:
    return list(
        Conversation.objects.filter(members__user_id=user_id).values_list("id", flat=True)
    )


def attach_last_messages(conversations: list[Conversation]) -> list[Conversation]:
    """Set ``last_message`` on each conversation with one indexed query."""
    wanted = [c for c in conversations if c.last_seq]
    by_conversation = {}
    if wanted:
        condition = reduce(or_, (Q(conversation_id=c.id, seq=c.last_seq) for c in wanted))
        by_conversation = {
            m.conversation_id: m
            for m in ConversationMessage.objects.for_display().filter(condition)
        }
    for conversation in conversations:
        conversation.last_message = by_conversation.get(conversation.id)
    return conversations
