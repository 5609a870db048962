"""
Writes: starting conversations, sending, editing and deleting messages,
and read positions.

``message_send`` is the only way a message is created. Every service checks
for itself that the caller may do what it asks (a member of the conversation;
the author of the message), so REST, the sockets and anything added later
cannot forget it; a conversation the caller is not in is NotFound, exactly
like one that does not exist. Services emit their events into an ``outbox``
(chat.realtime.outbox) inside their transaction; the caller publishes them
after commit. Leave ``outbox`` out and they are published before the service
returns (or when the outer transaction commits):

    message, created = message_send(conversation_id=cid, sender=user, body="Hi")
    await outbox.run(message_send, conversation_id=cid, sender=user, body="Hi")  # from a socket

These are synchronous ORM functions; sockets run them on database threads.
"""

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists
from django.utils import timezone

from core import metrics
from core.errors import Forbidden, InvalidInput, NotFound
from core.validation import storable_text, uuid_or_none, whole_number
from useraccount.models import User
from useraccount.selectors import active_users

from .models import CLIENT_ID_MAX_LENGTH, Conversation, ConversationMember, ConversationMessage
from .realtime import events
from .realtime.groups import conversation_group, room_group, user_group
from .realtime.outbox import Outbox, with_outbox
from .selectors import conversation_with_users, unread_counts


def _direct_key(first: UUID, second: UUID) -> str:
    return "-".join(sorted((first.hex, second.hex)))


def _direct_peer_id(direct_key: str | None, sender_id: UUID) -> UUID | None:
    """The other member of a direct conversation, read off its key; else None."""
    if not direct_key:
        return None
    first, second = direct_key.split("-")
    return UUID(second if first == sender_id.hex else first)


def _conversation_id(value) -> UUID:
    parsed = uuid_or_none(value)
    if parsed is None:
        raise NotFound("No such conversation.")
    return parsed


def _create_conversation(
    *, users: list[User], outbox: Outbox, title: str = "", direct_key: str | None = None,
    created_by: User | None = None, client_id: str = "",
):
    conversation = Conversation.objects.create(
        title=title, direct_key=direct_key, created_by=created_by, client_id=client_id
    )
    ConversationMember.objects.bulk_create(
        [ConversationMember(conversation=conversation, user=user) for user in users]
    )
    conversation = conversation_with_users(conversation_id=conversation.id)
    event = events.conversation_created(conversation)
    for user in users:
        outbox.emit(user_group(user.id), event)
    return conversation


