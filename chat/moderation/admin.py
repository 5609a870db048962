"""
The moderation queue in the admin: reports, open first, each with the
reported message's text as reported beside its text now (its author may have
edited it since), the message among the messages around it, and the log of
what moderators did. chat/admin.py imports this module so its pages register.

Actions on selected reports (each logged as a ModerationAction with who and
when; one whose work is done already, say a message hidden already, does
nothing, logs nothing and says so):
- hide the reported messages (chat.moderation.services.message_hide: members see a
  tombstone marked ``moderated``, open clients update; the body stays here),
  for staff with "Can change report" and "Can change conversation message";
- deactivate the reported users (useraccount.services.user_deactivate: their
  tokens stop working and their open sockets close on every process), for
  staff with "Can change report" and "Can change user";
- resolve the reports, for staff with "Can change report".
docs/admin.md, "Moderation: reports", says which permissions a support
account needs.
"""

from collections import Counter

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.utils.html import format_html, format_html_join

from chat.models import ConversationMessage, ModerationAction, Report
from chat.moderation.services import message_hide, report_resolve, user_deactivate_for_moderation
from core.errors import ApplicationError
from core.readonly_admin import ReadOnlyAdminMixin
from useraccount.models import User

# How many messages before and after a reported one its report page shows.
CONTEXT_MESSAGES = 5


def _excerpt(text: str, length: int = 80) -> str:
    return text if len(text) <= length else text[: length - 1] + "\u2026"


def _change_since_report(report: Report) -> str | None:
    """What the author did to a reported message since it was reported ("edited", "deleted"), or None."""
    message = report.message
    if message is None:
        return None
    if message.is_deleted and message.deleted_at >= report.created_at:
        return "deleted by its author since the report"
    if report.message_body is not None and message.body != report.message_body:
        return "edited since the report"
    return None


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("created_at", "status", "reason", "reporter", "user", "reported_message")
    list_select_related = ("reporter", "user", "message")
    list_filter = ("status", "reason", "created_at")
    search_fields = ("user__email", "user__name", "reporter__email", "details")
    ordering = ("status", "-created_at")  # "open" sorts before "resolved"
    date_hierarchy = "created_at"
    fields = ("id", "status", "reason", "details", "reporter", "user", "message", "reported_text", "current_text",
              "context", "created_at", "resolved_at", "resolved_by")
    readonly_fields = fields
    actions = ("hide_messages", "deactivate_users", "resolve_reports")

    @admin.display(description="message")
    def reported_message(self, report):
        """The text that was reported (as it is now for reports that did not keep it), marked if it changed since."""
        if report.message is None:
            return "\u2014"
        text = _excerpt(report.message.body if report.message_body is None else report.message_body)
        change = _change_since_report(report)
        return format_html("{} <strong>({})</strong>", text, change) if change else text

    @admin.display(description="reported text")
    def reported_text(self, report):
        """The message's body when it was reported, kept on the report: what the reporter saw."""
        if report.message_id is None:
            return "\u2014 (a report about the user)"
        if report.message_body is None:
            return "(not kept: reported before reports kept the text; see the text now)"
        return report.message_body or "(no text)"

    @admin.display(description="text now")
    def current_text(self, report):
        """The message's body now (hidden ones too), marked when its author changed it since the report."""
        if report.message is None:
            return "\u2014"
        change = _change_since_report(report)
        text = report.message.body or ("(deleted)" if report.message.is_deleted else "(no text)")
        if change is None:
            return format_html("{} <em>(unchanged)</em>", text) if report.message_body is not None else text
        return format_html('<strong class="changed-since-report" style="color:#ba2121">{}</strong><br>{}', change, text)

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

    # Who may do what. Each action needs "Can change report", plus the
    # permission on what it changes: a support account that may resolve
    # reports does not thereby hide messages or lock people out.

    def has_hide_permission(self, request):
        """Hiding messages: Can change report and Can change conversation message."""
        return self.has_change_permission(request) and request.user.has_perm(
            _permission("change", ConversationMessage)
        )

    def has_deactivate_permission(self, request):
        """Deactivating users: Can change report and Can change user (as in the user admin)."""
        return self.has_change_permission(request) and request.user.has_perm(_permission("change", User))

    def _each(self, request, queryset, act, *, done: str, already: str, not_applicable: str = ""):
        """
        Run ``act`` on each selected report and say what came of it: ``act``
        returns True (done), False (it was so already: nothing done, nothing
        logged) or None (nothing to do it to).
        """
        outcomes = Counter()
        for report in queryset.select_related("message", "user"):
            try:
                outcomes[act(report)] += 1
            except ApplicationError as error:
                self.message_user(request, f"{report}: {error.detail}", messages.WARNING)
        if outcomes[True] or not (outcomes[False] or outcomes[None]):
            self.message_user(request, f"{done}: {outcomes[True]}.", messages.SUCCESS)
        if outcomes[False]:
            self.message_user(
                request, f"{already}: {outcomes[False]}. Nothing was done to them and nothing logged.", messages.INFO
            )
        if outcomes[None] and not_applicable:
            self.message_user(request, f"{not_applicable}: {outcomes[None]}.", messages.INFO)

    @admin.action(description="Hide the reported messages", permissions=["hide"])
    def hide_messages(self, request, queryset):
        def hide(report):
            if report.message_id is None:
                return None
            return message_hide(message_id=report.message_id, moderator=request.user, report=report)[1]

        self._each(request, queryset, hide, done="Messages hidden", already="Already hidden",
                   not_applicable="Reports about a user, with no message to hide")

    @admin.action(description="Deactivate the reported users", permissions=["deactivate"])
    def deactivate_users(self, request, queryset):
        def deactivate(report):
            return user_deactivate_for_moderation(user=report.user, moderator=request.user, report=report)[1]

        self._each(request, queryset, deactivate, done="Users deactivated",
                   already="Already inactive (deactivated or deleted)")

    @admin.action(description="Resolve the reports", permissions=["change"])
    def resolve_reports(self, request, queryset):
        def resolve(report):
            return report_resolve(report=report, moderator=request.user)[1]

        self._each(request, queryset, resolve, done="Reports resolved", already="Already resolved")


def _permission(action: str, model) -> str:
    """``"app_label.<action>_<model>"``, as ``User.has_perm`` takes it."""
    return f"{model._meta.app_label}.{get_permission_codename(action, model._meta)}"


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The moderation log: read-only, written by the moderation services."""

    list_display = ("created_at", "moderator", "action", "report", "message", "user")
    list_select_related = ("moderator", "report__user", "message", "user")
    list_filter = ("action", "created_at")
    search_fields = ("moderator__email", "user__email")
    date_hierarchy = "created_at"
    fields = ("created_at", "moderator", "action", "report", "message", "user")
    readonly_fields = fields
