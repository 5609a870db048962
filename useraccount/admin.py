"""
Users in the admin: support staff find someone by email or name, see when
they joined and last logged in, and follow links to their conversations and
messages (chat.admin). Deactivating a user or setting a new password ends
their sessions (useraccount.services).
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.http import urlencode

from . import bot_admin, services  # noqa: F401 (bot_admin registers the bots' page)
from .models import User


class EmailUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")


class EmailUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    list_display = ("email", "name", "is_active", "is_staff", "is_bot", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_bot", "is_superuser")
    search_fields = ("email", "name")
    ordering = ("email",)
    readonly_fields = ("id", "date_joined", "last_login", "activity", "is_bot")
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profile", {"fields": ("name", "avatar")}),
        ("Activity", {"fields": ("activity", "date_joined", "last_login")}),
        ("Permissions", {"fields": ("is_active", "is_bot", "is_staff", "is_superuser", "groups", "user_permissions")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),
    )

    def support_links(self, user) -> list[tuple[str, str]]:
        """
        ``(label, url)`` pairs of where to look next for this user, each an
        admin list filtered to them: their conversations, the messages they
        sent, the moderation queue's reports about them and by them.
        """
        conversations = reverse("admin:chat_conversation_changelist")
        messages = reverse("admin:chat_conversationmessage_changelist")
        reports = reverse("admin:chat_report_changelist")
        conversation_count = user.memberships.count()
        message_count = user.sent_messages.count()
        about_count = user.reports_about.count()
        by_count = user.reports_made.count()
        return [
            (f"{conversation_count} conversation{'s' * (conversation_count != 1)}",
             f"{conversations}?{urlencode({'users__id__exact': user.id})}"),
            (f"{message_count} message{'s' * (message_count != 1)} sent",
             f"{messages}?{urlencode({'created_by__id__exact': user.id})}"),
            (f"{about_count} report{'s' * (about_count != 1)} about them",
             f"{reports}?{urlencode({'user__id__exact': user.id})}"),
            (f"{by_count} report{'s' * (by_count != 1)} by them",
             f"{reports}?{urlencode({'reporter__id__exact': user.id})}"),
        ]

    @admin.display(description="conversations and messages")
    def activity(self, user):
        if user.pk is None:
            return "-"
        return format_html_join(" · ", '<a href="{1}">{0}</a>', self.support_links(user))

    def save_model(self, request, obj, form, change):
        """Deactivating a user ends their sessions: open sockets close, tokens are refused."""
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.user_deactivate(user=obj)

    def user_change_password(self, request, id, form_url=""):
        """The admin's "change password" form; a new password ends the user's sessions."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            services.user_sessions_end(user=self.get_object(request, id))
        return response
