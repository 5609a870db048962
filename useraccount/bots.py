"""
Bot accounts and their API keys: made by staff (the admin, or the staff-only
``/api/bots/`` endpoints), used by integrations (docs/integrations.md).

    bot = bot_create(name="Weather", created_by=staff)
    key, secret = api_key_create(bot=bot, name="prod", scopes=["read", "write"], created_by=staff)
    # secret is shown once: "ck_<prefix>_<secret>"; only its prefix and HMAC are kept
    api_key_authenticate(raw=secret)  # -> the key (bot loaded), or None

A bot is a ``User`` with ``is_bot`` set and no usable password: it cannot
sign in, and it never gets a refresh token or a session. It acts through
the REST API with ``Authorization: Api-Key <key>`` (useraccount.authentication),
in the conversations it was added to, as any member would.

Keys are 32 random bytes: too many to guess, so what is stored is a keyed
HMAC-SHA256 (keyed with the server's SECRET_KEY), found by the key's
``prefix``. PBKDF2 or another deliberately slow hash protects low-entropy
passwords against guessing; here it would only make every API request pay
its hundreds of milliseconds (and hand anyone who sends bad keys a way to
burn the server's CPU) without making a random 256-bit key any harder to find.
"""

import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from core.errors import InvalidInput, NotFound
from core.validation import uuid_or_none

from .models import ApiKey, User

# What a key may do: ``read`` the API's GET (and HEAD, OPTIONS) endpoints;
# ``write`` everything else (send, edit, delete, react, read positions, ...).
SCOPES = {"read": "GET, HEAD and OPTIONS requests", "write": "every other request (POST, PUT, PATCH, DELETE)"}
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KEY_MARK = "ck_"
PREFIX_LENGTH = 12
_SALT = "useraccount.bots.api_key"


def scope_for_method(method: str) -> str:
    """The scope a request of this HTTP method needs."""
    return "read" if method.upper() in READ_METHODS else "write"


def bots() -> QuerySet[User]:
    return User.objects.filter(is_bot=True)


def bot_email(user_id) -> str:
    """A bot's login field: unique, never a mailbox (.invalid), never used to sign in."""
    return f"bot-{user_id.hex}@bots.invalid"


def bot_create(*, name: str, created_by: User | None = None) -> User:
    """A bot account named ``name``: no password (it cannot sign in), not staff."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("A bot needs a name.", field="name")
    user = as_bot(User(name=name[:255]))
    user.save()
    return user


def as_bot(user: User) -> User:
    """An unsaved user made a bot: its ``.invalid`` email, no usable password, never staff."""
    user.is_bot, user.is_staff, user.is_superuser = True, False, False
    user.email = bot_email(user.id)
    user.set_unusable_password()
    return user


def bot_get(*, bot_id) -> User:
    parsed = uuid_or_none(bot_id)
    bot = bots().filter(id=parsed).first() if parsed else None
    if bot is None:
        raise NotFound("No such bot.")
    return bot


def _digest(raw: str, secret: str | None = None) -> str:
    return salted_hmac(_SALT, raw, secret=secret, algorithm="sha256").hexdigest()


def _valid_scopes(scopes) -> str:
    wanted = list(dict.fromkeys(scopes or ()))
    unknown = [scope for scope in wanted if scope not in SCOPES]
    if not wanted or unknown:
        raise InvalidInput(
            f"Scopes are one or more of {', '.join(SCOPES)}.", code="invalid_scope", field="scopes"
        )
    return " ".join(scope for scope in SCOPES if scope in wanted)


def api_key_create(*, bot: User, scopes, name: str = "", created_by: User | None = None) -> tuple[ApiKey, str]:
    """
    A new key for ``bot``: ``(row, key)``. The key is returned here and
    nowhere else again. At most API_KEYS_PER_BOT working keys a bot
    (``too_many_keys``).
    """
    if not bot.is_bot:
        raise InvalidInput("Only bots have API keys.", code="not_a_bot")
    scope_text = _valid_scopes(scopes)
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    raw = f"{KEY_MARK}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        # The bot's row, locked: two keys made at once cannot both take the last place.
        User.objects.select_for_update().filter(id=bot.id).first()
        limit = settings.API_KEYS_PER_BOT
        if ApiKey.objects.filter(bot=bot, revoked_at__isnull=True).count() >= limit:
            raise InvalidInput(
                f"A bot may have at most {limit} working API keys; revoke one first.", code="too_many_keys"
            )
        key = ApiKey.objects.create(
            bot=bot, name=(name or "").strip()[:100], prefix=prefix, digest=_digest(raw),
            scopes=scope_text, created_by=created_by,
        )
    return key, raw


def api_key_revoke(*, bot: User, key_id) -> ApiKey:
    """The key stops working at once (its next request is a 401). Revoking again changes nothing."""
    parsed = uuid_or_none(key_id)
    key = ApiKey.objects.filter(bot=bot, id=parsed).first() if parsed else None
    if key is None:
        raise NotFound("No such API key.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        ApiKey.objects.filter(id=key.id, revoked_at__isnull=True).update(revoked_at=key.revoked_at)
    return key


def api_key_list(*, bot: User) -> QuerySet[ApiKey]:
    """A bot's keys, newest first, revoked ones included (bounded: revoked keys stay as a record)."""
    return ApiKey.objects.filter(bot=bot).order_by("-created_at")


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """
    The working key ``raw`` is, with its bot (an active bot), or None. Its
    ``last_used_at`` is written when older than API_KEY_LAST_USED_SECONDS:
    at most one write a key per that many seconds, whatever the traffic.
    """
    if not raw.startswith(KEY_MARK):
        return None
    prefix = raw[len(KEY_MARK):len(KEY_MARK) + PREFIX_LENGTH]
    key = (
        ApiKey.objects.select_related("bot")
        .filter(prefix=prefix, revoked_at__isnull=True, bot__is_active=True, bot__is_bot=True)
        .first()
    )
    if key is None or not _matches(raw, key.digest):
        return None
    now = timezone.now()
    stale = now - timedelta(seconds=settings.API_KEY_LAST_USED_SECONDS)
    if key.last_used_at is None or key.last_used_at < stale:
        ApiKey.objects.filter(id=key.id).filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)).update(
            last_used_at=now
        )
        key.last_used_at = now
    return key


def _matches(raw: str, digest: str) -> bool:
    """Whether ``raw`` hashes to ``digest`` with the secret key, or one it replaced (SECRET_KEY_FALLBACKS)."""
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())):
        if hmac.compare_digest(_digest(raw, secret), digest):
            return True
    return False
