"""
Signed-in sessions: one per refresh token (its ``jti``, the ``sid`` claim of
every access token made from it; useraccount.tokens), listed to their user
with the device, address and last use, and revocable one by one.

    tokens = session_start(user=user, user_agent=ua, address=ip)  # login, registration, new password
    session_refreshed(refresh=raw, user_agent=ua, address=ip)     # a token refresh
    session_list(user=user)                                       # GET /api/auth/sessions/
    session_revoke(user=user, session_id=id)                      # DELETE /api/auth/sessions/<id>/

"Last used" is written by a token refresh or a socket connect, at most once
per SESSION_LAST_USED_SECONDS per session (a conditional UPDATE that matches
nothing until then; sockets also skip the query when this process touched the
session within that time: ``SocketTouches``), never per request. Revoking a
session is logging it out: its refresh token is blacklisted, its access tokens
are refused at once (useraccount.authentication, and the sockets' opening
statement), and its open sockets close with 4401 (a ``session.revoked``
event to the user's group, as logout sends).

The address is the client's as ``TRUSTED_PROXIES`` lets the server see it
(core.proxies has already put it in ``REMOTE_ADDR``).
"""

import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)
from rest_framework_simplejwt.tokens import RefreshToken

from core.errors import NotFound
from core.groups import user_group
from core.outbox import Outbox, with_outbox
from core.validation import uuid_or_none

from . import events
from .models import LoginSession, User
from .tokens import SESSION_CLAIM, token_pair_for_user

USER_AGENT_MAX = LoginSession._meta.get_field("user_agent").max_length
ADDRESS_MAX = LoginSession._meta.get_field("address").max_length


def client_of(request) -> tuple[str, str]:
    """``(user_agent, address)`` of an HTTP request, each cut to what a session keeps."""
    meta = request.META
    return meta.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX], meta.get("REMOTE_ADDR", "")[:ADDRESS_MAX]


@with_outbox
def session_start(*, user: User, user_agent: str = "", address: str = "", outbox: Outbox) -> dict:
    """
    A new session's ``{access, refresh}``, recorded with the client's
    User-Agent and address. Past AUTH_SESSIONS_PER_USER live sessions, the
    least recently used ones end (as if logged out) to make room.
    """
    tokens = token_pair_for_user(user)
    refresh = RefreshToken(tokens["refresh"], verify=False)
    sid = refresh[SESSION_CLAIM]
    now = timezone.now()
    with transaction.atomic():
        # The user's row, locked: two sign-ins at once cannot both keep the oldest session.
        User.objects.select_for_update().filter(id=user.id).first()
        live = session_list(user=user).order_by("-last_used_at", "-created_at")
        for old in live[settings.AUTH_SESSIONS_PER_USER - 1:]:
            _end(old, outbox=outbox)
        LoginSession.objects.create(
            user=user, token=OutstandingToken.objects.get(jti=sid), sid=sid,
            user_agent=user_agent[:USER_AGENT_MAX], last_user_agent=user_agent[:USER_AGENT_MAX],
            address=address[:ADDRESS_MAX], last_address=address[:ADDRESS_MAX],
            created_at=now, last_used_at=now,
            expires_at=datetime.fromtimestamp(refresh["exp"], tz=dt_timezone.utc),
        )
    return tokens


def _stale_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.SESSION_LAST_USED_SECONDS)


def session_refreshed(*, refresh: str, user_agent: str = "", address: str = "") -> None:
    """A refresh token was used: its session's last use, User-Agent and address (at most once per SESSION_LAST_USED_SECONDS)."""
    try:
        sid = RefreshToken(refresh, verify=False).payload.get(SESSION_CLAIM)
    except TokenError:
        return
    if sid:
        LoginSession.objects.filter(sid=sid, last_used_at__lt=_stale_before()).update(
            last_used_at=timezone.now(), last_user_agent=user_agent[:USER_AGENT_MAX],
            last_address=address[:ADDRESS_MAX],
        )


def session_touch(*, sid: str) -> None:
    """A socket opened with the session's token: its last use (at most once per SESSION_LAST_USED_SECONDS)."""
    LoginSession.objects.filter(sid=sid, last_used_at__lt=_stale_before()).update(last_used_at=timezone.now())


def last_used_params() -> dict:
    """``session_touch``'s two times, for a statement that notes a session's use itself (chat.conversations.opening)."""
    return {"used_at": timezone.now(), "stale_before": _stale_before()}


class SocketTouches:
    """
    Which sessions this process wrote "last used" for lately, so a socket
    connect queries only when SESSION_LAST_USED_SECONDS have passed for its
    session here. Bounded: past ``limit`` sessions it starts over (a few
    extra conditional UPDATEs, never a wrong answer).

        if touches.due(sid):
            await db(session_touch)(sid=sid)
    """

    def __init__(self, *, limit: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self._limit, self._clock = limit, clock
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, sid: str) -> bool:
        now = self._clock()
        with self._lock:
            last = self._touched.get(sid)
            if last is not None and now - last < settings.SESSION_LAST_USED_SECONDS:
                return False
            if len(self._touched) >= self._limit:
                self._touched.clear()
            self._touched[sid] = now
            return True


socket_touches = SocketTouches()


def session_list(*, user: User) -> QuerySet[LoginSession]:
    """The user's live sessions: not expired, not logged out or revoked."""
    return LoginSession.objects.filter(user=user, expires_at__gt=timezone.now()).exclude(
        Q(token__blacklistedtoken__isnull=False)
    )


@with_outbox
def session_revoke(*, user: User, session_id, outbox: Outbox) -> None:
    """
    End one of ``user``'s sessions: its refresh token is blacklisted (as
    logout does), its access tokens are refused at once, and its sockets
    close with 4401. NotFound for an id that is none of their live sessions.
    """
    parsed = uuid_or_none(session_id)
    session = session_list(user=user).filter(id=parsed).select_related("token").first() if parsed else None
    if session is None:
        raise NotFound("No such session.")
    with transaction.atomic():
        _end(session, outbox=outbox)


def _end(session: LoginSession, *, outbox: Outbox) -> None:
    BlacklistedToken.objects.get_or_create(token_id=session.token_id)
    LoginSession.objects.filter(id=session.id).delete()
    outbox.emit(user_group(session.user_id), events.session_revoked(user_id=session.user_id, session=session.sid))


def sessions_forget(*, user: User) -> None:
    """Every session of ``user`` ended at once (a new password, deactivation, deletion): none is listed."""
    LoginSession.objects.filter(user=user).delete()


def session_forget(*, sid: str) -> None:
    """One session logged out: no longer listed."""
    LoginSession.objects.filter(sid=sid).delete()


# --- What a User-Agent says, in a few words ("Firefox on Linux")

_BROWSERS = (
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/")),
    ("Opera", re.compile(r"\bOPR/|\bOpera\b")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/")),
    ("Chrome", re.compile(r"\b(?:Chrome|CriOS)/")),
    ("Safari", re.compile(r"\bVersion/[\d.]+.*\bSafari/")),
)
_SYSTEMS = (
    ("iOS", re.compile(r"\b(?:iPhone|iPad|iPod)\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Linux", re.compile(r"\bLinux\b")),
)


def device_label(user_agent: str) -> str:
    """A short name of the browser and system a User-Agent names, or its first word (an app's), or ""."""
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system
    return user_agent.split(" ", 1)[0][:64]
