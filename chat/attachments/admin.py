"""
The admin's attachment pages: read-only, with downloads for staff.
"""


from dalf.admin import DALFModelAdmin, DALFRelatedFieldAjax
from django.contrib import admin
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path

from chat.admin_display import download_link, titled
from chat.models import (
    Attachment,
)
from core.readonly_admin import ReadOnlyAdminMixin



class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("download", "content_type", "size", "width", "height", "created_at")
    readonly_fields = fields
    can_delete = False
    max_num = 0

    download = admin.display(description="file")(lambda self, attachment: download_link(attachment.id,
                                                                                        attachment.name))


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdminMixin, DALFModelAdmin):
    """
    Uploads, read-only; staff download them here (the API serves members only,
    by token). Not deletable here: the message that carries a file keeps a
    copy of its details (``attachment_summary``), which a deletion here would
    leave pointing at nothing, and the stored file would stay behind.
    """

    list_display = ("name", "content_type", "size", "uploaded_by", "conversation", "message", "created_at")
    list_select_related = ("uploaded_by", "conversation", "message")
    search_fields = ("name", "uploaded_by__email")
    list_filter = ("content_type", ("conversation", DALFRelatedFieldAjax),
                   ("uploaded_by", titled(DALFRelatedFieldAjax, "uploader")), "created_at")
    date_hierarchy = "created_at"
    readonly_fields = ("id", "download", "content_type", "size", "width", "height", "uploaded_by", "conversation",
                       "message", "created_at")
    fields = readonly_fields

    download = AttachmentInline.download

    def get_urls(self):
        return [
            path("<uuid:attachment_id>/download/", self.admin_site.admin_view(self.download_view),
                 name="chat_attachment_download"),
            *super().get_urls(),
        ]

    def download_view(self, request, attachment_id):
        if not self.has_view_permission(request):
            raise Http404
        attachment = get_object_or_404(Attachment, id=attachment_id)
        response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type, as_attachment=True,
                                filename=attachment.name)
        response["X-Content-Type-Options"] = "nosniff"
        return response
