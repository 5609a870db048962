"""
Writes: starting conversations and sending messages.

``message_send`` is the only way a message is created. The WebSocket consumer
and the REST view both call it; it validates, assigns the conversation's next
``seq``, saves, and broadcasts after commit, so no client ever sees a message
that was rolled back.

These are synchronous ORM functions; consumers call them through
``database_sync_to_async``.
"""

from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from useraccount.models import User

from . import events
from .errors import Forbidden, InvalidInput, NotFound
from .models import Conversation, ConversationMember, ConversationMessage
from .selectors import conversation_with_users

MAX_CLIENT_ID_LENGTH = 64


def _direct_key(first: UUID, second: UUID) -> str:
    return "-".join(sorted((first.hex, second.hex)))


def _direct_peer_id(conversation: Conversation, sender_id: UUID) -> UUID | None:
    """The other member of a direct conversation, read off its key; else None."""
    if not conversation.direct_key:
        return None
    first, second = conversation.direct_key.split("-")
    return UUID(second if first == sender_id.hex else first)


def _create_conversation(*, users: list[User], title: str = "", direct_key: str | None = None):
    conversation = Conversation.objects.create(title=title, direct_key=direct_key)
    ConversationMember.objects.bulk_create(
        [ConversationMember(conversation=conversation, user=user) for user in users]
    )
    conversation = conversation_with_users(conversation_id=conversation.id)
    event = events.conversation_created_event(conversation)
    for user in users:
        events.broadcast_on_commit(events.user_group(user.id), event)
    return conversation


