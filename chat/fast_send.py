"""
A socket's message send on PostgreSQL in one statement, run from the event
loop: no worker thread, no explicit transaction, one round trip.

``message_send`` (chat.services) stays the one definition of a send; this is
the same send for its common case, a text message with no reply and no
attachments, written as one SQL statement whose parts PostgreSQL runs
atomically (a data-modifying ``WITH``):

1. ``UPDATE`` the conversation's ``last_seq`` if the sender is a member and,
   in a direct conversation, the other member is not deleted and neither
   blocks the other (the same conditions as the service), returning the seq;
2. ``INSERT`` the message with that seq;
3. ``UPDATE`` the sender's read position to it.

The row lock of step 1 serialises senders exactly as the service's does. A
retried ``client_id`` violates the same unique constraint, which undoes the
whole statement (the seq too); the original is then read and returned. When
step 1 matches no row (not a member, no such conversation, blocked, a deleted
peer), nothing was written and the service runs instead, so the client gets
exactly the error the service gives, or a send if things changed meanwhile.
Anything else (a reply, attachments, SQLite) goes to the service directly.
The event, the push job and the metrics are the service's.
"""

import uuid
from functools import cache

from django.db import DatabaseError
from django.utils import timezone

from backend.asyncdb import db, loop_connections, loop_queries
from core import metrics
from useraccount.models import Block, User

from . import services
from .models import Conversation, ConversationMember, ConversationMessage
from .realtime import outbox

CLIENT_ID_CONSTRAINT = "unique_message_client_id"


@cache
def _statement() -> str:
    conversations, members = Conversation._meta.db_table, ConversationMember._meta.db_table
    messages, users, blocks = ConversationMessage._meta.db_table, User._meta.db_table, Block._meta.db_table
    # The other member of a direct conversation, read off its key (two hex ids joined by "-").
    peer = "replace(replace(c.direct_key, %(sender_hex)s, ''), '-', '')::uuid"
    return f"""
WITH bumped AS (
    UPDATE {conversations} c SET last_seq = c.last_seq + 1, modified_at = %(now)s
    WHERE c.id = %(conversation)s
      AND EXISTS (SELECT 1 FROM {members} m WHERE m.conversation_id = c.id AND m.user_id = %(sender)s)
      AND (c.direct_key IS NULL OR c.direct_key = '' OR (
          NOT EXISTS (SELECT 1 FROM {users} u WHERE u.id = {peer} AND u.deleted_at IS NOT NULL)
          AND NOT EXISTS (
              SELECT 1 FROM {blocks} b
              WHERE (b.blocker_id = %(sender)s AND b.blocked_id = {peer})
                 OR (b.blocker_id = {peer} AND b.blocked_id = %(sender)s))))
    RETURNING c.last_seq,
              CASE WHEN c.direct_key IS NULL OR c.direct_key = '' THEN NULL ELSE {peer} END AS peer_id
), inserted AS (
    INSERT INTO {messages} (id, conversation_id, seq, body, created_by_id, sent_to_id, client_id, created_at,
                            kind, reaction_summary, attachment_summary)
    SELECT %(id)s, %(conversation)s, last_seq, %(body)s, %(sender)s, peer_id, %(client_id)s, %(now)s,
           %(kind)s, '[]'::jsonb, '[]'::jsonb
    FROM bumped
    RETURNING seq, sent_to_id
)
UPDATE {members} m SET last_read_seq = inserted.seq FROM inserted
WHERE m.conversation_id = %(conversation)s AND m.user_id = %(sender)s
RETURNING inserted.seq, inserted.sent_to_id
"""


def available(*, reply_to, attachment_ids) -> bool:
    """Whether a send can take the one-statement path (PostgreSQL, setting on, plain text)."""
    return loop_queries() and reply_to is None and not attachment_ids


async def message_send(*, conversation_id, sender: User, body, client_id="", box: outbox.Outbox):
    """
    ``services.message_send`` for a plain text message, in one statement on
    PostgreSQL; returns ``(message, created)`` and leaves the event (and the
    push job) in ``box`` for the caller to flush, as the service would.
    """
    import psycopg

    conversation_id = services._conversation_id(conversation_id)
    body = services._validate_body(body)
    client_id = services._validate_client_id(client_id)
    now = timezone.now()
    params = {
        "id": uuid.uuid4(), "conversation": conversation_id, "sender": sender.id, "sender_hex": sender.id.hex,
        "body": body, "client_id": client_id, "now": now, "kind": ConversationMessage.TEXT,
    }  # fmt: skip
    try:
        async with loop_connections().connection() as conn:
            cursor = await conn.execute(_statement(), params, prepare=True)
            row = await cursor.fetchone()
    except psycopg.errors.UniqueViolation as error:
        if error.diag.constraint_name != CLIENT_ID_CONSTRAINT:
            raise DatabaseError(str(error)) from error
        original = await db(services._message_by_client_id)(
            conversation_id=conversation_id, sender=sender, client_id=client_id
        )
        if original is None:  # deleted between the two statements: as the service, an error
            raise DatabaseError(str(error)) from error
        return original, False
    except psycopg.Error as error:
        raise DatabaseError(str(error)) from error
    if row is None:
        # Nothing written: the service says why (or sends, if something changed meanwhile).
        return await outbox.run(
            services.message_send, outbox=box, conversation_id=conversation_id, sender=sender, body=body,
            client_id=client_id,
        )
    seq, peer_id = row
    message = ConversationMessage(
        id=params["id"], conversation_id=conversation_id, seq=seq, body=body, created_by=sender,
        sent_to_id=peer_id, client_id=client_id, created_at=now, kind=ConversationMessage.TEXT,
        reaction_summary=[], attachment_summary=[],
    )  # fmt: skip
    message.reply_to = None
    services._message_saved(message, emit=box.emitted, after_commit=box.committed_job)
    metrics.MESSAGES_SAVED.inc()
    await box.flush()
    return message, True
