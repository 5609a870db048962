"""
Editing and deleting messages: only text messages (not system ones). The
author edits, not in a direct conversation the posting rule closes
(chat.rules); the author deletes, and so do a group's owner and admins
(chat.conversations.roles). A deleted message stays as a tombstone with its
seq, so histories stay gapless; ``messages_tombstone`` makes one, for a
user's delete and for the expiry pass (chat.messages.expiry) alike.
"""


from functools import partial

from django.db import transaction
from django.db.models import Exists
from django.utils import timezone

from chat.attachments.services import attachments_delete
from chat.conversations.roles import Action, member_may
from chat.messages.mentions import mentions_for, mentions_store
from chat.messages.metadata import validate_metadata
from chat.models import (
    Attachment,
    ConversationMember,
    ConversationMessage,
    Mention,
    Reaction,
)
from chat.previews.parse import first_url
from chat.previews.services import preview_request
from chat.push.queue import push_enabled, push_enqueue
from chat.realtime import events
from chat.realtime.groups import conversation_group
from chat.rules import (
    parse_conversation_id,
    refuse_unless_open,
    validate_body,
)
from chat.webhooks.emit import webhooks_emit
from core.errors import Forbidden, InvalidInput, NotFound
from core.outbox import Outbox, with_outbox
from core.validation import uuid_or_none
from useraccount.models import User



def member_message(*, conversation_id, user: User, message_id) -> ConversationMessage:
    """The message, locked, if ``user`` is a member of its conversation; NotFound otherwise."""
    conversation_id = parse_conversation_id(conversation_id)
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
    message = member_message(conversation_id=conversation_id, user=user, message_id=message_id)
    if message.created_by_id != user.id:
        raise Forbidden("Only the author can change a message.")
    return message


# ``message_edit``'s ``body`` or ``metadata`` when the edit leaves it as it is.
UNCHANGED = object()


@with_outbox
def message_edit(
    *, conversation_id, user: User, message_id, body=UNCHANGED, metadata=UNCHANGED, outbox: Outbox
) -> ConversationMessage:
    """
    The author replaces a message's body and/or its metadata (null or {}:
    none; chat.messages.metadata); members get ``chat.message.updated``.
    Its mentions are parsed again: those no longer mentioned are dropped,
    those newly mentioned are told (``chat.mention``, and a push).
    """
    if body is not UNCHANGED:
        body = validate_body(body, may_be_empty=True)
    if metadata is not UNCHANGED:
        metadata = validate_metadata(metadata)
    with transaction.atomic():
        message = _own_message(conversation_id=conversation_id, user=user, message_id=message_id)
        if message.is_deleted:
            raise InvalidInput("A deleted message cannot be edited.", code="message_deleted")
        if message.is_moderated:
            raise InvalidInput("A message hidden by a moderator cannot be edited.", code="message_moderated")
        if message.kind != ConversationMessage.TEXT:
            raise Forbidden("A system message cannot be changed.")
        refuse_unless_open(conversation_id=message.conversation_id, user=user)
        body = message.body if body is UNCHANGED else validate_body(body, may_be_empty=bool(message.attachment_summary))
        metadata = message.metadata if metadata is UNCHANGED else metadata
        if message.body == body and message.metadata == metadata:
            return message
        fields = ["body", "metadata", "edited_at"]
        message.metadata = metadata
        url_changed = first_url(message.body) != first_url(body)
        if url_changed:  # the old preview goes; the new URL's is fetched (chat.previews)
            message.preview = None
            fields.append("preview")
        newly_mentioned = set()
        mentions = mentions_for(conversation_id=message.conversation_id, sender_id=user.id, body=body)
        if mentions or message.mention_ids or message.mentions_all:
            newly_mentioned = mentions_store(message, mentions, created=False)
            message.mention_ids, message.mentions_all = list(mentions.user_ids), mentions.all
            fields += ["mention_ids", "mentions_all"]
        message.body = body
        message.edited_at = timezone.now()
        message.save(update_fields=fields)
        outbox.emit(conversation_group(message.conversation_id), events.message_changed(message))
        webhooks_emit(outbox, conversation_id=message.conversation_id, event="message.edited", message=message)
        if url_changed:
            preview_request(outbox, message=message)
        if newly_mentioned:
            outbox.emit(conversation_group(message.conversation_id), events.mentioned(message, newly_mentioned))
            if push_enabled():
                outbox.after_commit(partial(push_enqueue, message_id=message.id, user_ids=sorted(newly_mentioned)))
    return message


