"""
The custom user (UUID primary key, email as the login field), blocks, the
API keys of bot accounts and the signed-in sessions (one per refresh token).
"""

import uuid
from pathlib import PurePath

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.db import models


class CustomUserManager(UserManager):
    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email=None, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email=None, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


def avatar_path(user: "User", filename: str) -> str:
    """A random name: the uploaded file's own name (which may say who or what it is) is not published."""
    return f"avatars/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()}"


DELETED_USER_NAME = "Deleted user"


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=255, blank=True, default="")
    avatar = models.ImageField(upload_to=avatar_path, blank=True, null=True)

    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(auto_now_add=True)
    # Set when the user deleted their account (useraccount.services.user_delete):
    # the row stays, anonymised, because their messages stay in other people's
    # histories; they are shown as "Deleted user".
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Off: the user's read positions are not shown to others, and others'
    # are not shown to them (docs/protocol.md, "Delivery and read receipts").
    read_receipts = models.BooleanField(default=True)
    # A bot account (useraccount.bots): made by staff, no password (it cannot
    # sign in), authenticates with its API keys; shown as ``is_bot`` wherever
    # it is a message's sender (docs/integrations.md).
    is_bot = models.BooleanField(default=False)
    # A status others see beside the name (useraccount.status): text and an emoji, until
    # ``status_expires_at`` (none: until cleared). An expired one is not shown; nothing deletes it.
    status_text = models.CharField(max_length=255, blank=True, default="")
    status_emoji = models.CharField(max_length=64, blank=True, default="")
    status_expires_at = models.DateTimeField(null=True, blank=True)

    objects = CustomUserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    def __str__(self):
        return self.name or self.email

    def clean(self):
        super().clean()
        # Logins and registration look emails up in lower case (see the manager);
        # forms such as the admin's must store them so too, or the user cannot log in.
        self.email = (self.email or "").strip().lower()

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def display_name(self) -> str:
        """
        The name others see. Without one, a label made from the public id:
        nothing of the email address, and different for every user, since
        the original tutorial client tells its own messages by name.
        A deleted account is "Deleted user".
        """
        if self.deleted_at is not None:
            return DELETED_USER_NAME
        return self.name or f"User {self.id.hex[:8]}"


class Block(models.Model):
    """``blocker`` has blocked ``blocked``: no direct chat from them, no notifications or pushes of theirs."""

    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocked_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="unique_block"),
            models.CheckConstraint(condition=~models.Q(blocker=models.F("blocked")), name="block_not_self"),
        ]

    def __str__(self):
        return f"{self.blocker} blocks {self.blocked}"


class ApiKey(models.Model):
    """
    A bot's API key (useraccount.bots). The key itself is shown once, when it
    is made; what is kept is its ``prefix`` (to find the row) and an HMAC-SHA256
    of the whole key (to check it). ``scopes``: space-separated, of
    useraccount.bots.SCOPES.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bot = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    scopes = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Written at most once per API_KEY_LAST_USED_SECONDS per key, not per request.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [models.Index(fields=["bot", "-created_at"], name="apikey_bot_created")]

    def __str__(self):
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class LoginSession(models.Model):
    """
    A signed-in session: one refresh token (its ``jti`` is the ``sid`` claim
    of every access token made from it; useraccount.tokens). Deleted with its
    outstanding token (``manage.py flushexpiredtokens``); revoked by
    blacklisting it (useraccount.sessions).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    token = models.OneToOneField("token_blacklist.OutstandingToken", on_delete=models.CASCADE, related_name="login_session")
    sid = models.CharField(max_length=255, unique=True)
    user_agent = models.CharField(max_length=256, blank=True, default="")
    last_user_agent = models.CharField(max_length=256, blank=True, default="")
    address = models.CharField(max_length=45, blank=True, default="")
    last_address = models.CharField(max_length=45, blank=True, default="")
    created_at = models.DateTimeField()
    # Written by a token refresh or a socket connect, at most once per
    # SESSION_LAST_USED_SECONDS (useraccount.sessions), never per request.
    last_used_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "-last_used_at"], name="loginsession_user_used")]

    def __str__(self):
        return f"{self.user} since {self.created_at:%Y-%m-%d %H:%M}"


class BotManager(CustomUserManager):
    def get_queryset(self):
        return super().get_queryset().filter(is_bot=True)


class Bot(User):
    """Bot accounts, for their own page in the admin (useraccount.bot_admin)."""

    objects = BotManager()

    class Meta:
        proxy = True
