"""
Writes: starting conversations, sending, editing and deleting messages,
read positions, mutes, reports and moderation.

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

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import PurePath
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists
from django.utils import timezone

from core import metrics
from core.errors import Forbidden, InvalidInput, NotFound, TooLarge, UnsupportedType
from core.validation import storable_text, uuid_or_none, whole_number
from useraccount.models import Block, User
from useraccount.selectors import active_users, blocked_between, direct_peer_state

from .models import (
    CLIENT_ID_MAX_LENGTH,
    REACTION_MAX_LENGTH,
    REPORT_DETAILS_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Attachment,
    Conversation,
    ConversationMember,
    ConversationMessage,
    ModerationAction,
    Reaction,
    Report,
    direct_conversation_key,
    direct_peer_id,
)
from .files import sniff
from .push.queue import push_enabled, push_enqueue
from .realtime import events
from .realtime.groups import conversation_group, room_group, user_group
from .realtime.outbox import Outbox, with_outbox
from .selectors import conversation_with_users, unread_counts
from .serializers import attachment_summary, reaction_summary

logger = logging.getLogger(__name__)


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
        title=title, direct_key=direct_key, created_by=created_by, client_id=client_id,
        owner=None if direct_key else created_by,
    )
    ConversationMember.objects.bulk_create(
        [ConversationMember(conversation=conversation, user=user) for user in users]
    )
    conversation = conversation_with_users(conversation_id=conversation.id)
    event = events.conversation_created(conversation)
    for user in users:
        outbox.emit(user_group(user.id), event)
    return conversation


def _blocked() -> Forbidden:
    return Forbidden(
        "One of you has blocked the other: no direct messages until they unblock.", code="blocked"
    )


def _refuse_if_direct_is_closed(*, direct_key: str | None, user: User) -> None:
    """
    Forbidden when ``direct_key`` is a direct conversation's whose other
    member deleted their account (``recipient_deleted``: nobody would read
    it) or blocks ``user`` or is blocked by them (``blocked``). Sends, edits
    and reactions are refused there alike, so either closes the conversation;
    its history stays readable. One query, and none in a group.
    """
    peer_id = direct_peer_id(direct_key, user.id)
    if peer_id is None:
        return
    deleted, blocked = direct_peer_state(user_id=user.id, peer_id=peer_id)
    if deleted:
        raise Forbidden(
            "The other person deleted their account: the conversation stays readable, but closed.",
            code="recipient_deleted",
        )
    if blocked:
        raise _blocked()


def _direct_key_of(conversation_id) -> str | None:
    return Conversation.objects.filter(id=conversation_id).values_list("direct_key", flat=True).first()


def _refuse_users_who_blocked(*, user: User, others) -> None:
    """Forbidden ``blocked`` if any of ``others`` has blocked ``user``: nobody is put in a group by someone they blocked."""
    if Block.objects.filter(blocker__in=others, blocked=user).exists():
        raise Forbidden("Someone you named has blocked you: they cannot be added to a group by you.", code="blocked")


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
    if blocked_between(first_id=user.id, second_id=other.id):
        raise _blocked()
    key = direct_conversation_key(user.id, other.id)
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
    limit = settings.CHAT_GROUP_MAX_MEMBERS
    if len(wanted) + 1 > limit:
        raise InvalidInput(f"A group has at most {limit} members.", code="too_many_members", field="user_ids")
    others = list(active_users().filter(id__in=wanted))
    missing = wanted - {user.id for user in others}
    if missing:
        raise InvalidInput(
            "No such user: " + ", ".join(sorted(str(user_id) for user_id in missing)),
            field="user_ids",
        )
    _refuse_users_who_blocked(user=creator, others=others)
    try:
        with transaction.atomic():
            conversation = _create_conversation(
                users=[creator, *others], title=_validate_title(title), outbox=outbox,
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


def _validate_body(body, *, may_be_empty: bool = False) -> str:
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
        ConversationMessage.objects.for_display()
        .filter(conversation_id=conversation_id, created_by=sender, client_id=client_id)
        .first()
    )


def _attachment_ids(value) -> list[UUID]:
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


def _uploads(*, conversation_id: UUID, sender: User, ids: list[UUID]) -> list[Attachment]:
    """The sender's uploads ``ids`` to the conversation, in order and locked; inside the message's transaction."""
    if not ids:
        return []
    found = {
        attachment.id: attachment
        for attachment in Attachment.objects.select_for_update().filter(
            id__in=ids, conversation_id=conversation_id, uploaded_by=sender
        )
    }
    missing = [str(attachment_id) for attachment_id in ids if attachment_id not in found]
    if missing:
        raise InvalidInput(
            "Not an upload of yours to this conversation: " + ", ".join(missing),
            code="invalid_attachment", field="attachment_ids",
        )
    return [found[attachment_id] for attachment_id in ids]


def _attach(*, message: ConversationMessage, uploads: list[Attachment]) -> None:
    """Give ``message`` the uploads, which no other message may carry already."""
    if not uploads:
        return
    taken = [str(attachment.id) for attachment in uploads if attachment.message_id is not None]
    if taken:
        raise InvalidInput(
            "Already sent with another message: " + ", ".join(taken),
            code="invalid_attachment", field="attachment_ids",
        )
    Attachment.objects.filter(id__in=[attachment.id for attachment in uploads]).update(message=message)


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


@with_outbox
def message_send(
    *, conversation_id, sender: User, body, client_id: str | None = "", reply_to=None, attachment_ids=None,
    outbox: Outbox,
) -> tuple[ConversationMessage, bool]:
    """
    Validate, save and emit a message. Returns ``(message, created)``.

    NotFound unless ``sender`` is a member. A ``client_id`` the sender already
    used in this conversation returns the original message with
    ``created=False`` and emits nothing: a retry is not a new message.
    ``reply_to`` is a message of the same conversation; ``attachment_ids``
    are the sender's uploads to it that no message carries yet (the body may
    then be empty).
    """
    conversation_id = _conversation_id(conversation_id)
    attachment_ids = _attachment_ids(attachment_ids)
    body = _validate_body(body, may_be_empty=bool(attachment_ids))
    client_id = _validate_client_id(client_id)
    reply_to_id = _reply_to_id(reply_to)
    # A resend is found by the unique constraint below, not by a lookup
    # first: retries are rare and the lookup would cost every message a query.
    # The reply and the attachments are checked after the insert for the
    # same reason: a resend's attachments are already taken by its original.
    try:
        with transaction.atomic():
            seq, direct_key = _next_seq(conversation_id, sender)
            # A direct conversation is closed both ways while either blocks the other, and for good once the
            # other deleted their account (the rollback undoes the seq).
            _refuse_if_direct_is_closed(direct_key=direct_key, user=sender)
            peer_id = direct_peer_id(direct_key, sender.id)
            uploads = _uploads(conversation_id=conversation_id, sender=sender, ids=attachment_ids)
            message = ConversationMessage.objects.create(
                conversation_id=conversation_id,
                seq=seq,
                body=body,
                created_by=sender,
                sent_to_id=peer_id,
                client_id=client_id,
                reply_to_id=reply_to_id,
                attachment_summary=[attachment_summary(upload) for upload in uploads],
            )
            message.reply_to = _replied_message(message=message)
            _attach(message=message, uploads=uploads)
            # Whoever writes has read everything up to their own message.
            ConversationMember.objects.filter(conversation_id=conversation_id, user=sender).update(
                last_read_seq=seq
            )
            _message_saved(message, emit=outbox.emit, after_commit=outbox.after_commit)
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


def _message_saved(message: ConversationMessage, *, emit, after_commit) -> None:
    """
    What a new message sets off, through an outbox's ``emit`` and
    ``after_commit`` (or their already-committed twins, chat.fast_send): its
    event to the conversation, and a push job when pushes are on.
    """
    emit(conversation_group(message.conversation_id), events.message(message))
    # Pushes for members with no socket open (chat.push): one job per message, queued after commit.
    if push_enabled():
        after_commit(partial(push_enqueue, message_id=message.id))


def _members_message(*, conversation_id, user: User, message_id) -> ConversationMessage:
    """The message, locked, if ``user`` is a member of its conversation; NotFound otherwise."""
    conversation_id = _conversation_id(conversation_id)
    is_member = ConversationMember.objects.filter(conversation_id=conversation_id, user=user)
    parsed = uuid_or_none(message_id)
    message = (
        ConversationMessage.objects.for_display()
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
    return message


def _own_message(*, conversation_id, user: User, message_id) -> ConversationMessage:
    """The message, locked, if ``user`` is a member of its conversation and its author."""
    message = _members_message(conversation_id=conversation_id, user=user, message_id=message_id)
    if message.created_by_id != user.id:
        raise Forbidden("Only the author can change a message.")
    return message


@with_outbox
def message_edit(*, conversation_id, user: User, message_id, body, outbox: Outbox) -> ConversationMessage:
    """The author replaces a message's body; members get ``chat.message.updated``."""
    body = _validate_body(body, may_be_empty=True)
    with transaction.atomic():
        message = _own_message(conversation_id=conversation_id, user=user, message_id=message_id)
        if message.is_deleted:
            raise InvalidInput("A deleted message cannot be edited.", code="message_deleted")
        if message.is_moderated:
            raise InvalidInput("A message hidden by a moderator cannot be edited.", code="message_moderated")
        if message.kind != ConversationMessage.TEXT:
            raise Forbidden("A system message cannot be changed.")
        _refuse_if_direct_is_closed(direct_key=_direct_key_of(message.conversation_id), user=user)
        body = _validate_body(body, may_be_empty=bool(message.attachment_summary))
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
        if message.kind != ConversationMessage.TEXT:
            raise Forbidden("A system message cannot be changed.")
        # Its reactions and files go with it.
        message.reactions.all().delete()
        _delete_attachments(list(message.attachments.all()))
        message.body = ""
        message.deleted_at = timezone.now()
        message.reaction_summary, message.attachment_summary = [], []
        message.save(update_fields=["body", "deleted_at", "reaction_summary", "attachment_summary"])
        outbox.emit(conversation_group(message.conversation_id), events.message_changed(message))
    return message


