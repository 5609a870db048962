"""
Scheduled messages (chat.messages.scheduled), drafts on memberships
(chat.conversations.drafts) and message metadata (chat.messages.metadata),
with the metadata's GIN index (jsonb_path_ops, for containment) on
PostgreSQL only; SQLite filters by JSON1 without one.
"""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import migrations, models
from django.db.models import Q

METADATA_INDEX = GinIndex(
    fields=["metadata"], opclasses=["jsonb_path_ops"], name="message_metadata", condition=Q(metadata__isnull=False),
)


def create_metadata_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("chat", "ConversationMessage"), METADATA_INDEX)


def drop_metadata_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("chat", "ConversationMessage"), METADATA_INDEX)


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0023_unread_main_line_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='conversationmember',
            name='draft',
            field=models.TextField(blank=True, db_default='', default=''),
        ),
        migrations.AddField(
            model_name='conversationmember',
            name='draft_updated_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='conversationmessage',
            name='metadata',
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.CreateModel(
            name='ScheduledMessage',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('body', models.TextField(blank=True, default='')),
                ('send_at', models.DateTimeField()),
                ('reply_to_id', models.UUIDField(blank=True, null=True)),
                ('thread_id', models.UUIDField(blank=True, null=True)),
                ('metadata', models.JSONField(blank=True, null=True)),
                ('state', models.CharField(
                    choices=[
                        ('pending', 'pending'), ('sent', 'sent'), ('failed', 'failed'), ('cancelled', 'cancelled'),
                    ],
                    default='pending', max_length=16,
                )),
                ('failure_code', models.CharField(blank=True, default='', max_length=64)),
                ('failure_detail', models.TextField(blank=True, default='')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('conversation', models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name='+', to='chat.conversation',
                )),
                ('message', models.ForeignKey(
                    blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+',
                    to='chat.conversationmessage',
                )),
                ('sender', models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name='scheduled_messages',
                    to=settings.AUTH_USER_MODEL,
                )),
            ],
        ),
        migrations.AddField(
            model_name='attachment',
            name='scheduled',
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='attachments',
                to='chat.scheduledmessage',
            ),
        ),
        migrations.AddIndex(
            model_name='scheduledmessage',
            index=models.Index(
                condition=models.Q(('state', 'pending')), fields=['send_at'], name='scheduled_pending_by_time',
            ),
        ),
        migrations.AddIndex(
            model_name='scheduledmessage',
            index=models.Index(fields=['sender', '-created_at'], name='scheduled_by_sender'),
        ),
        migrations.RunPython(create_metadata_index, drop_metadata_index),
    ]
