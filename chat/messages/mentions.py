"""
Mentions in a message body, parsed on the server by the one send path
(chat.messages.send) and by edits (chat.messages.services): the rule in plain
Python (``parse_mentions``, tested without a database), the member list it
needs read in one query (``mentions_for``), and the Mention rows kept in step
(``mentions_store``). ``mentions_as_text`` writes the markup as names, for
where no client renders it (push texts).

The markup is ``<@user-id>`` (as Slack's): the client inserts it when its
user picks a member, and shows it as ``@Name``; a name with spaces, or two
members with the same name, cannot make it ambiguous. ``@all`` (a word of its
own) in a group mentions every member. Only members can be mentioned: the
markup of anyone else (and of the sender) stays text and is not stored.

    parse_mentions("hi <@9b1d...> and @all", sender_id=me, members={...}, owner_id=o, direct=False)
    # Mentions(user_ids=("9b1d...",), all=True)
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

from django.conf import settings

from chat.conversations.roles import OWNER, Action, may
from chat.models import ConversationMember, ConversationMessage, Mention
from core.errors import Forbidden, InvalidInput

# <@uuid>: the hex digits with or without dashes, as uuid.UUID reads them.
USER_MARKUP = re.compile(r"<@([0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})>")
# @all as a word: not inside an address (a@all.org) nor a longer word (@allison).
ALL_MARKUP = re.compile(r"(?<![\w@.])@all(?![\w@-])")


@dataclass(frozen=True)
class Mentions:
    user_ids: tuple[str, ...] = ()
    all: bool = False
    # With ``all``: every member but the sender, when read with the members (mentions_for).
    _everyone: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __bool__(self) -> bool:
        return bool(self.user_ids) or self.all


NONE = Mentions()


def may_mention(body: str) -> bool:
    """Whether ``body`` has any mention markup at all: without any, a send needs no member list (the fast path)."""
    return "@" in body and (USER_MARKUP.search(body) is not None or ALL_MARKUP.search(body) is not None)


def parse_mentions(
    body: str, *, sender_id, members: Mapping[str, str], owner_id, direct: bool,
    max_mentions: int | None = None, mention_all_min_members: int | None = None,
) -> Mentions:
    """
    The members ``body`` mentions, in order of first mention, each once.
    ``members``: each member's id (as text) and stored role. InvalidInput
    ``too_many_mentions`` past CHAT_MESSAGE_MAX_MENTIONS distinct users named;
    Forbidden ``not_admin`` for ``@all`` in a group of more than
    CHAT_MENTION_ALL_MIN_MEMBERS members from someone below admin. ``@all``
    in a direct conversation is text (the other member is told anyway).
    """
    if max_mentions is None:
        max_mentions = settings.CHAT_MESSAGE_MAX_MENTIONS
    if mention_all_min_members is None:
        mention_all_min_members = settings.CHAT_MENTION_ALL_MIN_MEMBERS
    named = list(dict.fromkeys(str(UUID(match)) for match in USER_MARKUP.findall(body)))
    if len(named) > max_mentions:
        raise InvalidInput(
            f"A message may mention at most {max_mentions} people.", code="too_many_mentions", field="body"
        )
    sender = str(sender_id)
    user_ids = tuple(user_id for user_id in named if user_id in members and user_id != sender)
    mentions_all = not direct and ALL_MARKUP.search(body) is not None
    if mentions_all and len(members) > mention_all_min_members:
        role = OWNER if owner_id is not None and str(owner_id) == sender else members.get(sender)
        if role is None or not may(role, Action.MENTION_ALL, direct=False):
            raise Forbidden(
                f"Only the group's owner and admins can mention @all in a group of more than "
                f"{mention_all_min_members} members.",
                code="not_admin",
            )
    return Mentions(user_ids, mentions_all)


def mentions_as_text(body: str, names: Mapping[str, str]) -> str:
    """``body`` with the markup of each user in ``names`` (id -> name) as ``@Name``; other markup as written."""
    def name(match: re.Match) -> str:
        user_id = str(UUID(match.group(1)))
        return f"@{names[user_id]}" if user_id in names else match.group(0)

    return USER_MARKUP.sub(name, body)


def mentions_for(*, conversation_id, sender_id, body: str) -> Mentions:
    """
    ``parse_mentions`` with the conversation's members, read in one query;
    none read when the body has no markup. Call inside the message's
    transaction, after its seq is taken (the conversation is locked: the
    members cannot change meanwhile).
    """
    if not may_mention(body):
        return NONE
    rows = ConversationMember.objects.filter(conversation_id=conversation_id).values_list(
        "user_id", "role", "conversation__owner_id", "conversation__direct_key"
    )
    members, owner_id, direct = {}, None, False
    for user_id, role, owner_id, direct_key in rows:
        members[str(user_id)] = role
        direct = direct_key is not None
    mentions = parse_mentions(body, sender_id=sender_id, members=members, owner_id=owner_id, direct=direct)
    if mentions.all:
        # Who @all reaches is who was a member when it was said: kept as rows, not recomputed.
        return Mentions(mentions.user_ids, True, _everyone=tuple(u for u in members if u != str(sender_id)))
    return mentions


def mentioned_user_ids(mentions: Mentions) -> set[str]:
    """Everyone ``mentions`` reaches: the members named and, for @all, every member but the sender."""
    return set(mentions.user_ids) | set(mentions._everyone)


def mentions_store(message: ConversationMessage, mentions: Mentions, *, created: bool) -> set[str]:
    """
    Make ``message``'s Mention rows match ``mentions`` (a new message, or an
    edit); returns the users mentioned now who were not before, to notify.
    The row's ``mention_ids``/``mentions_all`` are the caller's to save.
    """
    wanted = mentioned_user_ids(mentions)
    had = set() if created else {
        str(user_id) for user_id in Mention.objects.filter(message=message).values_list("user_id", flat=True)
    }
    if had - wanted:
        Mention.objects.filter(message=message, user_id__in=list(had - wanted)).delete()
    new = wanted - had
    if new:
        Mention.objects.bulk_create([Mention(message=message, user_id=user_id) for user_id in new])
    return new
