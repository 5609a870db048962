"""Invite links and requests to join (chat.invites.services); re-exported by chat.models."""

import uuid

from django.conf import settings
from django.db import models


class ConversationInvite(models.Model):
    """
    A link that lets anyone signed in join a group (chat.invites): made and
    revoked by its owner and admins, until it expires or its uses run out;
    with ``approval``, opening it asks the admins instead of joining.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="invites")
    # The secret part of the link: 32 random bytes, URL-safe base64.
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    # None: as many uses as the group has room for.
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0, editable=False)
    approval = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["conversation", "-created_at"], name="invites_of_conversation")]

    def __str__(self):
        return f"invite to {self.conversation_id}"


class JoinRequest(models.Model):
    """Someone who opened an invite link that needs approval, waiting for an owner or admin."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="join_requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    invite = models.ForeignKey(ConversationInvite, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="one_join_request_per_user"),
        ]

    def __str__(self):
        return f"{self.user_id} asks to join {self.conversation_id}"