def conversation_start_direct(*, user: User, other_user_id: UUID) -> tuple[Conversation, bool]:
    """
    The one direct conversation between ``user`` and another user, created on
    first use. Returns ``(conversation, created)``.

    The unique ``direct_key`` makes this safe when both users (or several
    processes) start it at once: the loser of the race gets the winner's row.
    """
    if other_user_id == user.id:
        raise InvalidInput("You cannot start a conversation with yourself.", field="user_id")
    other = User.objects.filter(id=other_user_id, is_active=True).first()
    if other is None:
        raise NotFound("No such user.")
    key = _direct_key(user.id, other.id)
    existing = Conversation.objects.filter(direct_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return _create_conversation(users=[user, other], direct_key=key), True
    except IntegrityError:
        return Conversation.objects.get(direct_key=key), False


def conversation_create_group(*, creator: User, user_ids: list[UUID], title: str = "") -> Conversation:
    """A group conversation of ``creator`` and the given users."""
    wanted = {user_id for user_id in user_ids if user_id != creator.id}
    if not wanted:
        raise InvalidInput("Name at least one other user.", field="user_ids")
    others = list(User.objects.filter(id__in=wanted, is_active=True))
    missing = wanted - {user.id for user in others}
    if missing:
        raise InvalidInput(
            "No such user: " + ", ".join(sorted(str(user_id) for user_id in missing)),
            field="user_ids",
        )
    with transaction.atomic():
        return _create_conversation(users=[creator, *others], title=title.strip())


def _validate_body(body) -> str:
    if not isinstance(body, str):
        raise InvalidInput("The message body must be a string.", code="invalid_body", field="body")
    if not body.strip():
        raise InvalidInput("The message body is empty.", code="empty_body", field="body")
    limit = settings.CHAT_MESSAGE_MAX_LENGTH
    if len(body) > limit:
        raise InvalidInput(
            f"The message body is longer than {limit} characters.",
            code="body_too_long",
            field="body",
        )
    return body


def _validate_client_id(client_id) -> str:
    if client_id is None:
        return ""
    if not isinstance(client_id, str) or len(client_id) > MAX_CLIENT_ID_LENGTH:
        raise InvalidInput(
            f"client_id must be a string of at most {MAX_CLIENT_ID_LENGTH} characters.",
            code="invalid_client_id",
            field="client_id",
        )
    return client_id


def _next_seq(conversation_id: UUID) -> int:
    """
    Take the conversation's next seq; call inside the message's transaction.

    One UPDATE ... RETURNING (PostgreSQL, and SQLite since 3.35) both locks
    the conversation row until commit and reads the new value, so concurrent
    writers in any number of processes queue here and get 1, 2, 3...
    """
    table = Conversation._meta.db_table
    pk = Conversation._meta.pk.get_db_prep_value(conversation_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1, modified_at = %s WHERE id = %s "
            "RETURNING last_seq",
            [timezone.now(), pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound("No such conversation.")
    return row[0]


def _message_by_client_id(*, conversation: Conversation, sender: User, client_id: str):
    return (
        ConversationMessage.objects.select_related("created_by")
        .filter(conversation=conversation, created_by=sender, client_id=client_id)
        .first()
    )


def message_send(
    *, conversation: Conversation, sender: User, body, client_id: str | None = ""
) -> tuple[ConversationMessage, bool]:
    """
    Validate, save and broadcast a message. Returns ``(message, created)``.

    The caller has checked that ``sender`` is a member of ``conversation``
    (selectors.conversation_get_for_user). A ``client_id`` the sender already
    used in this conversation returns the original message with
    ``created=False`` and broadcasts nothing: a retry is not a new message.
    """
    body = _validate_body(body)
    client_id = _validate_client_id(client_id)
    # A resend is found by the unique constraint below, not by a lookup
    # first: retries are rare and the lookup would cost every message a query.
    try:
        with transaction.atomic():
            seq = _next_seq(conversation.id)
            message = ConversationMessage.objects.create(
                conversation_id=conversation.id,
                seq=seq,
                body=body,
                created_by=sender,
                sent_to_id=_direct_peer_id(conversation, sender.id),
                client_id=client_id,
            )
            # Whoever writes has read everything up to their own message.
            ConversationMember.objects.filter(conversation_id=conversation.id, user=sender).update(
                last_read_seq=seq
            )
            events.broadcast_on_commit(
                events.conversation_group(conversation.id), events.message_event(message)
            )
    except IntegrityError:
        # Only the client_id constraint can fail here (seq is serialised by
        # the row lock): a resend. The rollback also undid the seq bump.
        original = client_id and _message_by_client_id(
            conversation=conversation, sender=sender, client_id=client_id
        )
        if not original:
            raise
        return original, False
    return message, True


def _own_message(*, conversation: Conversation, user: User, message_id) -> ConversationMessage:
    from useraccount.selectors import parse_uuid

    parsed = parse_uuid(message_id)
    message = (
        ConversationMessage.objects.select_related("created_by")
        .filter(id=parsed, conversation=conversation)
        .first()
        if parsed
        else None
    )
    if message is None:
        raise NotFound("No such message.")
    if message.created_by_id != user.id:
        raise Forbidden("Only the author can change a message.")
    return message


def message_edit(*, conversation: Conversation, user: User, message_id, body) -> ConversationMessage:
    """The author replaces a message's body; members get ``chat.message.updated``."""
    body = _validate_body(body)
    with transaction.atomic():
        message = _own_message(conversation=conversation, user=user, message_id=message_id)
        if message.deleted_at is not None:
            raise InvalidInput("A deleted message cannot be edited.", code="message_deleted")
        if message.body == body:
            return message
        message.body = body
        message.edited_at = timezone.now()
        message.save(update_fields=["body", "edited_at"])
        events.broadcast_on_commit(
            events.conversation_group(conversation.id), events.message_changed_event(message)
        )
    return message


def message_delete(*, conversation: Conversation, user: User, message_id) -> ConversationMessage:
    """
    The author deletes a message: it stays as a tombstone (same seq, no body)
    so histories stay gapless; members get ``chat.message.deleted``.
    Deleting a deleted message changes nothing.
    """
    with transaction.atomic():
        message = _own_message(conversation=conversation, user=user, message_id=message_id)
        if message.deleted_at is not None:
            return message
        message.body = ""
        message.deleted_at = timezone.now()
        message.save(update_fields=["body", "deleted_at"])
        events.broadcast_on_commit(
            events.conversation_group(conversation.id), events.message_changed_event(message)
        )
    return message


def conversation_mark_read(*, conversation: Conversation, user: User, seq: int) -> int:
    """
    Record that ``user`` has read up to ``seq`` (capped at the newest message);
    it never moves backwards. Returns the user's last read seq. When it moved,
    the room gets ``chat.read`` and the user's notifications sockets ``unread``.
    """
    from .selectors import unread_counts

    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise InvalidInput("seq must be a whole number, 0 or more.", code="invalid_seq", field="seq")
    with transaction.atomic():
        last_seq = Conversation.objects.filter(id=conversation.id).values_list("last_seq", flat=True).get()
        seq = min(seq, last_seq)
        moved = ConversationMember.objects.filter(
            conversation_id=conversation.id, user=user, last_read_seq__lt=seq
        ).update(last_read_seq=seq)
        current = ConversationMember.objects.filter(
            conversation_id=conversation.id, user=user
        ).values_list("last_read_seq", flat=True).get()
        if moved:
            counts = unread_counts(user=user)
            events.broadcast_on_commit(
                events.conversation_group(conversation.id), events.read_event(user_id=user.id, seq=current)
            )
            events.broadcast_on_commit(
                events.user_group(user.id),
                events.unread_event(
                    conversation_id=conversation.id,
                    unread_count=last_seq - current,
                    total=sum(counts.values()),
                ),
            )
    return current
