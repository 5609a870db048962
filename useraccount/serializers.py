"""
JSON shapes of a user, and validation of the account endpoints' input.

``user_public`` is what other people see of a user (conversation members,
message senders, ``GET /api/auth/<id>/``); ``user_private`` is what the user
sees of themselves.
"""

from django.conf import settings
from django.contrib.auth import password_validation
from rest_framework import serializers

from core.errors import TooLarge
from core.public_urls import absolute_url

from .models import User
from .sessions import device_label
from .status import status_data


def avatar_url(user: User) -> str:
    """The avatar's absolute URL, or "" without one (as the original backend: clients test it for truth)."""
    return absolute_url(user.avatar.url) if user.avatar else ""


def user_public(user: User) -> dict:
    data = {"id": str(user.id), "name": user.display_name, "avatar_url": avatar_url(user)}
    if user.deleted_at is not None:
        # Only on deleted accounts: every other user's shape is as it always was.
        data["deleted"] = True
    elif user.status_text or user.status_emoji:
        # Only while a status holds (useraccount.status), read off the row: no query.
        status = status_data(user)
        if status is not None:
            data["status"] = status
    if user.is_bot:
        # Only on bots, as ``deleted``: a bot's messages are marked wherever their sender is shown.
        data["is_bot"] = True
    return data


def user_private(user: User) -> dict:
    return {
        "pk": str(user.id),
        "id": str(user.id),
        "email": user.email,
        "name": user.display_name,
        "avatar_url": avatar_url(user),
        "read_receipts": user.read_receipts,
        "status": status_data(user),
    }


class RegisterInput(serializers.Serializer):
    email = serializers.EmailField()
    password1 = serializers.CharField(write_only=True, trim_whitespace=False)
    password2 = serializers.CharField(write_only=True, trim_whitespace=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")

    def validate_email(self, value: str) -> str:
        email = value.strip().lower()
        if User.objects.filter(email=email).exists():
            raise serializers.ValidationError("A user with this email address already exists.")
        return email

    def validate(self, attrs):
        if attrs["password1"] != attrs["password2"]:
            raise serializers.ValidationError(
                {"non_field_errors": ["The two password fields didn't match."]}
            )
        candidate = User(email=attrs["email"], name=attrs.get("name", ""))
        try:
            password_validation.validate_password(attrs["password1"], user=candidate)
        except Exception as error:  # django.core.exceptions.ValidationError
            raise serializers.ValidationError({"password1": list(error.messages)})
        return attrs


class LoginInput(serializers.Serializer):
    email = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False)


class RefreshInput(serializers.Serializer):
    refresh = serializers.CharField()


class PasswordChangeInput(serializers.Serializer):
    current_password = serializers.CharField(trim_whitespace=False)
    new_password = serializers.CharField(trim_whitespace=False, help_text="Checked by the password rules (docs/errors.md).")


class PasswordResetInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254, help_text="The account's email address.")


class PasswordResetConfirmInput(serializers.Serializer):
    uid = serializers.CharField(max_length=64, help_text="`{uid}` of the emailed link.")
    token = serializers.CharField(max_length=128, help_text="`{token}` of the emailed link.")
    new_password = serializers.CharField(trim_whitespace=False)


class AccountDeleteInput(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, help_text="Your current password, to confirm.")


class AvatarField(serializers.ImageField):
    """An image of at most AVATAR_MAX_SIZE bytes; a larger file is a 413 before Pillow opens it."""

    def to_internal_value(self, data):
        size = getattr(data, "size", None)
        if size is not None and size > settings.AVATAR_MAX_SIZE:
            raise TooLarge(f"The avatar is larger than {settings.AVATAR_MAX_SIZE} bytes.", field="avatar")
        return super().to_internal_value(data)


class ProfileInput(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    avatar = AvatarField(required=False, allow_null=True)
    read_receipts = serializers.BooleanField(
        required=False, help_text="Off: others do not see how far you read, and you do not see theirs.",
    )

    def validate(self, attrs):
        # An empty body (or a form whose parts say nothing) changes nothing: a mistake, not a request.
        # Fields this endpoint does not change (email) are ignored, as before.
        if not self.initial_data:
            raise serializers.ValidationError("Give name, avatar or read_receipts.")
        return attrs


# --- Documented shapes (OpenAPI): what user_public / user_private and the views return.


class StatusOut(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, help_text="At most USER_STATUS_TEXT_MAX_LENGTH (100) characters.")
    emoji = serializers.CharField(allow_blank=True, help_text="One emoji, or a `:short_code:`; may be empty.")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When it stops showing; null: until cleared.")


class StatusInput(serializers.Serializer):
    # Lengths and shapes are the service's to check (useraccount.status), with their codes.
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="")
    emoji = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="")
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="In the future, within a year; null: until cleared.",
    )


class UserPublicOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(help_text="Their name, or `User <8 hex digits of the id>` without one.")
    avatar_url = serializers.CharField(help_text='Absolute URL of the avatar, or "" without one.')
    online = serializers.BooleanField(
        required=False, allow_null=True,
        help_text="Only where presence is shown (people you share a conversation with); null when unknown.",
    )
    deleted = serializers.BooleanField(
        required=False,
        help_text='Only on an account its owner deleted, and then true: named "Deleted user", no avatar.',
    )
    is_bot = serializers.BooleanField(
        required=False,
        help_text="Only on a bot account, and then true: a message whose `created_by` has it was sent by a bot "
        "(docs/integrations.md).",
    )
    status = StatusOut(required=False, help_text="Only while the user has a status that has not expired.")


