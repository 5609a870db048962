"""
The moderation queue in the admin: reports, open first, each with the
reported message among the messages around it, and the log of what
moderators did. chat/admin.py imports this module so its pages register.

Actions on selected reports (each logged as a ModerationAction with who and when):
- hide the reported messages (chat.services.message_hide: members see a
  tombstone marked ``moderated``, open clients update; the body stays here);
- deactivate the reported users (useraccount.services.user_deactivate: their
  tokens stop working and their open sockets close on every process);
- resolve the reports.
"""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from core.errors import ApplicationError

from . import services
from .models import ConversationMessage, ModerationAction, Report

# How many messages before and after a reported one its report page shows.
CONTEXT_MESSAGES = 5


def _excerpt(text: str, length: int = 80) -> str:
    return text if len(text) <= length else text[: length - 1] + "\u2026"


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("created_at", "status", "reason", "reporter", "user", "reported_message")
    list_select_related = ("reporter", "user", "message")
    list_filter = ("status", "reason", "created_at")
    search_fields = ("user__email", "user__name", "reporter__email", "details")
    ordering = ("status", "-created_at")  # "open" sorts before "resolved"
    date_hierarchy = "created_at"
    fields = ("id", "status", "reason", "details", "reporter", "user", "message", "context", "created_at",
              "resolved_at", "resolved_by")
    readonly_fields = fields
    actions = ("hide_messages", "deactivate_users", "resolve_reports")

    @admin.display(description="message")
    def reported_message(self, report):
        if report.message is None:
            return "\u2014"
        return _excerpt(report.message.body)

    @admin.display(description="in context")
    def context(self, report):
        """The reported message among the CONTEXT_MESSAGES before and after it, as staff see them (hidden ones too)."""
        if report.message is None:
            return "\u2014 (a report about the user)"
        message = report.message
        around = (
            ConversationMessage.objects.select_related("created_by")
            .filter(conversation_id=message.conversation_id,
                    seq__gte=message.seq - CONTEXT_MESSAGES, seq__lte=message.seq + CONTEXT_MESSAGES)
            .order_by("seq")
        )
        rows = format_html_join(
            "", '<tr style="{}"><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    "background:#fff3cd;font-weight:bold" if item.id == message.id else "",
                    item.seq, item.created_at.strftime("%Y-%m-%d %H:%M"), item.created_by,
                    item.body or ("(deleted)" if item.is_deleted else ""),
                    " ".join(filter(None, ["deleted" if item.is_deleted else "", "hidden" if item.is_moderated else ""])),
                )
                for item in around
            ),
        )
        return format_html(
            '<table class="moderation-context"><thead><tr><th>seq</th><th>sent</th><th>by</th><th>message</th>'
            "<th></th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a report is resolved, not deleted: the log points at it

    def _each(self, request, queryset, act, done: str):
        count = 0
        for report in queryset.select_related("message", "user"):
            try:
                if act(report) is not False:
                    count += 1
            except ApplicationError as error:
                self.message_user(request, f"{report}: {error.detail}", messages.WARNING)
        self.message_user(request, f"{done}: {count}.", messages.SUCCESS)

    @admin.action(description="Hide the reported messages", permissions=["change"])
    def hide_messages(self, request, queryset):
        def hide(report):
            if report.message_id is None:
                return False
            services.message_hide(message_id=report.message_id, moderator=request.user, report=report)

        self._each(request, queryset, hide, "Messages hidden")

    @admin.action(description="Deactivate the reported users", permissions=["change"])
    def deactivate_users(self, request, queryset):
        def deactivate(report):
            services.user_deactivate_for_moderation(user=report.user, moderator=request.user, report=report)

        self._each(request, queryset, deactivate, "Users deactivated")

    @admin.action(description="Resolve the reports", permissions=["change"])
    def resolve_reports(self, request, queryset):
        self._each(request, queryset, lambda report: services.report_resolve(report=report, moderator=request.user),
                   "Reports resolved")


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The moderation log: read-only, written by the moderation services."""

    list_display = ("created_at", "moderator", "action", "report", "message", "user")
    list_select_related = ("moderator", "report__user", "message", "user")
    list_filter = ("action", "created_at")
    search_fields = ("moderator__email", "user__email")
    date_hierarchy = "created_at"
    fields = ("created_at", "moderator", "action", "report", "message", "user")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
