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

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from core.errors import NotFound
from core.validation import uuid_or_none
from useraccount.models import User

from .models import Attachment, Conversation, ConversationMember, ConversationMessage
from .search import clean_query, search_messages

_MEMBERS = Prefetch("users", queryset=User.objects.order_by("name", "email"))


def conversation_list(*, user: User) -> QuerySet[Conversation]:
    """
    The user's conversations, latest activity first, members prefetched, each
    with the user's ``unread_count`` (messages after their last read seq) and
    their mute (``muted``, ``muted_until``).
    """
    mine = ConversationMember.objects.filter(conversation=OuterRef("pk"), user=user)
    return (
        Conversation.objects.filter(members__user=user)
        .annotate(
            unread_count=F("last_seq") - Subquery(mine.values("last_read_seq")[:1]),
            muted=Subquery(mine.values("muted")[:1]),
            muted_until=Subquery(mine.values("muted_until")[:1]),
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
    return [
        str(user_id)
        for user_id in ConversationMember.objects.filter(conversation_id=conversation_id).values_list(
            "user_id", flat=True
        )
    ]


def shares_conversation(*, user: User, other: User) -> bool:
    return ConversationMember.objects.filter(user=other, conversation__members__user=user).exists()


def contact_ids(*, user: User) -> list[str]:
    """Everyone who shares a conversation with ``user``."""
    ids = (
        ConversationMember.objects.filter(conversation__members__user=user)
        .exclude(user=user)
        .values_list("user_id", flat=True)
        .distinct()
    )
    return [str(user_id) for user_id in ids]


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
    parsed = uuid_or_none(conversation_id)
    conversation = (
        Conversation.objects.filter(id=parsed, members__user=user).first() if parsed else None
    )
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


def room_for_user(*, conversation_id, user: User) -> tuple[Conversation, list[str]]:
    """What a room socket needs to open: the conversation (NotFound unless a member) and its member ids."""
    conversation = conversation_get_for_user(conversation_id=conversation_id, user=user)
    return conversation, member_ids(conversation_id=conversation.id)


def conversation_last_seq(*, conversation_id) -> int:
    return Conversation.objects.filter(id=conversation_id).values_list("last_seq", flat=True).get()


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