@with_outbox
def conversation_start_direct(*, user: User, other_user_id: UUID, outbox: Outbox) -> tuple[Conversation, bool]:
    """
    The one direct conversation between ``user`` and another user, created on
    first use. Returns ``(conversation, created)``.

    The unique ``direct_key`` makes this safe when both users (or several
    processes) start it at once: the loser of the race gets the winner's row.
    """
    if other_user_id == user.id:
        raise InvalidInput("You cannot start a conversation with yourself.", field="user_id")
    other = active_users().filter(id=other_user_id).first()
    if other is None:
        raise NotFound("No such user.")
    key = _direct_key(user.id, other.id)
    existing = Conversation.objects.filter(direct_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return _create_conversation(users=[user, other], direct_key=key, outbox=outbox), True
    except IntegrityError:
        return Conversation.objects.get(direct_key=key), False


@with_outbox
def conversation_create_group(
    *, creator: User, user_ids: list[UUID], title: str = "", client_id: str | None = "", outbox: Outbox
) -> tuple[Conversation, bool]:
    """
    A group conversation of ``creator`` and the given users. Returns
    ``(conversation, created)``: with a ``client_id`` the creator used before,
    the group made then (a retry must not make a second group).
    """
    client_id = _validate_client_id(client_id)
    if client_id and (earlier := _group_by_client_id(creator=creator, client_id=client_id)):
        return earlier, False
    wanted = {user_id for user_id in user_ids if user_id != creator.id}
    if not wanted:
        raise InvalidInput("Name at least one other user.", field="user_ids")
    others = list(active_users().filter(id__in=wanted))
    missing = wanted - {user.id for user in others}
    if missing:
        raise InvalidInput(
            "No such user: " + ", ".join(sorted(str(user_id) for user_id in missing)),
            field="user_ids",
        )
    try:
        with transaction.atomic():
            conversation = _create_conversation(
                users=[creator, *others], title=title.strip(), outbox=outbox,
                created_by=creator, client_id=client_id,
            )
    except IntegrityError:
        # The same request twice at once: the unique client_id decides, the loser gets the winner's group.
        earlier = client_id and _group_by_client_id(creator=creator, client_id=client_id)
        if not earlier:
            raise
        return earlier, False
    return conversation, True


def _group_by_client_id(*, creator: User, client_id: str) -> Conversation | None:
    found = Conversation.objects.filter(created_by=creator, client_id=client_id).values_list("id", flat=True).first()
    return conversation_with_users(conversation_id=found) if found else None


def _validate_body(body) -> str:
    if not isinstance(body, str):
        raise InvalidInput("The message body must be a string.", code="invalid_body", field="body")
    if not storable_text(body):
        raise InvalidInput(
            "The message body holds a NUL or an invalid character.", code="invalid_body", field="body"
        )
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
    if not isinstance(client_id, str) or len(client_id) > CLIENT_ID_MAX_LENGTH or not storable_text(client_id):
        raise InvalidInput(
            f"client_id must be text of at most {CLIENT_ID_MAX_LENGTH} characters (no NUL).",
            code="invalid_client_id",
            field="client_id",
        )
    return client_id


def _next_seq(conversation_id: UUID, member: User) -> tuple[int, str | None]:
    """
    Take the conversation's next seq if ``member`` is a member; call inside
    the message's transaction. Returns ``(seq, direct_key)``.

    One UPDATE ... RETURNING (PostgreSQL, and SQLite since 3.35) checks the
    membership, locks the conversation row until commit and reads the new
    value, so concurrent writers in any number of processes queue here and
    get 1, 2, 3...
    """
    conversations = Conversation._meta.db_table
    members = ConversationMember._meta.db_table
    pk = Conversation._meta.pk.get_db_prep_value(conversation_id, connection)
    user_pk = User._meta.pk.get_db_prep_value(member.id, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {conversations} SET last_seq = last_seq + 1, modified_at = %s "
            f"WHERE id = %s AND EXISTS (SELECT 1 FROM {members} m "
            "WHERE m.conversation_id = %s AND m.user_id = %s) "
            "RETURNING last_seq, direct_key",
            [timezone.now(), pk, pk, user_pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound("No such conversation.")
    return row[0], row[1]


def _message_by_client_id(*, conversation_id: UUID, sender: User, client_id: str):
    return (
        ConversationMessage.objects.select_related("created_by")
        .filter(conversation_id=conversation_id, created_by=sender, client_id=client_id)
        .first()
    )


@with_outbox
def message_send(
    *, conversation_id, sender: User, body, client_id: str | None = "", outbox: Outbox
) -> tuple[ConversationMessage, bool]:
    """
    Validate, save and emit a message. Returns ``(message, created)``.

    NotFound unless ``sender`` is a member. A ``client_id`` the sender already
    used in this conversation returns the original message with
    ``created=False`` and emits nothing: a retry is not a new message.
    """
    conversation_id = _conversation_id(conversation_id)
    body = _validate_body(body)
    client_id = _validate_client_id(client_id)
    # A resend is found by the unique constraint below, not by a lookup
    # first: retries are rare and the lookup would cost every message a query.
    try:
        with transaction.atomic():
            seq, direct_key = _next_seq(conversation_id, sender)
            message = ConversationMessage.objects.create(
                conversation_id=conversation_id,
                seq=seq,
                body=body,
                created_by=sender,
                sent_to_id=_direct_peer_id(direct_key, sender.id),
                client_id=client_id,
            )
            # Whoever writes has read everything up to their own message.
            ConversationMember.objects.filter(conversation_id=conversation_id, user=sender).update(
                last_read_seq=seq
            )
            outbox.emit(conversation_group(conversation_id), events.message(message))
    except IntegrityError:
        # Only the client_id constraint can fail here (seq is serialised by
        # the row lock): a resend. The rollback also undid the seq bump.
        original = client_id and _message_by_client_id(
            conversation_id=conversation_id, sender=sender, client_id=client_id
        )
        if not original:
            raise
        return original, False
    metrics.MESSAGES_SAVED.inc()
    return message, True


def _own_message(*, conversation_id, user: User, message_id) -> ConversationMessage:
    """The message, locked, if ``user`` is a member of its conversation and its author."""
    conversation_id = _conversation_id(conversation_id)
    is_member = ConversationMember.objects.filter(conversation_id=conversation_id, user=user)
    parsed = uuid_or_none(message_id)
    message = (
        ConversationMessage.objects.select_related("created_by")
        .select_for_update(of=("self",))
        .annotate(by_member=Exists(is_member))
        .filter(id=parsed, conversation_id=conversation_id)
        .first()
        if parsed
        else None
    )
    if message is None or not message.by_member:
        if message is None and is_member.exists():
            raise NotFound("No such message.")
        raise NotFound("No such conversation.")
    if message.created_by_id != user.id:
        raise Forbidden("Only the author can change a message.")
    return message


@with_outbox
def message_edit(*, conversation_id, user: User, message_id, body, outbox: Outbox) -> ConversationMessage:
    """The author replaces a message's body; members get ``chat.message.updated``."""
    body = _validate_body(body)
    with transaction.atomic():
        message = _own_message(conversation_id=conversation_id, user=user, message_id=message_id)
        if message.is_deleted:
            raise InvalidInput("A deleted message cannot be edited.", code="message_deleted")
        if message.body == body:
            return message
        message.body = body
        message.edited_at = timezone.now()
        message.save(update_fields=["body", "edited_at"])
        outbox.emit(conversation_group(message.conversation_id), events.message_changed(message))
    return message


@with_outbox
def message_delete(*, conversation_id, user: User, message_id, outbox: Outbox) -> ConversationMessage:
    """
    The author deletes a message: it stays as a tombstone (same seq, no body)
    so histories stay gapless; members get ``chat.message.deleted``.
    Deleting a deleted message changes nothing.
    """
    with transaction.atomic():
        message = _own_message(conversation_id=conversation_id, user=user, message_id=message_id)
        if message.is_deleted:
            return message
        message.body = ""
        message.deleted_at = timezone.now()
        message.save(update_fields=["body", "deleted_at"])
        outbox.emit(conversation_group(message.conversation_id), events.message_changed(message))
    return message


@dataclass(frozen=True)
class ReadState:
    conversation_id: UUID
    last_read_seq: int
    unread_count: int


@with_outbox
def conversation_mark_read(*, conversation_id, user: User, seq, outbox: Outbox) -> ReadState:
    """
    Record that ``user`` has read up to ``seq`` (capped at the newest message);
    it never moves backwards. NotFound unless ``user`` is a member. When it
    moved, the room gets ``chat.read`` and the user's notifications sockets
    ``unread``.
    """
    conversation_id = _conversation_id(conversation_id)
    seq = whole_number(seq, name="seq")
    with transaction.atomic():
        member = (
            ConversationMember.objects.filter(conversation_id=conversation_id, user=user)
            .values("last_read_seq", "conversation__last_seq")
            .first()
        )
        if member is None:
            raise NotFound("No such conversation.")
        last_seq = member["conversation__last_seq"]
        seq = min(seq, last_seq)
        moved = ConversationMember.objects.filter(
            conversation_id=conversation_id, user=user, last_read_seq__lt=seq
        ).update(last_read_seq=seq)
        if not moved:
            # Already there, or another device moved it further meanwhile.
            current = ConversationMember.objects.filter(
                conversation_id=conversation_id, user=user
            ).values_list("last_read_seq", flat=True).get()
            return ReadState(conversation_id, current, last_seq - current)
        outbox.emit(room_group(conversation_id), events.read(user_id=user.id, seq=seq))
        outbox.emit(
            user_group(user.id),
            events.unread(
                conversation_id=conversation_id,
                unread_count=last_seq - seq,
                total=sum(unread_counts(user=user).values()),
            ),
        )
    return ReadState(conversation_id, seq, last_seq - seq)
