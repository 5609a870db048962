"""
Admin for support staff: find a conversation by participant or id, read it.

Messages are read-only here; the admin is for looking, and a message edited
behind the sockets' back would never reach the clients that already have it.
"""

from django.contrib import admin

from .models import Conversation, ConversationMember, ConversationMessage


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


@admin.register(ConversationMessage)
class ConversationMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "conversation", "seq", "created_by", "short_body")
    list_select_related = ("created_by", "conversation")
    search_fields = ("body", "created_by__email", "created_by__name")
    list_filter = ("created_at", ("conversation", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = "created_at"
    readonly_fields = ("id", "conversation", "seq", "created_by", "sent_to", "client_id", "created_at", "body")
    ordering = ("-created_at",)

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
