"""
Conversations and their messages: data and constraints only. The rows of
some domains live in modules of this package (invites, threads, mentions,
moderation, push, the pin and forward fields) and are imported here, so
that every model is ``chat.models.<Name>``.

Workflows (creating conversations, sending messages, broadcasting) live in
the services of each domain package (chat/messages/, chat/conversations/, ...);
reads in their selectors.
"""

import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models
from django.db.models import Q, Value
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

from chat.models.pinned_forwarded import PinnedAndForwarded

# The longest client_id a client may choose (see ConversationMessage.client_id).
CLIENT_ID_MAX_LENGTH = 64
TITLE_MAX_LENGTH = 255


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True, default="")
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="ConversationMember", related_name="conversations"
    )
    # Set for a direct (one-to-one) conversation only: the two member ids,
    # sorted and joined. Unique, so there is exactly one per pair of users
    # however many processes try to start it at once.
    direct_key = models.CharField(max_length=80, unique=True, null=True, blank=True, editable=False)
    # The seq of the newest message. Bumped with an UPDATE inside the
    # transaction that inserts the message: the row lock serialises writers,
    # and a rollback undoes the bump, so seqs have no gaps and no duplicates.
    last_seq = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True, db_index=True)

    # Who made a group and the id their client gave the request, so that a
    # retried creation (say, after a lost response) finds the group it made.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False,
    )
    client_id = models.CharField(max_length=CLIENT_ID_MAX_LENGTH, blank=True, default="", editable=False)
    # A group's owner: every right in it, including changing members' roles
    # (chat.conversations.roles); when the owner leaves, the longest-standing
    # admin, else member, takes over. Direct conversations have none. The
    # other roles are on the memberships (ConversationMember.role).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disappearing_seconds = models.PositiveIntegerField(null=True, blank=True, editable=False)  # chat.messages.expiry

    class Meta:
        ordering = ["-modified_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "client_id"],
                condition=~Q(client_id=""),
                name="one_conversation_per_creator_client_id",
            )
        ]

    def __str__(self):
        return self.title or str(self.id)

    @property
    def is_direct(self) -> bool:
        return self.direct_key is not None


def direct_conversation_key(first: uuid.UUID, second: uuid.UUID) -> str:
    """The ``direct_key`` of the direct conversation between two users."""
    return "-".join(sorted((first.hex, second.hex)))


def direct_peer_id(key: str | None, user_id: uuid.UUID) -> uuid.UUID | None:
    """The other member of the direct conversation with ``key``, read off the key; None for a group."""
    if not key:
        return None
    first, second = key.split("-")
    return uuid.UUID(second if first == user_id.hex else first)


class ConversationMember(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)
    last_read_seq = models.PositiveBigIntegerField(default=0)
    # The highest seq the server sent to one of the member's sockets or a
    # push service accepted for them, written in batches (chat.realtime.deliveries):
    # it may lag the truth by CHAT_DELIVERY_FLUSH_SECONDS, never leads it.
    # Readers take the greater of it and ``last_read_seq`` (read implies delivered).
    delivered_seq = models.PositiveBigIntegerField(default=0)
    # Muted: no pushes and no ``notification`` frames for this conversation
    # (unread counts still move) until ``muted_until``, or for good when that
    # is empty.
    muted = models.BooleanField(default=False)
    muted_until = models.DateTimeField(null=True, blank=True)
    # A group member's role below the owner (who is Conversation.owner):
    # admins manage the group with the owner (chat.conversations.roles says
    # what each may do). Always "member" in a direct conversation.
    ADMIN, MEMBER = "admin", "member"
    ROLES = [(ADMIN, "admin"), (MEMBER, "member")]
    role = models.CharField(max_length=16, choices=ROLES, default=MEMBER)
    # Which messages notify this member (frames and pushes; chat.notify): all, mentions of them, or none.
    NOTIFY_ALL, NOTIFY_MENTIONS, NOTIFY_NONE = "all", "mentions", "none"
    NOTIFICATION_LEVELS = [(NOTIFY_ALL, "all messages"), (NOTIFY_MENTIONS, "mentions only"), (NOTIFY_NONE, "nothing")]
    notification_level = models.CharField(max_length=16, choices=NOTIFICATION_LEVELS, default=NOTIFY_ALL)
    # What the member was writing here and had not sent (chat.conversations.drafts); a send clears it, in the
    # statement that moves their read position (chat.rules.mark_own_read).
    draft = models.TextField(blank=True, default="", db_default="")
    draft_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="unique_member"),
        ]

    def __str__(self):
        return f"{self.user} in {self.conversation_id}"


class MessageQuerySet(models.QuerySet):
    def for_display(self):
        """With everything ``message_data`` reads, in the same query."""
        return self.select_related("created_by", "reply_to__created_by", "forwarded_from")


