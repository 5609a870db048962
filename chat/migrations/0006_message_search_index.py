"""
The full-text index of message bodies, on PostgreSQL only (chat.search):
a partial GIN index over to_tsvector('simple', body) of live text messages.
SQLite searches without one.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations
from django.db.models import Q

INDEX = GinIndex(
    SearchVector("body", config="simple"),
    name="message_body_search",
    condition=Q(deleted_at__isnull=True, kind="text"),
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("chat", "ConversationMessage"), INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("chat", "ConversationMessage"), INDEX)


class Migration(migrations.Migration):
    dependencies = [("chat", "0005_replies_reactions_attachments_owner")]
    operations = [migrations.RunPython(create, drop)]
