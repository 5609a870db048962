"""
The rules chat writes share, each written once.

**Who may post in a conversation** (send a message, edit one, react): a
member; in a direct conversation, only while the other member's account
exists and is not deleted and neither of the two blocks the other. The rule
is SQL over the conversation row, written once here as named parts
(``rule_parts``) and used three ways:

- ``SEQ_BUMP``: the conversation's next seq, taken only where the rule holds
  (one ``UPDATE ... RETURNING`` that also locks the row until commit). The
  transactional send (any database, chat.messages.send.message_send) runs it
  on its own; the one-statement send on PostgreSQL
  (chat.messages.send.message_send_from_loop) runs it as the first step of
  its single statement.
- ``refusal``: when the bump matched nothing, the same parts read one by one
  say why, as the error the client gets: ``NotFound`` (no such conversation,
  or not a member), ``recipient_deleted`` or ``blocked``.
- ``refuse_unless_open``: edits and reactions ask the same question without
  taking a seq.

Both sends also share ``MARK_OWN_READ`` (whoever writes has read everything
up to their own message) and the input checks below.

    seq, peer_id = next_seq(conversation_id=cid, sender=user)   # inside the message's transaction
    refuse_unless_open(conversation_id=cid, user=user)          # NotFound / Forbidden, or nothing
"""

import uuid
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.utils import timezone

from chat.models import CLIENT_ID_MAX_LENGTH, Conversation, ConversationMember
from core.errors import Forbidden, InvalidInput, NotFound
from core.validation import storable_text, uuid_or_none
from useraccount.models import Block, User


def parse_conversation_id(value) -> UUID:
    """A conversation id from a client; anything that is not one is NotFound, like a conversation that does not exist."""
    parsed = uuid_or_none(value)
    if parsed is None:
        raise NotFound("No such conversation.")
    return parsed


def blocked_error() -> Forbidden:
    return Forbidden(
        "One of you has blocked the other: no direct messages until they unblock.", code="blocked"
    )


def recipient_deleted_error() -> Forbidden:
    return Forbidden(
        "The other person deleted their account: the conversation stays readable, but closed.",
        code="recipient_deleted",
    )


# --- Who may post: the rule's parts, as SQL over the conversation row ``c``
#
# Parameters: %(conversation)s, %(sender)s (as the database stores ids) and
# %(sender_hex)s. A direct conversation's key is its members' two hex ids
# joined by "-", sorted (chat.models.direct_conversation_key), so the other
# member is the half that is not the sender's: read with substr, which is
# always a well-formed id whatever the sender (PostgreSQL may evaluate the
# parts in any order, so none may fail for a non-member).


def _peer(vendor: str, table: str = "c.") -> str:
    halves = f"substr({table}direct_key, 1, 32)", f"substr({table}direct_key, 34, 32)"
    peer = f"CASE WHEN {halves[0]} = %(sender_hex)s THEN {halves[1]} ELSE {halves[0]} END"
    # SQLite stores ids as 32 hex digits, as the key does; PostgreSQL as uuid.
    return f"({peer})::uuid" if vendor == "postgresql" else peer


@cache
def rule_parts(vendor: str) -> dict[str, str]:
    members, users, blocks = ConversationMember._meta.db_table, User._meta.db_table, Block._meta.db_table
    peer = _peer(vendor)
    return {
        "member": f"EXISTS (SELECT 1 FROM {members} m WHERE m.conversation_id = c.id AND m.user_id = %(sender)s)",
        "direct": "(c.direct_key IS NOT NULL AND c.direct_key <> '')",
        # A peer row that is missing counts as deleted: nobody would read the message.
        "peer_active": f"EXISTS (SELECT 1 FROM {users} u WHERE u.id = {peer} AND u.deleted_at IS NULL)",
        "blocked": (
            f"EXISTS (SELECT 1 FROM {blocks} b WHERE (b.blocker_id = %(sender)s AND b.blocked_id = {peer})"
            f" OR (b.blocker_id = {peer} AND b.blocked_id = %(sender)s))"
        ),
    }


@cache
def may_post(vendor: str) -> str:
    """The whole rule, as one condition on ``c``."""
    part = rule_parts(vendor)
    return f"{part['member']} AND (NOT {part['direct']} OR ({part['peer_active']} AND NOT {part['blocked']}))"


@cache
def seq_bump(vendor: str) -> str:
    """
    Take the next seq where ``may_post`` holds: returns ``(last_seq, peer,
    disappearing_seconds)`` (the other member of a direct conversation, None
    in a group; the conversation's disappearing timer, None when off), or no
    row. The timer is read from the row the bump locks, so a message takes
    the timer in force when it got its seq.
    """
    conversations = Conversation._meta.db_table
    # RETURNING names the row's columns unqualified: SQLite does not take the alias there.
    peer = _peer(vendor, table="")
    return (
        f"UPDATE {conversations} AS c SET last_seq = c.last_seq + 1, modified_at = %(now)s "
        f"WHERE c.id = %(conversation)s AND {may_post(vendor)} "
        f"RETURNING last_seq, CASE WHEN direct_key IS NULL OR direct_key = '' THEN NULL ELSE {peer} END, "
        "disappearing_seconds"
    )


@cache
def refusal_query(vendor: str) -> str:
    """The rule's parts one by one, for ``refusal`` to read."""
    part = rule_parts(vendor)
    columns = ", ".join(part[name] for name in ("member", "direct", "peer_active", "blocked"))
    return f"SELECT {columns} FROM {Conversation._meta.db_table} c WHERE c.id = %(conversation)s"