class UserPrivateOut(serializers.Serializer):
    pk = serializers.UUIDField(help_text="Same as `id` (the original tutorial client reads `pk`).")
    id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()
    avatar_url = serializers.CharField()
    read_receipts = serializers.BooleanField(
        help_text="Whether you share read receipts (and see others'); delivered receipts are always shared.",
    )
    status = StatusOut(allow_null=True, help_text="Your status while it holds (PUT /api/auth/me/status/).")


class SessionOut(serializers.Serializer):
    access = serializers.CharField(help_text="Access token (JWT), for `Authorization: Bearer` and `?token=`.")
    refresh = serializers.CharField(help_text="Refresh token: renews the access token; logging out ends it.")
    user = UserPrivateOut()


class TokenRefreshOut(serializers.Serializer):
    access = serializers.CharField()
    access_expiration = serializers.DateTimeField()
    refresh = serializers.CharField(required=False, help_text="Only when refresh tokens rotate.")


class DetailOut(serializers.Serializer):
    detail = serializers.CharField()


class UserSearchInput(serializers.Serializer):
    q = serializers.CharField(max_length=100, help_text="A name's start, or a whole email address.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=50, default=20)


def block_data(block) -> dict:
    """A block of the caller's: whom (``blocked`` loaded) and since when."""
    return {"user": user_public(block.blocked), "created_at": block.created_at.isoformat().replace("+00:00", "Z")}


class BlockInput(serializers.Serializer):
    user_id = serializers.UUIDField(help_text="The user to block.")


class BlockOut(serializers.Serializer):
    user = UserPublicOut(help_text="The blocked user.")
    created_at = serializers.DateTimeField()


# --- Signed-in sessions (useraccount.sessions)


def timestamp(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def session_data(session, *, current_sid: str | None) -> dict:
    """A session as its user sees it: the client last seen on it (its last refresh, else its sign-in)."""
    user_agent = session.last_user_agent or session.user_agent
    return {
        "id": str(session.id),
        "current": current_sid is not None and session.sid == current_sid,
        "device": device_label(user_agent),
        "user_agent": user_agent,
        "address": session.last_address or session.address,
        "signed_in_address": session.address,
        "created_at": timestamp(session.created_at),
        "last_used_at": timestamp(session.last_used_at),
        "expires_at": timestamp(session.expires_at),
    }


class LoginSessionOut(serializers.Serializer):
    id = serializers.UUIDField(help_text="For `DELETE /api/auth/sessions/<id>/`.")
    current = serializers.BooleanField(help_text="The session of the token this request carries.")
    device = serializers.CharField(help_text='Browser and system from the User-Agent ("Firefox on Linux"), or its first word.')
    user_agent = serializers.CharField(help_text="The User-Agent of its last refresh, else of its sign-in (≤ 256 characters).")
    address = serializers.CharField(help_text="The client address of its last refresh, else of its sign-in, as seen through TRUSTED_PROXIES.")
    signed_in_address = serializers.CharField(help_text="The client address it signed in from.")
    created_at = serializers.DateTimeField(help_text="When it signed in.")
    last_used_at = serializers.DateTimeField(
        help_text="Its last refresh or socket connect (written at most once per SESSION_LAST_USED_SECONDS)."
    )
    expires_at = serializers.DateTimeField(help_text="When its refresh token expires.")


# --- Bots and API keys (useraccount.bots)


def bot_data(bot) -> dict:
    return {
        "id": str(bot.id), "name": bot.display_name, "avatar_url": avatar_url(bot), "is_bot": True,
        "is_active": bot.is_active, "created_at": timestamp(bot.date_joined),
    }


def api_key_data(key, *, secret: str | None = None) -> dict:
    data = {
        "id": str(key.id), "name": key.name, "prefix": key.prefix, "scopes": key.scopes.split(),
        "created_at": timestamp(key.created_at), "last_used_at": timestamp(key.last_used_at),
        "revoked_at": timestamp(key.revoked_at),
    }
    if secret is not None:
        data["key"] = secret
    return data


SCOPE_CHOICES = [("read", "GET, HEAD, OPTIONS"), ("write", "POST, PUT, PATCH, DELETE")]


class BotInput(serializers.Serializer):
    name = serializers.CharField(max_length=255, help_text="The name people see on its messages.")


class BotOut(serializers.Serializer):
    id = serializers.UUIDField(help_text="Add it to a group with `POST /api/chat/<id>/members/`.")
    name = serializers.CharField()
    avatar_url = serializers.CharField()
    is_bot = serializers.BooleanField()
    is_active = serializers.BooleanField(help_text="Off (in the admin): every key of it is refused.")
    created_at = serializers.DateTimeField()


class ApiKeyInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="", help_text="What it is for.")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SCOPE_CHOICES), min_length=1, max_length=2,
        help_text="`read`: GET, HEAD, OPTIONS requests; `write`: every other request.",
    )


class ApiKeyOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's first characters after `ck_`, to tell keys apart.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPE_CHOICES))
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(
        allow_null=True, help_text="Its last request, to API_KEY_LAST_USED_SECONDS (written at most once per that)."
    )
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiKeyCreatedOut(ApiKeyOut):
    key = serializers.CharField(help_text="The key, `ck_<prefix>_<secret>`: shown here once, never again.")