@with_outbox
def message_hide(
    *, message_id, moderator: User, report: Report | None = None, outbox: Outbox
) -> tuple[ConversationMessage, bool]:
    """
    A moderator hides a message: members see it as a tombstone marked
    ``moderated`` (no body, reactions or attachments), in history, catch-up
    and search alike, and the room gets ``chat.message.updated``; the body is
    kept for staff. Logged. Returns ``(message, hidden)``: a message hidden
    already is left as it is, unlogged, with ``hidden`` False.
    """
    parsed = uuid_or_none(message_id)
    with transaction.atomic():
        message = (
            ConversationMessage.objects.for_display().select_for_update(of=("self",)).filter(id=parsed).first()
            if parsed else None
        )
        if message is None:
            raise NotFound("No such message.")
        if message.kind != ConversationMessage.TEXT:
            raise Forbidden("A system message cannot be hidden.")
        if message.is_moderated:
            return message, False
        message.moderated_at, message.moderated_by = timezone.now(), moderator
        message.save(update_fields=["moderated_at", "moderated_by"])
        outbox.emit(conversation_group(message.conversation_id), events.message_changed(message))
        _log(ModerationAction.HIDE_MESSAGE, moderator=moderator, report=report, message=message,
             user=message.created_by)
    return message, True


def _delete_attachments(attachments: list[Attachment]) -> None:
    """Delete the rows now and the files once the transaction commits."""
    if not attachments:
        return
    Attachment.objects.filter(id__in=[attachment.id for attachment in attachments]).delete()
    files = [(attachment.file.storage, attachment.file.name) for attachment in attachments]
    transaction.on_commit(lambda: _delete_files(files))


