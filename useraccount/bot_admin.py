"""
Bots in the admin: staff make a bot (a name is all it needs), give it API
keys (each shown once, in the message after saving) and revoke them. The
same as ``/api/bots/`` (useraccount.bot_api), through useraccount.bots.
"""

from django import forms
from django.contrib import admin, messages

from core.errors import InvalidInput

from . import bots
from .models import ApiKey, Bot

SCOPE_FIELD_CHOICES = [(scope, f"{scope}: {meaning}") for scope, meaning in bots.SCOPES.items()]


class ApiKeyForm(forms.ModelForm):
    """A new key: its name and scopes. An existing one: revoke it."""

    scope_list = forms.MultipleChoiceField(
        choices=SCOPE_FIELD_CHOICES, widget=forms.CheckboxSelectMultiple, required=False, label="scopes",
    )
    revoke = forms.BooleanField(required=False, help_text="Refuse this key from now on.")

    class Meta:
        model = ApiKey
        fields = ("name",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["scope_list"].initial = self.instance.scopes.split()
            self.fields["scope_list"].disabled = True
            self.fields["name"].disabled = True
            if self.instance.revoked_at is not None:
                self.fields["revoke"].disabled = True
        else:
            self.fields["revoke"].disabled = True

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and self.has_changed() and not cleaned.get("scope_list"):
            self.add_error("scope_list", "Pick at least one scope.")
        return cleaned


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fk_name = "bot"
    form = ApiKeyForm
    extra = 1
    can_delete = False
    fields = ("name", "scope_list", "prefix", "created_at", "last_used_at", "revoked_at", "revoke")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "is_active", "date_joined")
    list_filter = ("is_active",)
    search_fields = ("name",)
    ordering = ("-date_joined",)
    fields = ("id", "name", "avatar", "is_active", "date_joined")
    readonly_fields = ("id", "date_joined")
    inlines = [ApiKeyInline]

    def save_model(self, request, obj, form, change):
        if not change:
            bots.as_bot(obj)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is not ApiKey:
            return super().save_formset(request, form, formset, change)
        for key_form in formset.forms:
            if not key_form.has_changed() or not key_form.is_valid():
                continue
            data = key_form.cleaned_data
            if key_form.instance.pk:
                if data.get("revoke"):
                    bots.api_key_revoke(bot=form.instance, key_id=key_form.instance.pk)
                continue
            try:
                key, secret = bots.api_key_create(
                    bot=form.instance, name=data.get("name", ""), scopes=data["scope_list"], created_by=request.user,
                )
            except InvalidInput as error:
                messages.error(request, error.detail)
                continue
            messages.warning(
                request, f"The API key {key.prefix!r} is {secret} - copy it now: it is not shown again.",
            )
