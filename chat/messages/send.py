"""
Sending a message: the one service that creates one, run two ways.

``message_send`` validates, takes the conversation's next seq where the
posting rule holds (chat.rules), saves the message, moves the sender's read
position and announces it, all in one transaction on any database; REST,
system-free sends and the sockets' replies and attachments use it.

``message_send_from_loop`` is what a socket calls. On PostgreSQL a plain
text message (no reply, attachments or thread) is the same send as one statement
run from the event loop (a data-modifying ``WITH``: the same ``SEQ_BUMP``
and ``MARK_OWN_READ`` of chat.rules around the insert), with no worker
thread and one round trip; everything else (replies, attachments, mention
markup: chat.messages.mentions) runs ``message_send`` on a database
thread. Both then read the same refusal when the bump matched
nothing, handle a resent ``client_id`` through the same unique constraint
(the rollback undoes the seq), and announce the message the same way
(``announce_new_message``), so they cannot drift apart: tests/chat/messages/
test_send_rules.py runs every case through both.

    message, created = message_send(conversation_id=cid, sender=user, body="Hi")              # REST
    message, created = await message_send_from_loop(conversation_id=cid, sender=user, body="Hi",
                                                    outbox=box)                             # a socket
"""

import uuid
from functools import cache, partial
from uuid import UUID

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from chat.attachments.serializers import attachment_summary
from chat.attachments.services import attach_shared, attach_uploads, attachments_shared, uploads_for_message
from chat.messages.mentions import may_mention, mentions_for, mentions_store
from chat.messages.metadata import validate_metadata
from chat.models import ConversationMessage
from chat.previews.services import preview_request
from chat.push.queue import push_enabled, push_enqueue
from chat.realtime import events
from chat.realtime.groups import conversation_group, room_group
from chat.rules import (
    expires_at,
    expires_at_sql,
    mark_own_read,
    mark_own_read_now,
    parse_conversation_id,
    refusal,
    refusal_query,
    rule_params,
    seq_bump,
    take_seq,
    validate_body,
    validate_client_id,
)
from chat.webhooks.emit import webhooks_emit
from chat.threads.services import thread_ref, thread_reply_added, thread_root_for_reply
from core import metrics
from core.errors import InvalidInput
from core.outbox import Outbox, with_outbox
from core.runtime.asyncdb import compiling_connection, db, loop_connections, loop_queries
from core.validation import uuid_or_none
from useraccount.models import User

CLIENT_ID_CONSTRAINT = "unique_message_client_id"


@with_outbox
def message_send(
    *, conversation_id, sender: User, body, client_id: str | None = "", reply_to=None, attachment_ids=None,
    thread_id=None, forward_of: ConversationMessage | None = None, metadata=None, clears_draft: bool = True,
    outbox: Outbox,
) -> tuple[ConversationMessage, bool]:
    """
    Validate, save and announce a message. Returns ``(message, created)``.

    NotFound unless ``sender`` is a member; ``recipient_deleted`` or
    ``blocked`` in a direct conversation that is closed. A ``client_id`` the
    sender already used in this conversation returns the original message
    with ``created=False`` and announces nothing: a retry is not a new
    message. ``reply_to`` is a message of the same conversation;
    ``attachment_ids`` are the sender's uploads to it that no message carries
    yet (the body may then be empty). ``thread_id`` makes it a reply in
    that message's thread (chat.threads): the root's summary is rewritten
    under its row lock, the sender follows the thread and has read it up to
    the reply (their read position of the conversation stays: it counts the
    main timeline), and the room also gets ``chat.thread.updated``. ``forward_of`` makes the message a
    forwarded copy of that one (chat.messages.forward, which checked it and
    holds its row's lock): it says whose it was and when, and shares its
    files through new attachment rows of this conversation. ``metadata``: a
    JSON object (chat.messages.metadata). The sender's draft of the
    conversation is cleared with their read position unless ``clears_draft``
    is off (a scheduled message, written earlier, leaves today's draft be).
    """
    conversation_id = parse_conversation_id(conversation_id)
    attachment_ids = attachment_ids_of(attachment_ids)
    shares_files = forward_of is not None and bool(forward_of.attachment_summary)
    body = validate_body(body, may_be_empty=bool(attachment_ids) or shares_files)
    client_id = validate_client_id(client_id)
    reply_to_id = _reply_to_id(reply_to)
    thread_id = thread_ref(thread_id)
    metadata = validate_metadata(metadata)
    # A resend is found by the unique constraint below, not by a lookup
    # first: retries are rare and the lookup would cost every message a query.
    # The reply and the attachments are checked after the insert for the
    # same reason: a resend's attachments are already taken by its original.
    try:
        with transaction.atomic():
            seq, peer_id, disappearing_seconds = take_seq(conversation_id=conversation_id, sender=sender)
            root = thread_root_for_reply(conversation_id=conversation_id, thread_id=thread_id) if thread_id else None
            if forward_of is None:
                uploads = uploads_for_message(conversation_id=conversation_id, sender=sender, ids=attachment_ids)
            else:
                uploads = attachments_shared(source=forward_of, conversation_id=conversation_id, sender=sender)
            mentions = mentions_for(conversation_id=conversation_id, sender_id=sender.id, body=body)
            message = ConversationMessage.objects.create(
                conversation_id=conversation_id,
                seq=seq,
                body=body,
                created_by=sender,
                sent_to_id=peer_id,
                # From the time taken here; created_at (auto_now_add) is taken a moment later.
                expires_at=expires_at(sent_at=timezone.now(), disappearing_seconds=disappearing_seconds),
                client_id=client_id,
                reply_to_id=reply_to_id,
                thread_root=root,
                attachment_summary=[attachment_summary(upload) for upload in uploads],
                **_forwarded_origin(forward_of),
                mention_ids=list(mentions.user_ids),
                mentions_all=mentions.all,
                metadata=metadata,
            )
            if mentions:
                mentions_store(message, mentions, created=True)
            message.reply_to = _replied_message(message=message)
            if forward_of is None:
                attach_uploads(message=message, uploads=uploads)
            else:
                attach_shared(message=message, shared=uploads)
            follower_ids = thread_reply_added(reply=message, root=root) if root else None
            if root is None:  # a reply moves its sender's read position of the thread instead (chat.unread)
                mark_own_read_now(conversation_id=conversation_id, sender=sender, seq=seq, clear_draft=clears_draft)
            announce_new_message(message, outbox=outbox, follower_ids=follower_ids)
            if root:
                outbox.emit(room_group(conversation_id), events.thread_updated(root))
    except IntegrityError:
        # Only the client_id constraint can fail here (seq is serialised by
        # the row lock): a resend. The rollback also undid the seq bump.
        original = client_id and message_by_client_id(
            conversation_id=conversation_id, sender=sender, client_id=client_id
        )
        if not original:
            raise
        return original, False
    metrics.MESSAGES_SAVED.inc()
    return message, True