def _delete_files(files) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except Exception:
            logger.warning("Could not delete the attachment file %s", name, exc_info=True)


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


# --- Reactions


def _emoji(value) -> str:
    """``value`` as one fully qualified emoji (a missing U+FE0F is added), or InvalidInput."""
    normal = _FULLY_QUALIFIED.get(value.replace("\ufe0f", "")) if isinstance(value, str) and len(value) <= 16 else None
    if normal is None:
        raise InvalidInput("emoji must be one emoji, such as \U0001f44d.", code="invalid_emoji", field="emoji")
    return normal


def _fully_qualified_emoji() -> dict[str, str]:
    import emoji

    qualified = emoji.STATUS["fully_qualified"]
    return {
        text.replace("\ufe0f", ""): text
        for text, data in emoji.EMOJI_DATA.items()
        if data["status"] == qualified and len(text) <= REACTION_MAX_LENGTH
    }


_FULLY_QUALIFIED = _fully_qualified_emoji()


def _reactable(*, conversation_id, user: User, message_id) -> ConversationMessage:
    message = _members_message(conversation_id=conversation_id, user=user, message_id=message_id)
    if message.is_deleted or message.is_moderated or message.kind != ConversationMessage.TEXT:
        raise InvalidInput("Only messages that are not deleted take reactions.", code="message_deleted")
    return message


