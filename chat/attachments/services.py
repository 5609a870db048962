"""
Attachments: a member uploads a file to a conversation (bounded size, type
read from its bytes), a message of theirs takes it (chat.messages.send),
and uploads no message took are swept (``attachments_cleanup``). Files are
deleted after the transaction that removed their rows commits.
"""

import logging
from pathlib import PurePath
from uuid import UUID

from django.conf import settings
from django.db import transaction

from chat.attachments.files import sniff
from chat.models import (
    Attachment,
    ConversationMember,
    ConversationMessage,
)
from chat.rules import parse_conversation_id
from core.errors import InvalidInput, NotFound, TooLarge, UnsupportedType
from core.validation import storable_text
from useraccount.models import User

logger = logging.getLogger(__name__)


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
    conversation_id = parse_conversation_id(conversation_id)
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
    """
    Delete uploads no message took that were made before ``older_than``;
    returns how many. Those a scheduled message holds are not orphans.
    """
    deleted = 0
    stale = Attachment.objects.filter(message__isnull=True, scheduled__isnull=True, created_at__lt=older_than)
    while True:
        with transaction.atomic():
            # Locked and read again: one a message takes meanwhile is not touched.
            batch = list(stale.select_for_update().order_by("created_at")[:500])
            attachments_delete(batch)
        if not batch:
            return deleted
        deleted += len(batch)


def attachments_delete_unsent(*, user: User) -> int:
    """Delete ``user``'s uploads that no message carries (their account is going); returns how many."""
    with transaction.atomic():
        unsent = list(Attachment.objects.select_for_update().filter(uploaded_by=user, message__isnull=True))
        attachments_delete(unsent)
    return len(unsent)


def uploads_for_message(*, conversation_id: UUID, sender: User, ids: list[UUID]) -> list[Attachment]:
    """
    The sender's uploads ``ids`` to the conversation, in order and locked;
    inside the message's transaction. Those a scheduled message holds are
    its own to send (chat.messages.scheduled_runner lets them go first).
    """
    if not ids:
        return []
    found = {
        attachment.id: attachment
        for attachment in Attachment.objects.select_for_update().filter(
            id__in=ids, conversation_id=conversation_id, uploaded_by=sender, scheduled__isnull=True,
        )
    }
    missing = [str(attachment_id) for attachment_id in ids if attachment_id not in found]
    if missing:
        raise InvalidInput(
            "Not an upload of yours to this conversation: " + ", ".join(missing),
            code="invalid_attachment", field="attachment_ids",
        )
    return [found[attachment_id] for attachment_id in ids]


def attach_uploads(*, message: ConversationMessage, uploads: list[Attachment]) -> None:
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


def attachments_shared(*, source: ConversationMessage, conversation_id: UUID, sender: User) -> list[Attachment]:
    """
    New attachment rows of ``conversation_id`` for the files ``source``
    carries, in its order, unsaved: a forwarded copy shares the stored files
    rather than copying them, and rows of its own conversation let its
    members (only they) download them. The caller holds ``source``'s lock,
    so its files cannot be deleted meanwhile.
    """
    if not source.attachment_summary:
        return []
    rows = {str(row.id): row for row in Attachment.objects.filter(message=source)}
    return [
        Attachment(
            conversation_id=conversation_id, uploaded_by=sender, file=row.file.name, name=row.name,
            content_type=row.content_type, size=row.size, width=row.width, height=row.height,
        )
        for row in (rows.get(item["id"]) for item in source.attachment_summary)
        if row is not None
    ]


def attach_shared(*, message: ConversationMessage, shared: list[Attachment]) -> None:
    """Save the rows ``attachments_shared`` made, carried by ``message``."""
    for attachment in shared:
        attachment.message = message
    Attachment.objects.bulk_create(shared)


def attachments_delete(attachments: list[Attachment]) -> None:
    """
    Delete the rows now and, once the transaction commits, each file no
    other row refers to (forwarded copies share files: chat.messages.forward).
    """
    if not attachments:
        return
    Attachment.objects.filter(id__in=[attachment.id for attachment in attachments]).delete()
    files = [(attachment.file.storage, attachment.file.name) for attachment in attachments]
    transaction.on_commit(lambda: _delete_unreferenced_files(files))


def _delete_unreferenced_files(files) -> None:
    """
    Delete the files no attachment row refers to any more. Asked after the
    commit: of two transactions deleting a file's last two rows at once, the
    one that commits last sees neither row and deletes the file. A new row
    for a file is only made from a row of a message whose lock the maker
    holds (attachments_shared), which its deleter also takes.
    """
    names = {name for _, name in files}
    still_used = set(Attachment.objects.filter(file__in=names).values_list("file", flat=True))
    _delete_files([(storage, name) for storage, name in files if name not in still_used])


def _delete_files(files) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except Exception:
            logger.warning("Could not delete the attachment file %s", name, exc_info=True)
