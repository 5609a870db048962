"""Mentions of members by messages (chat.messages.mentions); re-exported by chat.models."""

from django.conf import settings
from django.db import models


class Mention(models.Model):
    """
    A member a message mentions (by name, or through @all): one row per
    message and user, so that a user's recent mentions are one indexed read
    (chat.messages.selectors.mention_list). Written with the message, and
    rewritten by an edit; a deleted message's go with its body.
    """

    message = models.ForeignKey("chat.ConversationMessage", on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        app_label = "chat"
        constraints = [
            models.UniqueConstraint(fields=["user", "message"], name="one_mention_per_user_and_message"),
        ]

    def __str__(self):
        return f"{self.user_id} in {self.message_id}"