def _reactions_changed(message: ConversationMessage, *, user: User, emoji: str, added: bool, outbox: Outbox):
    """Rewrite the message's reaction summary (its row is locked) and tell the room."""
    message.reaction_summary = reaction_summary(
        Reaction.objects.filter(message=message).order_by("created_at", "id")
    )
    message.save(update_fields=["reaction_summary"])
    outbox.emit(
        room_group(message.conversation_id),
        events.reaction(message, user_id=user.id, emoji=emoji, added=added),
    )


@with_outbox
def reaction_add(*, conversation_id, user: User, message_id, emoji, outbox: Outbox) -> ConversationMessage:
    """
    ``user`` reacts to a message with ``emoji``: once per user, emoji and
    message (adding it again changes nothing), at most
    CHAT_REACTIONS_PER_MESSAGE different emoji per message. The room gets
    ``chat.reaction`` with the new counts.
    """
    emoji = _emoji(emoji)
    with transaction.atomic():
        message = _reactable(conversation_id=conversation_id, user=user, message_id=message_id)
        _refuse_if_direct_is_closed(direct_key=_direct_key_of(message.conversation_id), user=user)
        used = {entry["emoji"] for entry in message.reaction_summary}
        if emoji not in used and len(used) >= settings.CHAT_REACTIONS_PER_MESSAGE:
            raise InvalidInput(
                f"A message takes at most {settings.CHAT_REACTIONS_PER_MESSAGE} different reactions.",
                code="too_many_reactions", field="emoji",
            )
        _, created = Reaction.objects.get_or_create(message=message, user=user, emoji=emoji)
        if created:
            _reactions_changed(message, user=user, emoji=emoji, added=True, outbox=outbox)
    return message


@with_outbox
def reaction_remove(*, conversation_id, user: User, message_id, emoji, outbox: Outbox) -> ConversationMessage:
    """``user`` takes their ``emoji`` reaction back (one they never added changes nothing)."""
    emoji = _emoji(emoji)
    with transaction.atomic():
        message = _reactable(conversation_id=conversation_id, user=user, message_id=message_id)
        removed, _ = Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()
        if removed:
            _reactions_changed(message, user=user, emoji=emoji, added=False, outbox=outbox)
    return message


# --- Managing groups
#
# Who may do what in a group (docs/protocol.md, "Groups"):
# - its owner (the creator, until they leave) renames it, adds members and removes members;
# - any member leaves it; when the owner leaves, the member who joined
#   earliest becomes the owner;
# - a direct conversation has no owner: it cannot be renamed, and nobody
#   joins or leaves it.
# Every change is a system message in the timeline (it takes a seq) and a
# ``conversation.updated`` event to the members, those added and those removed.


