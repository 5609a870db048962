"""
The message fields of pins and forwarding, mixed into chat.models'
ConversationMessage (kept here so that module stays short): data only; the
workflows are chat.messages.pins and chat.messages.forward.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class PinnedAndForwarded(models.Model):
    # Pinned to its conversation: when and by whom, on the row so that
    # message JSON shows ``pinned`` with no other query and the pins list is
    # one scan of ``pinned_messages``. Cleared when the message is deleted or
    # hidden by a moderator.
    pinned_at = models.DateTimeField(null=True, blank=True, editable=False)
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # A forwarded copy: who wrote the original and when, never where (the
    # copy's readers may not be members of its conversation). A copy of a
    # copy keeps the first original's. ``forwarded_created_at`` marks a copy:
    # its author's row may be gone.
    forwarded_from = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    forwarded_created_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True
        indexes = [
            models.Index(
                fields=["conversation", "-pinned_at"], condition=Q(pinned_at__isnull=False), name="pinned_messages"
            ),
        ]
