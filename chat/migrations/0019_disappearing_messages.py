"""
Disappearing messages and retention (chat.messages.expiry): a conversation's
timer, each message's ``expires_at`` (set when it is sent, from the timer
then in force), and the two partial indexes the expiry pass reads, on both
databases:

- ``message_expiring``: messages that will expire and are not tombstones
  yet, by ``expires_at``; it holds only what is left to do, and nothing for
  messages without a timer;
- ``message_live_by_age``: live messages by ``created_at``, for
  CHAT_MESSAGE_RETENTION_DAYS (the ``created_at`` index would walk every
  tombstone earlier passes left).

The indexes are made here, as 0006 makes the search index, not in the
model's Meta: chat/models.py is at the project's 400-line cap.
"""

from django.db import migrations, models
from django.db.models import Q

INDEXES = [
    models.Index(
        fields=["expires_at"], condition=Q(expires_at__isnull=False, deleted_at__isnull=True), name="message_expiring"
    ),
    models.Index(fields=["created_at"], condition=Q(deleted_at__isnull=True), name="message_live_by_age"),
]


def create(apps, schema_editor):
    for index in INDEXES:
        schema_editor.add_index(apps.get_model("chat", "ConversationMessage"), index)


def drop(apps, schema_editor):
    for index in INDEXES:
        schema_editor.remove_index(apps.get_model("chat", "ConversationMessage"), index)


class Migration(migrations.Migration):

    dependencies = [
        ("chat", "0018_mentions"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="disappearing_seconds",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="conversationmessage",
            name="expires_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(create, drop),
    ]
