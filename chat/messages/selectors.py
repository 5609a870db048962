"""
Reads of messages: a conversation's history page by page (``message_list``),
what changed since a client last looked (``changes_since``, the
notifications socket's ``sync``, in three queries), its pinned messages
(``pinned_messages``) and the messages that mention a user (``mention_list``).
"""

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import (
    F,
    Q,
    QuerySet,
    Window,
)
from django.db.models.functions import RowNumber

from chat.conversations.selectors import conversation_list
from chat.messages.metadata import metadata_filter
from chat.models import (
    Conversation,
    ConversationMessage,
)
from useraccount.models import User



def pinned_messages(*, conversation: Conversation) -> QuerySet[ConversationMessage]:
    """
    The conversation's pinned messages with who pinned them, for a page
    ordered newest pin first (the ``pinned_messages`` index: one scan).
    """
    return (
        ConversationMessage.objects.for_display().select_related("pinned_by")
        .filter(conversation=conversation, pinned_at__isnull=False)
    )


def message_list(
    *, conversation: Conversation, before: int | None = None, after: int | None = None, limit: int = 50,
    metadata: dict[str, str] | None = None,
) -> list[ConversationMessage]:
    """
    Up to ``limit`` messages in seq order (with ``metadata``, those whose
    metadata has each key equal to its value: chat.messages.metadata).

    With ``after``: the oldest ones after it (and below ``before``, if given):
    catching up. Otherwise the newest ones below ``before`` (or the newest of
    all): scrolling back.
    """
    messages = ConversationMessage.objects.for_display().filter(conversation=conversation)
    if metadata:
        messages = messages.filter(metadata_filter(metadata))
    if after is not None:
        messages = messages.filter(seq__gt=after)
    if before is not None:
        messages = messages.filter(seq__lt=before)
    if after is not None:
        return list(messages.order_by("seq")[:limit])
    newest = list(messages.order_by("-seq")[:limit])
    newest.reverse()
    return newest


def mention_list(*, user: User) -> QuerySet[ConversationMessage]:
    """
    The messages that mention ``user`` (by name or @all), newest first: only
    in conversations they are still a member of, none deleted or hidden by a
    moderator. One query a page: the Mention rows (indexed by user) and the
    membership join each give at most one row per message.
    """
    return (
        ConversationMessage.objects.for_display()
        .filter(mentions__user=user, conversation__members__user=user, deleted_at=None, moderated_at=None)
        .order_by("-created_at")
    )


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