def _members_group(*, conversation_id, user: User) -> Conversation:
    """The group, locked, if ``user`` is a member; NotFound, or InvalidInput for a direct conversation."""
    conversation_id = _conversation_id(conversation_id)
    conversation = (
        Conversation.objects.select_for_update().filter(id=conversation_id, members__user=user).first()
    )
    if conversation is None:
        raise NotFound("No such conversation.")
    if conversation.is_direct:
        raise InvalidInput(
            "A direct conversation has no title or members to change.", code="direct_conversation"
        )
    return conversation


def _owned_group(*, conversation_id, user: User) -> Conversation:
    conversation = _members_group(conversation_id=conversation_id, user=user)
    if conversation.owner_id != user.id:
        raise Forbidden("Only the group's owner can do that.", code="not_owner")
    return conversation


def _validate_title(title) -> str:
    if not isinstance(title, str) or not storable_text(title) or len(title.strip()) > TITLE_MAX_LENGTH:
        raise InvalidInput(
            f"title must be text of at most {TITLE_MAX_LENGTH} characters.", code="invalid_title", field="title"
        )
    return title.strip()


def _names(users) -> str:
    names = [user.display_name for user in users]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _system_message(
    conversation: Conversation, *, actor: User, body: str, action: str, outbox: Outbox,
    user_ids=(), **details,
) -> ConversationMessage:
    """A system message by ``actor`` (still a member), in the timeline like any message."""
    seq, _ = _next_seq(conversation.id, actor)
    message = ConversationMessage.objects.create(
        conversation_id=conversation.id, seq=seq, body=body, created_by=actor,
        kind=ConversationMessage.SYSTEM,
        system={"action": action, "user_ids": [str(user_id) for user_id in user_ids], **details},
    )
    ConversationMember.objects.filter(conversation_id=conversation.id, user=actor).update(last_read_seq=seq)
    outbox.emit(conversation_group(conversation.id), events.message(message))
    metrics.MESSAGES_SAVED.inc()
    return message


def _announce_update(
    conversation_id: UUID, *, actor: User, message: ConversationMessage, outbox: Outbox,
    added=(), removed=(),
) -> Conversation:
    """``conversation.updated`` to everyone it concerns; returns the conversation as it is now."""
    conversation = conversation_with_users(conversation_id=conversation_id)
    event = events.conversation_updated(
        conversation, system=message.system, actor_id=actor.id, added=added, removed=removed
    )
    for user_id in {user.id for user in conversation.users.all()} | set(removed):
        outbox.emit(user_group(user_id), event)
    return conversation


@with_outbox
def conversation_rename(*, conversation_id, user: User, title, outbox: Outbox) -> Conversation:
    """The owner gives the group a new title (the same title changes nothing)."""
    title = _validate_title(title)
    with transaction.atomic():
        conversation = _owned_group(conversation_id=conversation_id, user=user)
        if conversation.title == title:
            return conversation_with_users(conversation_id=conversation.id)
        Conversation.objects.filter(id=conversation.id).update(title=title)
        text = f"{user.display_name} renamed the group to \u201c{title}\u201d" if title else (
            f"{user.display_name} removed the group's title"
        )
        message = _system_message(conversation, actor=user, body=text, action="renamed", title=title, outbox=outbox)
        return _announce_update(conversation.id, actor=user, message=message, outbox=outbox)


