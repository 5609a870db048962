"""
Reads: conversations a user may see and their messages.

Every read a view or consumer makes goes through here, with the joins and
prefetches that keep it to a fixed number of queries however many
conversations or members there are.
"""

from dataclasses import dataclass
from functools import reduce
from operator import or_
from uuid import UUID

from django.db.models import (
    BooleanField, Case, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When, Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from backend.asyncdb import loop_models, loop_rows
from core.errors import NotFound
from core.validation import uuid_or_none
from useraccount.models import Block, User
from useraccount.selectors import blocked_between, blocked_either_way_ids, blocks_between, blocks_involving

from .models import Attachment, Conversation, ConversationMember, ConversationMessage, direct_peer_id
from .search import clean_query, search_messages

_MEMBERS = Prefetch("users", queryset=User.objects.order_by("name", "email"))


def conversation_list(*, user: User) -> QuerySet[Conversation]:
    """
    The user's conversations, latest activity first, members prefetched, each
    with the user's ``unread_count`` (messages after their last read seq),
    their mute (``muted``, ``muted_until``) and ``closed_by_block``: a direct
    conversation whose other member blocks them or is blocked by them.
    """
    mine = ConversationMember.objects.filter(conversation=OuterRef("pk"), user=user)
    # A user never blocks themselves, so a block of the user's naming a member is one with the other member.
    block_with_a_member = Block.objects.filter(
        Q(blocker=user, blocked__memberships__conversation=OuterRef("pk"))
        | Q(blocked=user, blocker__memberships__conversation=OuterRef("pk"))
    )
    return (
        Conversation.objects.filter(members__user=user)
        .annotate(
            unread_count=F("last_seq") - Subquery(mine.values("last_read_seq")[:1]),
            muted=Subquery(mine.values("muted")[:1]),
            muted_until=Subquery(mine.values("muted_until")[:1]),
            closed_by_block=Case(
                When(direct_key__isnull=False, then=Exists(block_with_a_member)),
                default=Value(False), output_field=BooleanField(),
            ),
        )
        .prefetch_related(_MEMBERS)
        .order_by("-modified_at")
    )


def unread_counts(*, user: User) -> dict[str, int]:
    """``{conversation id: unread count}`` for the user's conversations with unread messages."""
    rows = (
        ConversationMember.objects.filter(user=user)
        .annotate(unread=F("conversation__last_seq") - F("last_read_seq"))
        .filter(unread__gt=0)
        .values_list("conversation_id", "unread")
    )
    return {str(conversation_id): unread for conversation_id, unread in rows}


def member_ids(*, conversation_id) -> list[str]:
    return [str(user_id) for (user_id,) in _member_ids(conversation_id=conversation_id)]


def _member_ids(*, conversation_id):
    return ConversationMember.objects.filter(conversation_id=conversation_id).values_list("user_id")


# Presence is for the people one shares a conversation with, except a direct
# conversation closed by a block (either way): there neither is shown the
# other's presence or typing, while a group they share carries both as usual
# (docs/protocol.md, "Blocking").


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
    """``presence_conversation_ids``, its queries run from the event loop (backend.asyncdb)."""
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


def quiet_list(*, user: User) -> tuple[list[str], dict[str, float | None]]:
    """
    What a notifications socket stays quiet about (chat.realtime.session.QuietList):
    the ids of the users ``user`` blocked, and their muted conversations with
    when each mute ends (a Unix time; None: until unmuted). Two queries.
    """
    from useraccount.selectors import blocked_ids

    now = timezone.now()
    mutes = ConversationMember.objects.filter(user=user, muted=True).filter(
        Q(muted_until__isnull=True) | Q(muted_until__gt=now)
    ).values_list("conversation_id", "muted_until")
    muted = {str(conversation_id): until.timestamp() if until else None for conversation_id, until in mutes}
    return blocked_ids(user=user), muted


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


def room_for_user(*, conversation_id, user: User) -> tuple[Conversation, list[str], list[str]]:
    """
    What a room socket needs to open: the conversation (NotFound unless a
    member), its member ids, and the ids of members whose typing and
    presence its client is not shown (the other member of a direct
    conversation a block closes; else none).
    """
    conversation = conversation_get_for_user(conversation_id=conversation_id, user=user)
    peer_id = direct_peer_id(conversation.direct_key, user.id)
    closed = peer_id is not None and blocked_between(first_id=user.id, second_id=peer_id)
    return conversation, member_ids(conversation_id=conversation.id), [str(peer_id)] if closed else []


async def room_for_user_on_loop(*, conversation_id, user: User) -> tuple[Conversation, list[str], list[str]]:
    """``room_for_user``, its queries run from the event loop (backend.asyncdb)."""
    query = _members_conversation(conversation_id=conversation_id, user=user)
    found = await loop_models(query[:1]) if query is not None else []
    if not found:
        raise NotFound("No such conversation.")
    rows = await loop_rows(_member_ids(conversation_id=found[0].id))
    peer_id = direct_peer_id(found[0].direct_key, user.id)
    closed = peer_id is not None and bool(
        await loop_rows(blocks_between(first_id=user.id, second_id=peer_id).values_list("id")[:1])
    )
    return found[0], [str(user_id) for (user_id,) in rows], [str(peer_id)] if closed else []


def conversation_last_seq(*, conversation_id) -> int:
    return _last_seq(conversation_id=conversation_id).get()[0]


async def conversation_last_seq_on_loop(*, conversation_id) -> int:
    """``conversation_last_seq``, run from the event loop."""
    return (await loop_rows(_last_seq(conversation_id=conversation_id)))[0][0]


def _last_seq(*, conversation_id):
    return Conversation.objects.filter(id=conversation_id).values_list("last_seq")


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


def message_list(
    *, conversation: Conversation, before: int | None = None, after: int | None = None, limit: int = 50
) -> list[ConversationMessage]:
    """
    Up to ``limit`` messages in seq order.

    With ``after``: the oldest ones after it (and below ``before``, if given):
    catching up. Otherwise the newest ones below ``before`` (or the newest of
    all): scrolling back.
    """
    messages = ConversationMessage.objects.for_display().filter(conversation=conversation)
    if after is not None:
        messages = messages.filter(seq__gt=after)
    if before is not None:
        messages = messages.filter(seq__lt=before)
    if after is not None:
        return list(messages.order_by("seq")[:limit])
    newest = list(messages.order_by("-seq")[:limit])
    newest.reverse()
    return newest


@dataclass
class ConversationChanges:
    conversation: Conversation
    messages: list[ConversationMessage]
    has_more: bool


def changes_since(
    *, user: User, known: dict[str, int], limit: int, max_conversations: int | None = None,
    max_body_chars: int | None = None,
) -> tuple[list[ConversationChanges], int, bool]:
    """
    What a notifications socket missed: the conversations of ``user`` that
    have messages after the seq the client knows (``known``: conversation id ->
    seq) or that the client does not know at all, most recently active first
    and at most ``max_conversations`` of them, each with its oldest ``limit``
    messages after that seq (0 when unknown), and at most ``max_body_chars``
    characters of message bodies in all (the first message always goes, so a
    page always moves on). Returns ``(changes, unread_total, more)``,
    ``more`` when conversations were left for the next page.

    Three queries however many conversations changed: the list (with unread
    counts), its members, and one windowed query for every conversation's
    messages at once.
    """
    conversations = list(conversation_list(user=user))
    unread_total = sum(conversation.unread_count for conversation in conversations)
    after = {}
    for conversation in conversations:
        seq = known.get(str(conversation.id))
        if seq is None or conversation.last_seq > seq:
            after[conversation.id] = seq or 0
    more = max_conversations is not None and len(after) > max_conversations
    if more:
        after = dict(list(after.items())[:max_conversations])
    with_news = [c for c in conversations if c.id in after and c.last_seq > after[c.id]]
    by_conversation: dict = {}
    if with_news:
        wanted = reduce(or_, (Q(conversation_id=c.id, seq__gt=after[c.id]) for c in with_news))
        rows = (
            ConversationMessage.objects.for_display()
            .filter(wanted)
            .annotate(row=Window(RowNumber(), partition_by=[F("conversation_id")], order_by=F("seq").asc()))
            .filter(row__lte=limit + 1)
            .order_by("conversation_id", "seq")
        )
        for message in rows:
            by_conversation.setdefault(message.conversation_id, []).append(message)
    changes = []
    budget = float("inf") if max_body_chars is None else max_body_chars
    for conversation in conversations:
        if conversation.id not in after:
            continue
        messages = by_conversation.get(conversation.id, [])
        kept = []
        for message in messages[:limit]:
            # The page's first message always goes, so every page moves on.
            if (kept or changes) and len(message.body) > budget:
                break
            budget -= len(message.body)
            kept.append(message)
        if messages and not kept:
            more = True  # over the budget: this and the rest wait for the next page
            break
        changes.append(ConversationChanges(conversation, kept, len(messages) > len(kept)))
    return changes, unread_total, more


def message_search(*, user: User, query: str, conversation: Conversation | None = None) -> QuerySet[ConversationMessage]:
    """
    Messages of the user's conversations (or of ``conversation``, which they
    are in) matching ``query``, best first; never one a moderator hid.
    """
    messages = ConversationMessage.objects.for_display().filter(moderated_at__isnull=True)
    if conversation is not None:
        messages = messages.filter(conversation=conversation)
    else:
        # The ids as a list, not a subquery: PostgreSQL then reads the index
        # once for all of them instead of once per conversation (docs/search.md).
        ids = list(ConversationMember.objects.filter(user=user).values_list("conversation_id", flat=True))
        messages = messages.filter(conversation_id__in=ids)
    return search_messages(messages, clean_query(query))


def attachment_for_user(*, conversation_id, attachment_id, user: User) -> Attachment:
    """
    An attachment ``user`` may download: one a message of a conversation
    they are in carries, or their own upload not sent yet. NotFound otherwise,
    the same for a conversation they are not in as for no such attachment.
    """
    conversation = conversation_get_for_user(conversation_id=conversation_id, user=user)
    parsed = uuid_or_none(attachment_id)
    attachment = (
        Attachment.objects.filter(id=parsed, conversation=conversation)
        .filter(Q(message__isnull=False) | Q(uploaded_by=user))
        .first()
        if parsed
        else None
    )
    if attachment is None:
        raise NotFound("No such attachment.")
    return attachment
