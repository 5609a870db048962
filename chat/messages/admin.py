"""
The admin's message list: find messages by text, sender or conversation,
with markers for edited, deleted, moderated and system messages. Read-only.
"""


from dalf.admin import DALFModelAdmin, DALFRelatedFieldAjax
from django.contrib import admin
from django.db.models import (
    Q,
)
from django.utils.html import format_html, format_html_join

from chat.admin_display import (
    conversation_label,
    conversation_url,
    local_time,
    members_shown,
    person,
    titled,
)
from chat.attachments.admin import AttachmentInline
from chat.models import (
    ConversationMessage,
)
from chat.search.query import clean_query, search_messages
from core.errors import InvalidInput
from core.readonly_admin import ReadOnlyAdminMixin



class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("edited", "edited"), ("deleted", "deleted"), ("moderated", "moderated"), ("system", "system")]

    def queryset(self, request, queryset):
        match self.value():
            case "edited":
                return queryset.filter(edited_at__isnull=False)
            case "deleted":
                return queryset.filter(deleted_at__isnull=False)
            case "moderated":
                return queryset.filter(moderated_at__isnull=False)
            case "system":
                return queryset.filter(kind=ConversationMessage.SYSTEM)
        return queryset


def message_markers(message: ConversationMessage) -> list[str]:
    markers = []
    if message.kind == ConversationMessage.SYSTEM:
        markers.append("system")
    if message.edited_at:
        markers.append("edited")
    if message.deleted_at:
        markers.append("deleted")
    if message.moderated_at:
        markers.append("moderated")
    return markers


@admin.register(ConversationMessage)
class ConversationMessageAdmin(ReadOnlyAdminMixin, DALFModelAdmin):
    """
    Messages, read-only: an edit here would reach no client that already has
    the message, and a deletion would leave a gap in the conversation's seq
    (clients would take it for a lost message); authors edit and delete
    through the API, which keeps a tombstone and tells the room.
    """

    list_display = ("sent", "conversation_link", "seq", "sender", "short_body", "markers")
    list_select_related = ("created_by", "conversation")
    search_fields = ("body",)  # see get_search_results
    list_filter = (StateFilter, ("conversation", DALFRelatedFieldAjax),
                   ("created_by", titled(DALFRelatedFieldAjax, "sender")),
                   ("created_at", titled(admin.DateFieldListFilter, "sent")))
    date_hierarchy = "created_at"
    list_per_page = 100
    # The total is a second COUNT over every message; the filtered count is enough.
    show_full_result_count = False
    fields = ("id", "conversation_link", "seq", "kind", "created_by", "sent", "state", "shown_body", "reply_to",
              "reactions", "sent_to", "client_id", "moderated_by")
    readonly_fields = fields
    ordering = ("-created_at",)
    inlines = [AttachmentInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(members_shown("conversation__users"))

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

    @admin.display(description="sent", ordering="created_at")
    def sent(self, message):
        return local_time(message.created_at)

    @admin.display(description="conversation", ordering="conversation")
    def conversation_link(self, message):
        return format_html('<a href="{}">{}</a>', conversation_url(message.conversation_id, message.seq),
                           conversation_label(message.conversation))

    @admin.display(description="sender", ordering="created_by__email")
    def sender(self, message):
        return person(message.created_by)

    @admin.display(description="body")
    def short_body(self, message):
        if message.deleted_at:
            return "(deleted)"
        return message.body if len(message.body) <= 80 else message.body[:79] + "…"

    @admin.display(description="markers")
    def markers(self, message):
        return ", ".join(message_markers(message))

    @admin.display(description="body")
    def shown_body(self, message):
        return "(deleted by its author; the text is gone)" if message.deleted_at else message.body

    @admin.display(description="state")
    def state(self, message):
        parts = []
        if message.kind == ConversationMessage.SYSTEM:
            parts.append("system message")
        if message.edited_at:
            parts.append(f"edited {local_time(message.edited_at)}")
        if message.deleted_at:
            parts.append(f"deleted {local_time(message.deleted_at)}")
        if message.moderated_at:
            parts.append(f"moderated {local_time(message.moderated_at)}")
        return "; ".join(parts) or "sent"

    @admin.display(description="reactions")
    def reactions(self, message):
        return format_html_join(" ", "{} {}", ((r["emoji"], r["count"]) for r in message.reaction_summary)) or "-"