@with_outbox
def message_delete(*, conversation_id, user: User, message_id, outbox: Outbox) -> ConversationMessage:
    """
    The author, or a group's owner or admin, deletes a message: it stays as
    a tombstone (same seq, no body) so histories stay gapless; members get
    ``chat.message.deleted``. Deleting a deleted message changes nothing.
    """
    with transaction.atomic():
        message = member_message(conversation_id=conversation_id, user=user, message_id=message_id)
        if message.created_by_id != user.id and not member_may(
            conversation_id=message.conversation_id, user=user, action=Action.DELETE_OTHERS_MESSAGES
        ):
            raise Forbidden("Only the author, or a group's owner and admins, can delete a message.")
        if message.is_deleted:
            return message
        if message.kind != ConversationMessage.TEXT:
            raise Forbidden("A system message cannot be changed.")
        messages_tombstone([message], outbox=outbox)
    return message


def pin_drop(message: ConversationMessage, *, outbox: Outbox) -> None:
    """
    Unpin a message that is being deleted or hidden (chat.messages.pins),
    its row locked by the caller, in the caller's transaction; the room gets
    ``chat.unpinned`` with no ``by``. Nothing for a message that is not pinned.
    """
    if message.pinned_at is None:
        return
    unpin(message)
    outbox.emit(conversation_group(message.conversation_id), events.unpinned(message, by_id=None))


def unpin(message: ConversationMessage) -> None:
    message.pinned_at, message.pinned_by = None, None
    ConversationMessage.objects.filter(pk=message.pk).update(pinned_at=None, pinned_by=None)


def messages_tombstone(messages: list[ConversationMessage], *, expired: bool = False, outbox: Outbox) -> None:
    """
    Turn live ``messages`` (locked by the caller, loaded ``for_display``)
    into tombstones: body emptied, reactions, mentions, pins, link previews and attachments
    removed (the files once the transaction commits), same seq. Members get
    ``chat.message.deleted`` for each. ``expired``: the expiry pass's
    (chat.messages.expiry): ``expires_at`` becomes the time of deletion, which
    is what marks a tombstone as expired rather than deleted
    (chat.messages.serializers.is_expired); a system message's details go
    too, but its action stays.
    A user's delete and the expiry pass share this, so a tombstone is the
    same whoever made it.
    """
    if not messages:
        return
    ids = [message.id for message in messages]
    for message in messages:  # their pins go with them
        pin_drop(message, outbox=outbox)
    Reaction.objects.filter(message_id__in=ids).delete()
    Mention.objects.filter(message_id__in=ids).delete()
    attachments_delete(list(Attachment.objects.filter(message_id__in=ids)))
    now = timezone.now()
    ended = {"expires_at": now} if expired else {}
    ConversationMessage.objects.filter(id__in=ids).update(
        body="", deleted_at=now, reaction_summary=[], attachment_summary=[], mention_ids=[], mentions_all=False,
        preview=None, metadata=None, **ended,
    )
    system = []
    for message in messages:
        message.body, message.deleted_at, message.expires_at = "", now, now if expired else message.expires_at
        message.reaction_summary, message.attachment_summary = [], []
        message.mention_ids, message.mentions_all, message.preview, message.metadata = [], False, None, None
        if message.kind == ConversationMessage.SYSTEM and message.system:
            # Who was added, the new title...: content like any other.
            message.system = {"action": message.system.get("action"), "user_ids": []}
            system.append(message)
    if system:
        ConversationMessage.objects.bulk_update(system, ["system"])
    for message in messages:
        outbox.emit(conversation_group(message.conversation_id), events.message_changed(message))
        if message.kind == ConversationMessage.TEXT:
            webhooks_emit(outbox, conversation_id=message.conversation_id, event="message.deleted", message=message)
