"""Where to push a user's notifications (chat.push); re-exported by chat.models."""

import uuid

from django.conf import settings
from django.db import models

# The longest Web Push endpoint URL or FCM registration token accepted. Push
# services' endpoints run to a few hundred characters, FCM tokens to about 200.
PUSH_ADDRESS_MAX_LENGTH = 1024


class PushDevice(models.Model):
    """
    Where to push a user's notifications while they have no socket open: a
    browser's Web Push subscription or an app's FCM registration token
    (chat.push). An address belongs to one user at a time: registered again
    by someone else (another account on the same browser), it moves to them.
    """

    WEBPUSH, FCM = "webpush", "fcm"
    KINDS = [(WEBPUSH, "Web Push"), (FCM, "Firebase Cloud Messaging")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_devices")
    kind = models.CharField(max_length=16, choices=KINDS)
    # The subscription's endpoint URL (Web Push) or the registration token (FCM).
    address = models.CharField(max_length=PUSH_ADDRESS_MAX_LENGTH)
    # Web Push only: the browser's P-256 public key and auth secret, base64url.
    p256dh = models.CharField(max_length=100, blank=True, default="")
    auth = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "chat"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "address"], name="unique_push_address"),
        ]

    def __str__(self):
        return f"{self.kind} device of {self.user_id}"