@with_outbox
def conversation_add_members(*, conversation_id, user: User, user_ids: list[UUID], outbox: Outbox) -> Conversation:
    """
    The owner adds active users to the group (members already in it are
    skipped). They see its history and start with nothing unread; their
    notifications sockets follow it at once.
    """
    with transaction.atomic():
        conversation = _owned_group(conversation_id=conversation_id, user=user)
        current = set(ConversationMember.objects.filter(conversation=conversation).values_list("user_id", flat=True))
        wanted = {user_id for user_id in user_ids if user_id not in current}
        if not wanted:
            return conversation_with_users(conversation_id=conversation.id)
        users = list(active_users().filter(id__in=wanted).order_by("name", "email"))
        missing = wanted - {added.id for added in users}
        if missing:
            raise InvalidInput(
                "No such user: " + ", ".join(sorted(str(user_id) for user_id in missing)), field="user_ids"
            )
        limit = settings.CHAT_GROUP_MAX_MEMBERS
        if len(current) + len(users) > limit:
            raise InvalidInput(f"A group has at most {limit} members.", code="too_many_members", field="user_ids")
        _refuse_users_who_blocked(user=user, others=users)
        message = _system_message(
            conversation, actor=user, body=f"{user.display_name} added {_names(users)}",
            action="members_added", user_ids=[added.id for added in users], outbox=outbox,
        )
        ConversationMember.objects.bulk_create(
            [ConversationMember(conversation=conversation, user=added, last_read_seq=message.seq) for added in users]
        )
        return _announce_update(
            conversation.id, actor=user, message=message, outbox=outbox, added=[added.id for added in users]
        )


@with_outbox
def conversation_remove_member(*, conversation_id, user: User, member_id, outbox: Outbox) -> Conversation:
    """
    The owner removes a member, or a member (``member_id`` their own id)
    leaves. Their open room sockets close with 4403 and their notifications
    sockets stop following the group, on every server process. When the
    owner leaves, the member who joined earliest owns the group.
    """
    member_id = uuid_or_none(member_id)
    with transaction.atomic():
        leaving = member_id == user.id
        conversation = (
            _members_group if leaving else _owned_group
        )(conversation_id=conversation_id, user=user)
        target = (
            ConversationMember.objects.select_related("user").filter(conversation=conversation, user_id=member_id).first()
            if member_id
            else None
        )
        if target is None:
            raise NotFound("No such member.")
        if leaving:
            message = _system_message(
                conversation, actor=user, body=f"{user.display_name} left", action="member_left",
                user_ids=[user.id], outbox=outbox,
            )
        else:
            message = _system_message(
                conversation, actor=user, body=f"{user.display_name} removed {target.user.display_name}",
                action="member_removed", user_ids=[target.user_id], outbox=outbox,
            )
        target.delete()
        if conversation.owner_id == target.user_id:
            successor = (
                ConversationMember.objects.filter(conversation=conversation)
                .order_by("joined_at", "id").values_list("user_id", flat=True).first()
            )
            Conversation.objects.filter(id=conversation.id).update(owner_id=successor)
        return _announce_update(
            conversation.id, actor=user, message=message, outbox=outbox, removed=[target.user_id]
        )


# --- Attachments


def _file_name(value) -> str:
    """The uploaded file's own name, kept for display: its last path part, printable, at most 255 characters."""
    name = PurePath(str(value or "").replace("\\", "/")).name
    name = "".join(char for char in name if char.isprintable()).strip()
    if not name or not storable_text(name):
        return "file"
    if len(name) > 255:
        suffix = PurePath(name).suffix[:16]
        name = name[: 255 - len(suffix)] + suffix
    return name


