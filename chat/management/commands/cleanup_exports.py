"""
manage.py cleanup_exports: delete the archives of data exports past their
time (DATA_EXPORT_KEEP_HOURS after they were built; the exports stay, as
``expired``), and mark failed the exports whose job was lost (pending or
building for twice DATA_EXPORT_TIME_LIMIT). The compose file's scheduler
runs it hourly with cleanup_attachments (docs/operations.md).
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from chat.exports.services import exports_cleanup


class Command(BaseCommand):
    help = "Delete expired data export archives and fail exports whose job was lost."

    def handle(self, *args, **options):
        expired, failed = exports_cleanup(now=timezone.now())
        self.stdout.write(f"Deleted {expired} expired export archive(s); {failed} lost export(s) marked failed.")