class ConversationMessage(PinnedAndForwarded, models.Model):
    TEXT, SYSTEM = "text", "system"
    KINDS = [(TEXT, "text"), (SYSTEM, "system")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField(editable=False)
    body = models.TextField()
    # PROTECT: deleting a user would silently cut their messages out of other
    # people's histories and leave gaps in seq; deactivate users instead.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sent_messages"
    )
    sent_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="received_messages",
    )
    # Chosen by the client; a resend with the same value returns the
    # original message instead of creating another.
    client_id = models.CharField(max_length=CLIENT_ID_MAX_LENGTH, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # A deleted message stays as a tombstone with an empty body, so it keeps
    # its seq and catch-up stays gapless.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Hidden by a moderator: shown to members as a tombstone marked as
    # moderated; the body is kept for staff.
    moderated_at = models.DateTimeField(null=True, blank=True, editable=False)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # The message this one answers, in the same conversation.
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies", editable=False
    )
    # "system": a change to the conversation (renamed, members added or
    # removed, someone left), written by the service that made it, with
    # what changed in ``system`` (docs/protocol.md, "System messages").
    kind = models.CharField(max_length=16, choices=KINDS, default=TEXT, editable=False)
    system = models.JSONField(null=True, blank=True, editable=False)
    # Copies kept on the row so that showing a message takes no other query:
    # the reactions as message JSON shows them (rewritten, under the row's
    # lock, whenever a Reaction is added or removed) and the attachments it
    # carries (fixed when it is sent).
    reaction_summary = models.JSONField(default=list, blank=True, editable=False)
    attachment_summary = models.JSONField(default=list, blank=True, editable=False)
    # Threads (chat.threads): a reply's root; a root's summary as shown and last reply's time (to sort by).
    # Null outside threads, so the one-statement send never writes them.
    thread_root = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="thread_replies",
                                    editable=False, db_index=False)
    thread_summary = models.JSONField(null=True, blank=True, editable=False)
    thread_last_reply_at = models.DateTimeField(null=True, blank=True, editable=False)
    # And whom it mentions (ids, and @all: chat.messages.mentions), as message JSON shows them; Mention rows
    # index the same by user. Database defaults: raw inserts of plain messages (the one-statement send) skip them.
    mention_ids = models.JSONField(default=list, db_default=Value([], output_field=models.JSONField()), editable=False)
    mentions_all = models.BooleanField(default=False, db_default=False, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, editable=False)  # its timer's end: chat.messages.expiry
    # The link preview of the first URL in the body (chat.previews), once the worker fetched it; null before,
    # without a URL, with previews off, and on tombstones. Null by default, so the one-statement send skips it.
    preview = models.JSONField(null=True, blank=True, editable=False)
    # A client's JSON object for custom message types (chat.messages.metadata): bounded, kept, searchable by key.
    metadata = models.JSONField(null=True, blank=True, editable=False)

    objects = MessageQuerySet.as_manager()

    class Meta(PinnedAndForwarded.Meta):
        ordering = ["conversation", "seq"]
        indexes = [
            *PinnedAndForwarded.Meta.indexes,
            models.Index(fields=["thread_root", "seq"], name="thread_replies_by_seq"),  # a thread's pages, its unread
            # Unread counts of conversations count their main timeline after a seq (chat.unread).
            models.Index(fields=["conversation", "seq"], condition=Q(thread_root__isnull=True), name="main_line_by_seq"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="unique_message_seq"),
            models.UniqueConstraint(
                fields=["conversation", "created_by", "client_id"],
                condition=~Q(client_id=""),
                name="unique_message_client_id",
            ),
        ]

    def __str__(self):
        return f"#{self.seq} in {self.conversation_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_moderated(self) -> bool:
        return self.moderated_at is not None


# The longest reaction a user may add, in characters: an emoji with a skin
# tone and ZWJ joins (a family, a flag) takes up to about ten.
REACTION_MAX_LENGTH = 16


class Reaction(models.Model):
    """One user's emoji on one message; at most one per user, emoji and message."""

    message = models.ForeignKey(ConversationMessage, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=REACTION_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="one_reaction_per_user_and_emoji"),
        ]

    def __str__(self):
        return f"{self.emoji} on {self.message_id}"


def attachment_path(attachment: "Attachment", filename: str) -> str:
    """A random name under the conversation; the uploaded name is kept in the row only."""
    return f"{attachment.conversation_id.hex}/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()[:16]}"


class _AttachmentStorage(LazyObject):
    """STORAGES["attachments"], looked up when first used and again after the setting changes (tests)."""

    def _setup(self):
        self._wrapped = storages["attachments"]


_attachment_storage = _AttachmentStorage()


@receiver(setting_changed)
def _storages_changed(*, setting, **kwargs):
    if setting == "STORAGES":
        _attachment_storage._wrapped = empty


def attachment_storage():
    return _attachment_storage


class Attachment(models.Model):
    """
    A file uploaded to a conversation, then carried by one message. Stored
    in the "attachments" storage (never the public media one) and served
    only to members (chat.attachments.api.AttachmentView).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Null until a message carries it; uploads no message took are removed
    # by ``manage.py cleanup_attachments``.
    message = models.ForeignKey(
        ConversationMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, storage=attachment_storage, max_length=255)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Held by a message scheduled to carry it (chat.messages.scheduled): not swept as an orphan meanwhile.
    scheduled = models.ForeignKey(
        "chat.ScheduledMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )

    def __str__(self):
        return self.name


# The models of the domains with their own module here, in the package Django reads.
from chat.models.invites import ConversationInvite, JoinRequest  # noqa: E402,F401
from chat.models.threads import ThreadMember  # noqa: E402,F401
from chat.models.moderation import REPORT_DETAILS_MAX_LENGTH, ModerationAction, Report  # noqa: E402,F401
from chat.models.mentions import Mention  # noqa: E402,F401
from chat.models.push import PUSH_ADDRESS_MAX_LENGTH, PushDevice  # noqa: E402,F401
from chat.models.exports import DataExport, export_storage  # noqa: E402,F401
from chat.models.webhooks import WebhookDelivery, WebhookSubscription  # noqa: E402,F401
from chat.models.scheduled import ScheduledMessage  # noqa: E402,F401
