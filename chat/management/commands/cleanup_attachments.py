"""
manage.py cleanup_attachments: delete uploads that no message took.

A client uploads a file, then sends a message with its id; an upload whose
message never came (the app closed, the user changed their mind) is kept
CHAT_ATTACHMENT_ORPHAN_HOURS hours, then this removes its row and its file.
Run it from cron or a scheduler, e.g. hourly (docs/operations.md).
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from chat.attachments.services import attachments_cleanup


class Command(BaseCommand):
    help = "Delete attachments uploaded more than CHAT_ATTACHMENT_ORPHAN_HOURS ago that no message carries."

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours", type=int, default=settings.CHAT_ATTACHMENT_ORPHAN_HOURS,
            help="Age in hours past which an unsent upload is deleted (default CHAT_ATTACHMENT_ORPHAN_HOURS).",
        )

    def handle(self, *args, hours, **options):
        deleted = attachments_cleanup(older_than=timezone.now() - timedelta(hours=hours))
        self.stdout.write(f"Deleted {deleted} unsent attachment(s) older than {hours} h.")