def attachment_upload(*, conversation_id, user: User, file) -> Attachment:
    """
    Store a file a member uploads to a conversation, for a message of theirs
    to carry (message_send's ``attachment_ids``). At most
    CHAT_ATTACHMENT_MAX_BYTES (TooLarge) and of a type in
    CHAT_ATTACHMENT_TYPES, read from its bytes (UnsupportedType); images
    get their width and height.
    """
    conversation_id = _conversation_id(conversation_id)
    if not ConversationMember.objects.filter(conversation_id=conversation_id, user=user).exists():
        raise NotFound("No such conversation.")
    limit = settings.CHAT_ATTACHMENT_MAX_BYTES
    if file.size > limit:
        raise TooLarge(f"The file is larger than {limit} bytes.", field="file")
    if file.size == 0:
        raise InvalidInput("The file is empty.", code="empty_file", field="file")
    kind = sniff(file)
    if kind.content_type == "image/x-too-large":
        raise TooLarge("The image has more pixels than the server opens.", field="file")
    if kind.content_type not in settings.CHAT_ATTACHMENT_TYPES:
        raise UnsupportedType(
            f"Files of type {kind.content_type} are not accepted; accepted: "
            + ", ".join(sorted(settings.CHAT_ATTACHMENT_TYPES)) + ".",
            field="file",
        )
    attachment = Attachment(
        conversation_id=conversation_id, uploaded_by=user, name=_file_name(file.name),
        content_type=kind.content_type, size=file.size, width=kind.width, height=kind.height,
    )
    attachment.file.save(attachment.name, file, save=False)
    try:
        attachment.save()
    except BaseException:
        _delete_files([(attachment.file.storage, attachment.file.name)])
        raise
    return attachment


def attachments_cleanup(*, older_than) -> int:
    """Delete uploads no message took that were made before ``older_than``; returns how many."""
    deleted = 0
    stale = Attachment.objects.filter(message__isnull=True, created_at__lt=older_than)
    while True:
        with transaction.atomic():
            # Locked and read again: one a message takes meanwhile is not touched.
            batch = list(stale.select_for_update().order_by("created_at")[:500])
            _delete_attachments(batch)
        if not batch:
            return deleted
        deleted += len(batch)


def attachments_delete_unsent(*, user: User) -> int:
    """Delete ``user``'s uploads that no message carries (their account is going); returns how many."""
    with transaction.atomic():
        unsent = list(Attachment.objects.select_for_update().filter(uploaded_by=user, message__isnull=True))
        _delete_attachments(unsent)
    return len(unsent)
# --- Mutes


def _mute_end(until: datetime | None) -> datetime | None:
    if until is None:
        return None
    if timezone.is_naive(until):
        raise InvalidInput("until needs a time zone (Z or an offset).", code="invalid_until", field="until")
    if until <= timezone.now():
        raise InvalidInput("until must be in the future (or null: until you unmute).", code="invalid_until", field="until")
    return until


@with_outbox
def conversation_mute(*, conversation_id, user: User, until: datetime | None = None, outbox: Outbox) -> ConversationMember:
    """
    ``user`` mutes a conversation of theirs until ``until`` (an aware
    datetime in the future), or until they unmute with None: no
    ``notification`` frames (nor pushes) for it meanwhile; unread counts still
    move. Every socket of theirs gets ``conversation.muted``.
    """
    conversation_id = _conversation_id(conversation_id)
    return _set_mute(conversation_id=conversation_id, user=user, muted=True, until=_mute_end(until), outbox=outbox)


@with_outbox
def conversation_unmute(*, conversation_id, user: User, outbox: Outbox) -> ConversationMember:
    """``user`` unmutes a conversation of theirs (one not muted changes nothing but the event)."""
    return _set_mute(
        conversation_id=_conversation_id(conversation_id), user=user, muted=False, until=None, outbox=outbox
    )


def _set_mute(*, conversation_id: UUID, user: User, muted: bool, until: datetime | None, outbox: Outbox) -> ConversationMember:
    """Store ``user``'s mute of a conversation of theirs and tell every socket of theirs."""
    with transaction.atomic():
        changed = ConversationMember.objects.filter(conversation_id=conversation_id, user=user).update(
            muted=muted, muted_until=until
        )
        if not changed:
            raise NotFound("No such conversation.")
        outbox.emit(
            user_group(user.id),
            events.conversation_muted(conversation_id=conversation_id, muted=muted, muted_until=until),
        )
    return ConversationMember.objects.get(conversation_id=conversation_id, user=user)


# --- Reports and moderation