def expires_at(*, sent_at: datetime, disappearing_seconds: int | None) -> datetime | None:
    """When a message sent at ``sent_at`` under the timer the seq bump read expires (None: never)."""
    return None if disappearing_seconds is None else sent_at + timedelta(seconds=disappearing_seconds)


def expires_at_sql(*, sent_at: str = "%(now)s", disappearing_seconds: str) -> str:
    """``expires_at`` as PostgreSQL computes it in the one-statement send (null timer: null)."""
    return f"{sent_at} + {disappearing_seconds} * interval '1 second'"


def mark_own_read(*, seq: str = "%(seq)s", source: str = "", clear_draft: bool = False) -> str:
    """
    The sender's read position moves to their message's seq (``seq``: a
    parameter, or a column of ``source``); with ``clear_draft`` their draft
    of the conversation goes in the same write (chat.conversations.drafts).
    """
    members = ConversationMember._meta.db_table
    draft = ", draft = '', draft_updated_at = NULL" if clear_draft else ""
    return (
        f"UPDATE {members} SET last_read_seq = {seq}{draft} {source} "
        f"WHERE {members}.conversation_id = %(conversation)s AND {members}.user_id = %(sender)s"
    )


def rule_params(*, conversation_id: UUID, sender_id: UUID, db=connection) -> dict:
    """
    The rule's parameters, as ``db`` stores ids. From the event loop pass the
    process's compiling connection (core.runtime.asyncdb): Django's
    ``connection`` there is made anew for every task, and kept.
    """
    return {
        "conversation": Conversation._meta.pk.get_db_prep_value(conversation_id, db),
        "sender": User._meta.pk.get_db_prep_value(sender_id, db),
        "sender_hex": sender_id.hex,
    }


def refusal(row) -> Exception | None:
    """
    Why ``may_post`` does not hold, from ``refusal_query``'s row (None: no
    such conversation): the error, or None when it holds after all
    (something changed between the two reads).
    """
    if row is None or not row[0]:
        return NotFound("No such conversation.")
    member, direct, peer_active, blocked = row
    if direct and not peer_active:
        return recipient_deleted_error()
    if direct and blocked:
        return blocked_error()
    return None


class Bump(NamedTuple):
    seq: int
    peer_id: UUID | None
    disappearing_seconds: int | None


def next_seq(*, conversation_id: UUID, sender: User) -> tuple[int, UUID | None]:
    """
    The conversation's next seq for a message by ``sender``, where the rule
    holds; call inside the message's transaction (the row stays locked until
    it commits, so writers in every process get 1, 2, 3...). Returns ``(seq,
    peer_id)``; raises the refusal otherwise.
    """
    bump = take_seq(conversation_id=conversation_id, sender=sender)
    return bump.seq, bump.peer_id


def take_seq(*, conversation_id: UUID, sender: User) -> Bump:
    """``next_seq`` with the conversation's disappearing timer as the bump read it (what a text message needs)."""
    params = {**rule_params(conversation_id=conversation_id, sender_id=sender.id), "now": timezone.now()}
    for _ in range(2):  # a second try only if the rule came to hold between the bump and the refusal's read
        with connection.cursor() as cursor:
            cursor.execute(seq_bump(connection.vendor), params)
            row = cursor.fetchone()
        if row is not None:
            break
        if (error := _why(params)) is not None:
            raise error
    else:
        raise NotFound("No such conversation.")
    seq, peer, disappearing_seconds = row
    return Bump(seq, (peer if peer is None or isinstance(peer, UUID) else uuid.UUID(peer)), disappearing_seconds)


def refuse_unless_open(*, conversation_id: UUID, user: User) -> None:
    """Raise the refusal if ``user`` may not post in the conversation now (edits and reactions ask this)."""
    error = _why(rule_params(conversation_id=conversation_id, sender_id=user.id))
    if error is not None:
        raise error


def _why(params: dict) -> Exception | None:
    with connection.cursor() as cursor:
        cursor.execute(refusal_query(connection.vendor), params)
        return refusal(cursor.fetchone())


def mark_own_read_now(*, conversation_id: UUID, sender: User, seq: int, clear_draft: bool = False) -> None:
    """Inside the message's transaction: its sender has read up to it (and, with ``clear_draft``, sent their draft)."""
    params = {**rule_params(conversation_id=conversation_id, sender_id=sender.id), "seq": seq}
    with connection.cursor() as cursor:
        cursor.execute(mark_own_read(clear_draft=clear_draft), params)


# --- Input


def validate_body(body, *, may_be_empty: bool = False) -> str:
    if body is None and may_be_empty:
        body = ""
    if not isinstance(body, str):
        raise InvalidInput("The message body must be a string.", code="invalid_body", field="body")
    if not storable_text(body):
        raise InvalidInput(
            "The message body holds a NUL or an invalid character.", code="invalid_body", field="body"
        )
    if not body.strip() and not may_be_empty:
        raise InvalidInput("The message body is empty.", code="empty_body", field="body")
    limit = settings.CHAT_MESSAGE_MAX_LENGTH
    if len(body) > limit:
        raise InvalidInput(
            f"The message body is longer than {limit} characters.",
            code="body_too_long",
            field="body",
        )
    return body


def validate_client_id(client_id) -> str:
    if client_id is None:
        return ""
    if not isinstance(client_id, str) or len(client_id) > CLIENT_ID_MAX_LENGTH or not storable_text(client_id):
        raise InvalidInput(
            f"client_id must be text of at most {CLIENT_ID_MAX_LENGTH} characters (no NUL).",
            code="invalid_client_id",
            field="client_id",
        )
    return client_id
