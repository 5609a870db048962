"""
Admin for support staff: find a conversation by participant or id, read it.

Messages are read-only here; the admin is for looking, and a message edited
behind the sockets' back would never reach the clients that already have it.
"""

from django.contrib import admin
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from core.errors import InvalidInput

from . import moderation_admin  # noqa: F401 (the moderation queue registers its pages)
from .models import Attachment, Conversation, ConversationMember, ConversationMessage
from .search import clean_query, search_messages


class MemberInline(admin.TabularInline):
    model = ConversationMember
    extra = 0
    fields = ("user", "joined_at", "last_read_seq")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class MessageInline(admin.TabularInline):
    model = ConversationMessage
    extra = 0
    fields = ("seq", "created_at", "created_by", "body")
    readonly_fields = fields
    ordering = ("-seq",)
    can_delete = False
    show_change_link = True
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "participants", "last_seq", "modified_at")
    search_fields = ("id", "title", "users__email", "users__name")
    list_filter = ("modified_at",)
    date_hierarchy = "modified_at"
    readonly_fields = ("id", "direct_key", "last_seq", "created_at", "modified_at")
    fields = ("id", "title", "direct_key", "last_seq", "created_at", "modified_at")
    inlines = [MemberInline, MessageInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("users")

    @admin.display(description="participants")
    def participants(self, conversation):
        return ", ".join(user.email for user in conversation.users.all())

    def has_add_permission(self, request):
        return False

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return queryset, True


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("download", "content_type", "size", "width", "height", "created_at")
    readonly_fields = fields
    can_delete = False
    max_num = 0

    download = admin.display(description="file")(lambda self, attachment: _download_link(attachment))


def _download_link(attachment):
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:chat_attachment_download", args=[attachment.id]), attachment.name
    )


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Uploads, read-only; staff download them here (the API serves members only, by token)."""

    list_display = ("name", "content_type", "size", "uploaded_by", "conversation", "message", "created_at")
    list_select_related = ("uploaded_by", "conversation", "message")
    search_fields = ("name", "uploaded_by__email")
    list_filter = ("content_type", "created_at")
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ConversationMessage)
class ConversationMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "conversation", "seq", "created_by", "short_body")
    list_select_related = ("created_by", "conversation")
    search_fields = ("body",)  # see get_search_results
    list_filter = ("created_at", ("conversation", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = "created_at"
    readonly_fields = ("id", "conversation", "seq", "created_by", "sent_to", "client_id", "created_at", "body",
                       "kind", "reply_to", "reaction_summary")
    ordering = ("-created_at",)
    inlines = [AttachmentInline]

    def get_search_results(self, request, queryset, search_term):
        """Bodies through the full-text search the API uses (its index on PostgreSQL); senders by email or name."""
        term = " ".join(search_term.split())
        if not term:
            return queryset, False
        try:
            matching = search_messages(queryset, clean_query(term)).values("id")
        except InvalidInput:
            return queryset.none(), False
        by_sender = Q(created_by__email__iexact=term) | Q(created_by__name__iexact=term)
        return queryset.filter(Q(id__in=matching) | by_sender), False

    @admin.display(description="body")
    def short_body(self, message):
        return message.body if len(message.body) <= 80 else message.body[:79] + "…"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # A hard delete would leave a gap in seq and reach no client; authors
        # delete through the API, which leaves a tombstone and tells the room.
        return False