def announce_new_message(
    message: ConversationMessage, *, outbox: Outbox, follower_ids: list[str] | None = None
) -> None:
    """
    Put what a new message sets off in ``outbox``: its event to the
    conversation (with its thread's ``follower_ids`` for a reply in a
    thread), the webhooks' and link preview's jobs when wanted, and a push
    job when pushes are on (all kept only if the message's transaction commits).
    """
    outbox.emit(conversation_group(message.conversation_id), events.message(message, follower_ids=follower_ids))
    # Webhooks (chat.webhooks) and the link preview (chat.previews): jobs after commit, only when wanted.
    webhooks_emit(outbox, conversation_id=message.conversation_id, event="message.created", message=message)
    preview_request(outbox, message=message)
    # Pushes for members with no socket open (chat.push): one job per message, queued after commit.
    if push_enabled():
        outbox.after_commit(partial(push_enqueue, message_id=message.id))


async def message_send_from_loop(
    *, conversation_id, sender: User, body, client_id: str | None = "", reply_to=None, attachment_ids=None,
    thread_id=None, metadata=None, outbox: Outbox,
) -> tuple[ConversationMessage, bool]:
    """
    ``message_send`` for a socket: a plain text message in one statement from
    the event loop on PostgreSQL (DATABASE_LOOP_QUERIES), anything else (a
    reply, attachments, mention markup, metadata) on a database thread. Same
    answers, same errors, same events in ``outbox``.
    """
    if not (
        loop_queries() and reply_to is None and not attachment_ids and thread_id is None and not _has_markup(body)
        and metadata is None
    ):
        return await db(message_send)(
            conversation_id=conversation_id, sender=sender, body=body, client_id=client_id, reply_to=reply_to,
            attachment_ids=attachment_ids, thread_id=thread_id, metadata=metadata, outbox=outbox,
        )
    import psycopg

    conversation_id = parse_conversation_id(conversation_id)
    body = validate_body(body)
    client_id = validate_client_id(client_id)
    now = timezone.now()
    params = {
        **rule_params(conversation_id=conversation_id, sender_id=sender.id, db=compiling_connection()),
        "id": uuid.uuid4(), "body": body,
        "client_id": client_id, "now": now, "kind": ConversationMessage.TEXT,
    }  # fmt: skip
    try:
        async with loop_connections().connection() as conn:
            row = await (await conn.execute(_one_statement(), params, prepare=True)).fetchone()
            why = None if row else refusal(await (await conn.execute(refusal_query("postgresql"), params)).fetchone())
    except psycopg.errors.UniqueViolation as error:
        if error.diag.constraint_name != CLIENT_ID_CONSTRAINT:
            raise DatabaseError(str(error)) from error
        original = await db(message_by_client_id)(conversation_id=conversation_id, sender=sender, client_id=client_id)
        if original is None:  # deleted between the two statements: as the transactional send, an error
            raise DatabaseError(str(error)) from error
        return original, False
    except psycopg.Error as error:
        raise DatabaseError(str(error)) from error
    if why is not None:
        raise why
    if row is None:  # the rule held by the time it was asked why: something changed meanwhile
        return await db(message_send)(conversation_id=conversation_id, sender=sender, body=body, client_id=client_id,
                                      outbox=outbox)
    seq, peer_id, expires = row
    message = ConversationMessage(
        id=params["id"], conversation_id=conversation_id, seq=seq, body=body, created_by=sender,
        sent_to_id=peer_id, client_id=client_id, created_at=now, kind=ConversationMessage.TEXT,
        reaction_summary=[], attachment_summary=[], mention_ids=[], mentions_all=False, expires_at=expires,
    )  # fmt: skip
    message.reply_to = None
    announce_new_message(message, outbox=outbox)  # committed already: kept at once
    metrics.MESSAGES_SAVED.inc()
    return message, True


