"""
Messages to send later (chat.messages.scheduled); re-exported by chat.models.

A row holds what the send will be given (body, reply, thread, metadata; the
attachments point back at it through ``Attachment.scheduled``) and its state:
``pending`` until the runner sends it (``sent``, with the message), or finds
the send refused then (``failed``, with the refusal's code and detail), or its
author cancels it (``cancelled``).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class ScheduledMessage(models.Model):
    PENDING, SENT, FAILED, CANCELLED = "pending", "sent", "failed", "cancelled"
    STATES = [(PENDING, "pending"), (SENT, "sent"), (FAILED, "failed"), (CANCELLED, "cancelled")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="+")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scheduled_messages")
    body = models.TextField(blank=True, default="")
    send_at = models.DateTimeField()
    reply_to_id = models.UUIDField(null=True, blank=True)
    thread_id = models.UUIDField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=STATES, default=PENDING)
    # Why the send was refused at its time (an error code and its detail), for ``failed``.
    failure_code = models.CharField(max_length=64, blank=True, default="")
    failure_detail = models.TextField(blank=True, default="")
    message = models.ForeignKey(
        "chat.ConversationMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "chat"
        indexes = [
            # The runner's scan: pending rows by time (and its "when is the next one").
            models.Index(fields=["send_at"], condition=Q(state="pending"), name="scheduled_pending_by_time"),
            # A user's list, newest first.
            models.Index(fields=["sender", "-created_at"], name="scheduled_by_sender"),
        ]

    def __str__(self):
        return f"{self.state} message of {self.sender_id} at {self.send_at}"

    @property
    def client_id(self) -> str:
        """The send's client_id: a second send of the same row (two runners) finds the first's message."""
        return f"scheduled:{self.id.hex}"
