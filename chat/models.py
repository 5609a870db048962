"""
Conversations and their messages: data and constraints only.

Workflows (creating conversations, sending messages, broadcasting) live in
chat/services.py; reads live in chat/selectors.py.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

# The longest client_id a client may choose (see ConversationMessage.client_id).
CLIENT_ID_MAX_LENGTH = 64


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=255, blank=True, default="")
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


class ConversationMember(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)
    last_read_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="unique_member"),
        ]

    def __str__(self):
        return f"{self.user} in {self.conversation_id}"


class ConversationMessage(models.Model):
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

    class Meta:
        ordering = ["conversation", "seq"]
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
