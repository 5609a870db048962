"""
Data exports in the admin: staff start one for any user (the "Export their
data" action on the users list, which this module adds to the account
admin: useraccount cannot know of chat), follow it here, and download the
archive while it is kept. Read-only: exports change only through
chat.exports.services. Staff exports are theirs: the user is not told, and
their own once-a-day rule does not count them.
"""

from django.contrib import admin, messages
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from chat.exports.links import export_file_response
from chat.exports.services import export_request
from chat.models import DataExport
from core.readonly_admin import ReadOnlyAdminMixin
from useraccount.models import User


@admin.register(DataExport)
class DataExportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "user", "status", "requested_by", "size", "truncated", "expires_at", "download")
    list_select_related = ("user", "requested_by")
    list_filter = ("status", "truncated", "created_at")
    search_fields = ("user__email", "user__name", "id")
    date_hierarchy = "created_at"
    fields = ("id", "user", "requested_by", "status", "created_at", "started_at", "finished_at", "expires_at",
              "size", "truncated", "message_count", "attachment_count", "error", "download")
    readonly_fields = fields

    @admin.display(description="archive")
    def download(self, export):
        if export.status != DataExport.READY or not export.file or export.expires_at <= timezone.now():
            return "\u2014"
        return format_html('<a href="{}">download</a>', reverse("admin:chat_dataexport_download", args=[export.id]))

    def get_urls(self):
        return [
            path("<uuid:export_id>/download/", self.admin_site.admin_view(self.download_view),
                 name="chat_dataexport_download"),
            *super().get_urls(),
        ]

    def download_view(self, request, export_id):
        """The archive, to staff who may view exports."""
        if not self.has_view_permission(request):
            raise Http404
        export = get_object_or_404(DataExport, id=export_id, status=DataExport.READY, expires_at__gt=timezone.now())
        if not export.file:
            raise Http404
        return export_file_response(export)


@admin.action(description="Export their data (a zip to download from Data exports)")
def export_user_data(model_admin, request, queryset):
    """Start an export of each selected user's data, for staff to download from the Data exports page."""
    if not request.user.has_perm("chat.view_dataexport"):
        model_admin.message_user(request, "You may not view data exports.", messages.ERROR)
        return
    started = [export_request(user=user, requested_by=request.user) for user in queryset]
    model_admin.message_user(
        request, f"{len(started)} export(s) started; they appear under Data exports once built.", messages.SUCCESS
    )


user_admin = admin.site.get_model_admin(User)
user_admin.actions = (*(user_admin.actions or ()), export_user_data)
