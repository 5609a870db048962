"""
The admin's conversation pages: the list (kind, names, member and message
counts, last activity) and a conversation read like the chat, oldest
first, a bounded page at a time (``ConversationAdmin.messages_per_page``),
the newest page unless ``?page=`` or ``?seq=`` (the page holding that
message) says otherwise; the same few queries however long it is. Read-only.
"""

import math

from dalf.admin import DALFModelAdmin, DALFRelatedFieldAjax
from django.contrib import admin
from django.core.paginator import Paginator
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from chat.admin_display import (
    conversation_kind,
    conversation_label,
    local_time,
    member_count,
    members_shown,
    person,
    titled,
)
from chat.models import (
    Conversation,
    ConversationMember,
)
from chat.conversations.roles import role_of
from core.readonly_admin import ReadOnlyAdminMixin



class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("direct", "direct"), ("group", "group")]

    def queryset(self, request, queryset):
        if self.value() == "direct":
            return queryset.filter(direct_key__isnull=False)
        if self.value() == "group":
            return queryset.filter(direct_key__isnull=True)
        return queryset


class MemberInline(ReadOnlyAdminMixin, admin.TabularInline):
    """
    Members, their roles, delivered and read positions and notification
    levels, read-only: a member added or removed
    here would get no system message, no event and no owner handover, and a
    read position (``last_read_seq``) moved here would put the member's unread
    counts out of step with what their clients show.
    """

    model = ConversationMember
    extra = 0
    fields = ("user", "email", "group_role", "joined_at", "delivered_seq", "last_read_seq", "notification_level",
              "muted", "muted_until")
    readonly_fields = fields
    can_delete = False
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "conversation").order_by("joined_at")

    @admin.display(description="email")
    def email(self, member):
        return member.user.email

    @admin.display(description="role")
    def group_role(self, member):
        """The owner is the conversation's (``Conversation.owner``), the others' roles their rows'."""
        return role_of(member.conversation, user_id=member.user_id, stored=member.role)


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdminMixin, DALFModelAdmin):
    """
    Conversations, read-only: renaming a group or changing its members goes
    through the chat services, which write the system message members see and
    tells their clients; deleting one here would leave clients holding a
    conversation the server no longer knows.
    """

    list_display = ("label", "kind", "members", "member_count", "message_count", "last_activity")
    list_display_links = ("label",)
    search_fields = ("id", "title", "users__email", "users__name")
    list_filter = (KindFilter, ("users", titled(DALFRelatedFieldAjax, "member")),
                   ("modified_at", titled(admin.DateFieldListFilter, "last activity")))
    date_hierarchy = "modified_at"
    list_per_page = 50
    readonly_fields = ("id", "kind", "title", "owner", "created_by", "member_count", "message_count",
                       "created_at", "modified_at", "links")
    fields = readonly_fields
    inlines = [MemberInline]
    change_form_template = "admin/chat/conversation/change_form.html"
    # Messages on one page of a conversation's transcript.
    messages_per_page = 100

    def get_queryset(self, request):
        return (
            super().get_queryset(request)
            .select_related("owner", "created_by")
            .annotate(member_count=member_count())
            .prefetch_related(members_shown())
        )

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return queryset, True

    @admin.display(description="conversation", ordering="title")
    def label(self, conversation):
        return conversation_label(conversation, conversation.member_count)

    @admin.display(description="kind", ordering="direct_key")
    def kind(self, conversation):
        return conversation_kind(conversation)

    @admin.display(description="members")
    def members(self, conversation):
        names = [person(user) for user in conversation.members_shown]
        more = conversation.member_count - len(names)
        return ", ".join(names) + (f" and {more} more" if more > 0 else "")

    @admin.display(description="member count", ordering="member_count")
    def member_count(self, conversation):
        return conversation.member_count

    @admin.display(description="messages", ordering="last_seq")
    def message_count(self, conversation):
        # seq has no gaps (deleted messages stay as tombstones), so the newest seq is the count.
        return conversation.last_seq

    @admin.display(description="last activity", ordering="modified_at")
    def last_activity(self, conversation):
        return local_time(conversation.modified_at)

    @admin.display(description="see also")
    def links(self, conversation):
        messages = reverse("admin:chat_conversationmessage_changelist")
        attachments = reverse("admin:chat_attachment_changelist")
        return format_html(
            '<a href="{}">its messages in the message list</a> (to search them) · <a href="{}">its attachments</a>',
            f"{messages}?{urlencode({'conversation__id__exact': conversation.id})}",
            f"{attachments}?{urlencode({'conversation__id__exact': conversation.id})}",
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        conversation = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if conversation is not None:
            extra["subtitle"] = f"{conversation_label(conversation, conversation.member_count)} " \
                                f"({conversation_kind(conversation)})"
            extra.update(self.transcript(request, conversation))
        return super().change_view(request, object_id, form_url, extra)

    def transcript(self, request, conversation) -> dict:
        """One page of the conversation's messages, oldest first, and what the template needs to page it."""
        messages = (
            conversation.messages.for_display().select_related("moderated_by").order_by("seq")
        )
        paginator = Paginator(messages, self.messages_per_page)
        wanted = request.GET.get("page")
        seq = request.GET.get("seq")
        if seq and seq.isdigit():
            wanted = max(1, math.ceil(messages.filter(seq__lte=int(seq)).count() / self.messages_per_page))
        page = paginator.get_page(wanted or paginator.num_pages)
        user_urls: dict = {}

        def user_url(user):
            if user.id not in user_urls:
                user_urls[user.id] = reverse("admin:useraccount_user_change", args=[user.id])
            return user_urls[user.id]

        rows = []
        for message in page.object_list:
            reply = message.reply_to
            rows.append({
                "message": message,
                "admin_url": reverse("admin:chat_conversationmessage_change", args=[message.id]),
                "sender_url": user_url(message.created_by),
                "sender": person(message.created_by),
                "sent": local_time(message.created_at),
                "edited": local_time(message.edited_at) if message.edited_at else "",
                "deleted": local_time(message.deleted_at) if message.deleted_at else "",
                "moderated": local_time(message.moderated_at) if message.moderated_at else "",
                "moderated_by": person(message.moderated_by) if message.moderated_by else "",
                "reply": reply and {
                    "seq": reply.seq,
                    "sender": person(reply.created_by),
                    "body": reply.body if len(reply.body) <= 140 else reply.body[:139] + "…",
                    "deleted": reply.is_deleted,
                },
                "attachments": [
                    {**item, "url": reverse("admin:chat_attachment_download", args=[item["id"]])}
                    for item in message.attachment_summary
                ],
            })
        return {
            "transcript": rows,
            "transcript_page": page,
            "transcript_pages": list(paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)),
            "transcript_seq": int(seq) if seq and seq.isdigit() else None,
        }
