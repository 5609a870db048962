"""
Scheduled messages in the admin, read-only: support staff see what a user has
waiting, what was sent and what failed at its time and why. Changes go through
the API (chat.messages.scheduled), which checks them as a send would.
"""

from django.contrib import admin

from chat.admin_display import local_time, person
from chat.models import ScheduledMessage
from core.readonly_admin import ReadOnlyAdminMixin


@admin.register(ScheduledMessage)
class ScheduledMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("due", "author", "conversation_id", "state", "failure_code", "short_body")
    list_select_related = ("sender",)
    list_filter = ("state",)
    search_fields = ("sender__email__iexact",)
    ordering = ("-send_at",)
    list_per_page = 100
    show_full_result_count = False
    fields = ("id", "sender", "conversation", "send_at", "state", "failure_code", "failure_detail", "body",
              "metadata", "reply_to_id", "thread_id", "message", "created_at", "updated_at")
    readonly_fields = fields

    @admin.display(description="due", ordering="send_at")
    def due(self, row):
        return local_time(row.send_at)

    @admin.display(description="author", ordering="sender__email")
    def author(self, row):
        return person(row.sender)

    @admin.display(description="body")
    def short_body(self, row):
        return row.body if len(row.body) <= 80 else row.body[:79] + "…"