def _has_markup(body) -> bool:
    """Mentions need the member list and rows of their own: such a message takes the transactional send."""
    return isinstance(body, str) and may_mention(body)


@cache
def _one_statement() -> str:
    """
    chat.rules' seq bump, the insert and chat.rules' read position as one
    PostgreSQL statement; the expiry is chat.rules' ``expires_at`` in SQL,
    from the timer the bump read (as the transactional send's).
    """
    messages = ConversationMessage._meta.db_table
    return f"""
WITH bumped (last_seq, peer, disappearing) AS ({seq_bump("postgresql")}),
inserted AS (
    INSERT INTO {messages} (id, conversation_id, seq, body, created_by_id, sent_to_id, client_id, created_at,
                            kind, reaction_summary, attachment_summary, expires_at)
    SELECT %(id)s, %(conversation)s, last_seq, %(body)s, %(sender)s, peer, %(client_id)s, %(now)s,
           %(kind)s, '[]'::jsonb, '[]'::jsonb, {expires_at_sql(disappearing_seconds="disappearing")}
    FROM bumped
    RETURNING seq, sent_to_id, expires_at
),
marked AS ({mark_own_read(seq="inserted.seq", source="FROM inserted", clear_draft=True)})
SELECT seq, sent_to_id, expires_at FROM inserted
"""


def message_by_client_id(*, conversation_id: UUID, sender: User, client_id: str):
    return (
        ConversationMessage.objects.for_display()
        .filter(conversation_id=conversation_id, created_by=sender, client_id=client_id)
        .first()
    )


def _forwarded_origin(source: ConversationMessage | None) -> dict:
    """A copy's ``forwarded_from`` and ``forwarded_created_at``: the original's, even through copies of copies."""
    if source is None:
        return {}
    if source.forwarded_created_at is not None:
        return {"forwarded_from": source.forwarded_from, "forwarded_created_at": source.forwarded_created_at}
    return {"forwarded_from": source.created_by, "forwarded_created_at": source.created_at}


def attachment_ids_of(value) -> list[UUID]:
    """The ids a message is to carry, in order, each once; InvalidInput on anything else."""
    if value is None:
        return []
    limit = settings.CHAT_MESSAGE_MAX_ATTACHMENTS
    if not isinstance(value, list) or len(value) > limit:
        raise InvalidInput(
            f"attachment_ids must be a list of at most {limit} attachment ids.",
            code="invalid_attachment", field="attachment_ids",
        )
    ids = [uuid_or_none(item) for item in value]
    if None in ids or len(set(ids)) != len(ids):
        raise InvalidInput(
            "attachment_ids must hold attachment ids, each once.", code="invalid_attachment", field="attachment_ids"
        )
    return ids


def _reply_to_id(value) -> UUID | None:
    if value is None:
        return None
    parsed = uuid_or_none(value)
    if parsed is None:
        raise InvalidInput("reply_to must be a message id.", code="invalid_reply_to", field="reply_to")
    return parsed


def _replied_message(*, message: ConversationMessage) -> ConversationMessage | None:
    """The message ``message`` replies to, checked to be a live one of the same conversation."""
    if message.reply_to_id is None:
        return None
    replied = (
        ConversationMessage.objects.select_related("created_by")
        .filter(id=message.reply_to_id, conversation_id=message.conversation_id)
        .first()
    )
    if replied is None or replied.is_deleted or replied.is_moderated:
        raise InvalidInput(
            "reply_to must be a message of this conversation that is not deleted.",
            code="invalid_reply_to", field="reply_to",
        )
    return replied