def report_create(*, reporter: User, reason, details="", message_id=None, user_id=None) -> tuple[Report, bool]:
    """
    ``reporter`` reports a message of a conversation they are in, or a user,
    for a reason of Report.REASONS with up to REPORT_DETAILS_MAX_LENGTH
    characters of details. Returns ``(report, created)``: while a report of
    theirs about the same message (or user) is open, reporting again returns it.
    A message's body is kept on the report as it is now, since its author may
    edit or delete it before a moderator looks.
    """
    if (message_id is None) == (user_id is None):
        raise InvalidInput("Name either message_id or user_id.", code="invalid_report")
    if reason not in {value for value, _ in Report.REASONS}:
        raise InvalidInput(
            "reason must be one of: " + ", ".join(value for value, _ in Report.REASONS) + ".",
            code="invalid_reason", field="reason",
        )
    details = details or ""
    if not isinstance(details, str) or len(details) > REPORT_DETAILS_MAX_LENGTH or not storable_text(details):
        raise InvalidInput(
            f"details must be text of at most {REPORT_DETAILS_MAX_LENGTH} characters.",
            code="invalid_details", field="details",
        )
    if message_id is not None:
        parsed = uuid_or_none(message_id)
        message = (
            ConversationMessage.objects.filter(
                id=parsed, conversation__members__user=reporter, kind=ConversationMessage.TEXT
            ).select_related("created_by").first()
            if parsed else None
        )
        if message is None:
            raise NotFound("No such message.")
        if message.created_by_id == reporter.id:
            raise InvalidInput("You cannot report your own message.", code="invalid_report", field="message_id")
        reported, open_reports = message.created_by, Report.objects.filter(message=message)
    else:
        parsed = uuid_or_none(user_id)
        reported = User.objects.filter(id=parsed).first() if parsed else None
        if reported is None:
            raise NotFound("No such user.")
        if reported.id == reporter.id:
            raise InvalidInput("You cannot report yourself.", code="invalid_report", field="user_id")
        message, open_reports = None, Report.objects.filter(user=reported, message__isnull=True)
    open_reports = open_reports.filter(reporter=reporter, status=Report.OPEN)
    if existing := open_reports.first():
        return existing, False
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reporter=reporter, user=reported, message=message, reason=reason, details=details.strip(),
                message_body=message.body if message is not None else None,
            )
    except IntegrityError:
        # The same report twice at once: the partial unique constraint decides.
        if existing := open_reports.first():
            return existing, False
        raise
    return report, True


def _log(action: str, *, moderator: User, report: Report | None = None, message=None, user=None) -> None:
    ModerationAction.objects.create(action=action, moderator=moderator, report=report, message=message, user=user)


def report_resolve(*, report: Report, moderator: User) -> tuple[Report, bool]:
    """
    A moderator closes a report; logged. Returns ``(report, resolved)``: a
    report resolved already (by anyone, even a moment ago) is left as it
    is, unlogged, with ``resolved`` False.
    """
    with transaction.atomic():
        current = Report.objects.select_for_update(of=("self",)).select_related("message", "user").get(id=report.id)
        if current.status != Report.OPEN:
            return current, False
        current.status, current.resolved_at, current.resolved_by = Report.RESOLVED, timezone.now(), moderator
        current.save(update_fields=["status", "resolved_at", "resolved_by"])
        _log(ModerationAction.RESOLVE_REPORT, moderator=moderator, report=current, message=current.message,
             user=current.user)
    return current, True


def user_deactivate_for_moderation(
    *, user: User, moderator: User, report: Report | None = None
) -> tuple[User, bool]:
    """
    A moderator deactivates a user (useraccount.services.user_deactivate: no
    more logins, tokens refused, every open socket closed on every process);
    logged. Returns ``(user, deactivated)``: a user inactive already
    (deactivated, or their account deleted) is left as they are, unlogged,
    with ``deactivated`` False.
    """
    from useraccount.services import user_deactivate

    with transaction.atomic():
        active = User.objects.select_for_update().filter(id=user.id).values_list("is_active", flat=True).first()
        if not active:
            return user, False
        user_deactivate(user=user)
        _log(ModerationAction.DEACTIVATE_USER, moderator=moderator, report=report, user=user)
    return user, True
