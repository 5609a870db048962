"""
The admin for support staff: find a conversation by member, title or id, and
read it as its members did; find messages by text, sender or conversation.

Everything here is read-only. Conversations, memberships, messages, reactions
and attachments change only through chat.services, which keeps each
conversation's seq gapless, writes the system messages that say what changed
and tells every open client; a row edited here would do none of that (docs/admin.md).

A conversation's page shows its messages as a transcript, oldest first, a
bounded page at a time (``ConversationAdmin.messages_per_page``), the newest
page unless ``?page=`` or ``?seq=`` (the page holding that message) says
otherwise; it takes the same few queries however long the conversation is.
"""

import math

from dalf.admin import DALFModelAdmin, DALFRelatedFieldAjax
from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from core.errors import InvalidInput
from core.readonly_admin import ReadOnlyAdminMixin
from useraccount.models import User

from . import moderation_admin  # noqa: F401 (the moderation queue registers its pages)
from .models import Attachment, Conversation, ConversationMember, ConversationMessage
from .search import clean_query, search_messages

# Members named in a list row (the rest are counted); also the prefetch's slice.
MEMBERS_SHOWN = 4
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _members_shown(path: str = "users") -> Prefetch:
    """The first MEMBERS_SHOWN members by name, as ``members_shown``: one query for a whole page of rows."""
    return Prefetch(path, queryset=User.objects.order_by("name", "email")[:MEMBERS_SHOWN], to_attr="members_shown")


def _member_count() -> Subquery:
    # A subquery, not Count() over a join: the search's own join on members would multiply it.
    counted = (
        ConversationMember.objects.filter(conversation=OuterRef("pk"))
        .order_by().values("conversation").annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(counted), 0)


def person(user) -> str:
    """How the admin names a user: their name, else their email."""
    return user.name or user.email


def conversation_label(conversation: Conversation, member_count: int | None = None) -> str:
    """The title, else the members' names ("Alice & Bob"); needs ``members_shown`` (see _members_shown)."""
    if conversation.title:
        return conversation.title
    names = [person(user) for user in conversation.members_shown]
    if not names:
        return "(no members)"
    more = (member_count or len(names)) - len(names)
    return " & ".join(names) if more <= 0 else f"{', '.join(names)} and {more} more"


def conversation_kind(conversation: Conversation) -> str:
    return "direct" if conversation.is_direct else "group"


def _local(moment) -> str:
    return timezone.localtime(moment).strftime(TIME_FORMAT)


def _download_link(attachment_id, name):
    return format_html('<a href="{}">{}</a>', reverse("admin:chat_attachment_download", args=[attachment_id]), name)


def conversation_url(conversation_id, seq: int | None = None) -> str:
    """A conversation's admin page; with ``seq``, at the page and row of that message."""
    url = reverse("admin:chat_conversation_change", args=[conversation_id])
    return f"{url}?{urlencode({'seq': seq})}#seq-{seq}" if seq is not None else url


def titled(list_filter: type, title: str) -> type:
    """``list_filter`` under another title ("By member" rather than the field's "By users")."""

    class Titled(list_filter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.title = title

    Titled.__name__ = f"{list_filter.__name__}_{title.replace(' ', '_')}"
    return Titled


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
    Members and their read positions, read-only: a member added or removed
    here would get no system message, no event and no owner handover, and a
    read position (``last_read_seq``) moved here would put the member's unread
    counts out of step with what their clients show.
    """

    model = ConversationMember
    extra = 0
    fields = ("user", "email", "joined_at", "last_read_seq", "muted", "muted_until")
    readonly_fields = fields
    can_delete = False
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").order_by("joined_at")

    @admin.display(description="email")
    def email(self, member):
        return member.user.email


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdminMixin, DALFModelAdmin):
    """
    Conversations, read-only: renaming a group or changing its members goes
    through chat.services, which writes the system message members see and
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
            .annotate(member_count=_member_count())
            .prefetch_related(_members_shown())
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
        return _local(conversation.modified_at)

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
                "sent": _local(message.created_at),
                "edited": _local(message.edited_at) if message.edited_at else "",
                "deleted": _local(message.deleted_at) if message.deleted_at else "",
                "moderated": _local(message.moderated_at) if message.moderated_at else "",
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


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("download", "content_type", "size", "width", "height", "created_at")
    readonly_fields = fields
    can_delete = False
    max_num = 0

    download = admin.display(description="file")(lambda self, attachment: _download_link(attachment.id,
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
        return super().get_queryset(request).prefetch_related(_members_shown("conversation__users"))

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
        return _local(message.created_at)

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
            parts.append(f"edited {_local(message.edited_at)}")
        if message.deleted_at:
            parts.append(f"deleted {_local(message.deleted_at)}")
        if message.moderated_at:
            parts.append(f"moderated {_local(message.moderated_at)}")
        return "; ".join(parts) or "sent"

    @admin.display(description="reactions")
    def reactions(self, message):
        return format_html_join(" ", "{} {}", ((r["emoji"], r["count"]) for r in message.reaction_summary)) or "-"
