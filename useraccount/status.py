"""
A user's status: a short text and an emoji (one emoji, or a ``:short_code:``
a client maps to its own set), until an optional time. Shown wherever the
user is shown (``status`` in user JSON: useraccount.serializers.user_public,
read off the user row, so no query of its own) and announced, as a
``user.status`` frame, to everyone who sees the user's presence (their
conversations, but the direct ones a block closes: chat.accounts) and to the
user's own other sockets.

An expired status is simply not shown: ``status_data`` checks the time when it
reads, so nothing has to clear it (clients are given ``expires_at`` and drop
it themselves when the time comes).

    user_status_set(user=me, text="In a meeting", emoji="\U0001f4c5", expires_at=in_an_hour)
    user_status_clear(user=me)
"""

import re
from datetime import datetime, timedelta

import emoji as emoji_data
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import hooks
from core.errors import InvalidInput
from core.groups import user_group
from core.outbox import Outbox, with_outbox
from core.validation import storable_text

from . import events
from .models import User

SHORT_CODE = re.compile(r"^:[a-z0-9_+\-]+:$")


def status_data(user: User, now: datetime | None = None) -> dict | None:
    """``{text, emoji, expires_at}`` of the user's status while it holds, else None."""
    if not (user.status_text or user.status_emoji):
        return None
    expires = user.status_expires_at
    if expires is not None and expires <= (now or timezone.now()):
        return None
    return {
        "text": user.status_text,
        "emoji": user.status_emoji,
        "expires_at": expires.isoformat().replace("+00:00", "Z") if expires is not None else None,
    }


def _text(value) -> str:
    value = "" if value is None else value
    limit = settings.USER_STATUS_TEXT_MAX_LENGTH
    if not isinstance(value, str) or not storable_text(value) or "\n" in value:
        raise InvalidInput("The status text must be one line of text.", code="invalid_status", field="text")
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"The status text is longer than {limit} characters.", code="status_too_long", field="text")
    return value


def _emoji(value) -> str:
    value = "" if value is None else value
    if not isinstance(value, str):
        raise InvalidInput("emoji must be text.", code="invalid_emoji", field="emoji")
    value = value.strip()
    if not value:
        return ""
    too_long = len(value) > settings.USER_STATUS_EMOJI_MAX_LENGTH
    if too_long or not (emoji_data.is_emoji(value) or SHORT_CODE.match(value)):
        raise InvalidInput(
            f"emoji must be one emoji or a :short_code: of at most {settings.USER_STATUS_EMOJI_MAX_LENGTH} characters.",
            code="invalid_emoji", field="emoji",
        )
    return value


def _expiry(value: datetime | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    if value <= now:
        raise InvalidInput("expires_at must be in the future.", code="invalid_expiry", field="expires_at")
    if value > now + timedelta(days=366):
        raise InvalidInput("expires_at must be within a year; leave it out to keep the status until cleared.",
                           code="invalid_expiry", field="expires_at")
    return value


@with_outbox
def user_status_set(*, user: User, text="", emoji="", expires_at: datetime | None = None, outbox: Outbox) -> User:
    """Set the user's status (both empty: clear it) and announce it. InvalidInput on a bad field."""
    now = timezone.now()
    text, emoji, expires_at = _text(text), _emoji(emoji), _expiry(expires_at, now)
    if not (text or emoji):
        expires_at = None
    with transaction.atomic():
        User.objects.filter(id=user.id).update(status_text=text, status_emoji=emoji, status_expires_at=expires_at)
        user.status_text, user.status_emoji, user.status_expires_at = text, emoji, expires_at
        event = events.user_status(user_id=user.id, status=status_data(user, now))
        # Their own sockets from their group; everyone else's from the conversations (chat.accounts).
        outbox.emit(user_group(user.id), {**event, "own": True})
        hooks.status_changed(user=user, event=event, outbox=outbox)
    return user


def user_status_clear(*, user: User) -> User:
    """Clear the user's status (none set: announced all the same, so every device agrees)."""
    return user_status_set(user=user, text="", emoji="", expires_at=None)
