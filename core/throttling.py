"""
Rate limits of the REST API: DRF throttles, one scope per limit, counted in
Django's default cache (Redis with ``REDIS_URL``, so every server process
shares the counts; else this process's memory).

    class LoginView(APIView):
        throttle_classes = [LoginIPThrottle, LoginEmailThrottle]

Rates live in ``settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` under the
throttle's ``scope`` and are read on every request, so a settings override
takes effect at once. They take the one rate syntax of core.rates (``60/min``,
``3/10s``, ...), the sockets' too; ``None``, ``""``, ``"0"`` or ``"off"``
switch a limit off. A refused request raises DRF's ``Throttled``, which core.rest turns into
a 429 ``{"code": "throttled", "detail", "retry_after"}`` with ``Retry-After``.

The counts are a list of timestamps per key (DRF's sliding window), read and
written without a lock: two requests at the same instant may both pass the
last free slot. A limit can be overshot by a request or two under a burst,
never by more.

If the cache fails (Redis down or not answering within its socket timeout)
the throttles fail open: requests are allowed, one warning is logged when the
outage starts and one line when it ends, and the cache is not tried again for
``RETRY_INTERVAL`` seconds, so a hanging Redis costs one timeout per interval
rather than one per request.
"""

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core import metrics
from core.rates import Rate, configured_rate

logger = logging.getLogger(__name__)

RETRY_INTERVAL = 5.0


class FailOpenCache:
    """
    The ``get``/``set`` a throttle needs, on a Django cache, failing open: an
    error reads as "no requests counted" and drops the write.

        cache = FailOpenCache(clock=fake_clock)
        cache.get("key", [])  # [] while the backend is failing, one warning per outage
    """

    def __init__(
        self,
        *,
        backend: Callable[[], object] = lambda: caches["default"],
        retry_interval: float = RETRY_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._backend = backend
        self._retry_interval = retry_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._down_until: float | None = None  # set while failing: when to try again

    @property
    def is_down(self) -> bool:
        return self._down_until is not None

    def get(self, key: str, default=None):
        return self._call(lambda cache: cache.get(key, default), fallback=default)

    def set(self, key: str, value, timeout=None) -> None:
        # Whole seconds, rounded up: Redis would read a period under a second as 0 (delete).
        timeout = None if timeout is None else math.ceil(timeout)
        self._call(lambda cache: cache.set(key, value, timeout), fallback=None)

    def _call(self, operation, *, fallback):
        if self._down_until is not None and self._clock() < self._down_until:
            return fallback
        try:
            result = operation(self._backend())
        except Exception as error:  # any backend failure: connection, timeout, protocol
            self._failed(error)
            return fallback
        if self._down_until is not None:
            self._recovered()
        return result

    def _failed(self, error: Exception) -> None:
        with self._lock:
            started = self._down_until is None
            self._down_until = self._clock() + self._retry_interval
        if started:
            logger.warning(
                "REST rate limits are off: the cache failed (%s: %s); requests are allowed "
                "until it answers again",
                type(error).__name__,
                error,
            )

    def _recovered(self) -> None:
        with self._lock:
            ended = self._down_until is not None
            self._down_until = None
        if ended:
            logger.info("REST rate limits are back on: the cache answers again")


throttle_cache = FailOpenCache()


class FailOpenRateThrottle(SimpleRateThrottle):
    """
    DRF's sliding-window throttle with the project's rules: the rate read from
    the settings at each request in core.rates' syntax (off for "", "0",
    "off"), the fail-open cache, an exact wait, and optionally only some HTTP
    ``methods`` counted.
    """

    cache = throttle_cache
    methods: frozenset[str] | None = None

    def get_rate(self) -> Rate | None:
        try:
            text = api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No throttle rate set for the {self.scope!r} scope")
        try:
            return configured_rate(text)
        except ValueError as error:
            raise ImproperlyConfigured(f"The throttle rate of the {self.scope!r} scope: {error}") from None

    def parse_rate(self, rate: Rate | None) -> tuple[int | None, float | None]:
        """(count, seconds) of the rate get_rate parsed, instead of DRF's own "N/unit" reading."""
        return (None, None) if rate is None else (rate.count, rate.period)

    def allow_request(self, request, view) -> bool:
        if self.methods is not None and request.method not in self.methods:
            return True
        if super().allow_request(request, view):
            return True
        metrics.RATE_LIMITED.labels(f"rest_{self.scope}").inc()
        return False

    def wait(self) -> float:
        """Seconds until the oldest request that keeps the caller at the limit leaves the window."""
        oldest_counted = self.history[self.num_requests - 1]
        # Clamped: another server process's clock may be a little off.
        return min(max(self.duration - (self.now - oldest_counted), 1.0), float(self.duration))

    def key_for(self, ident: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ClientIPThrottle(FailOpenRateThrottle):
    """Counts per client address (REMOTE_ADDR, or X-Forwarded-For with NUM_PROXIES)."""

    def get_cache_key(self, request, view) -> str:
        return self.key_for(self.get_ident(request))


class UserThrottle(FailOpenRateThrottle):
    """
    Counts per authenticated user; an anonymous request per client address.
    A bot (a user with ``is_bot``, signed in with an API key) is counted under
    ``bot_scope`` instead when the throttle has one: bots have their own
    limits (``THROTTLE_BOT``, ``THROTTLE_BOT_MESSAGE_SEND``), apart from people's.
    """

    scope = "user"
    bot_scope: str | None = "bot"

    def allow_request(self, request, view) -> bool:
        if self.bot_scope is not None and getattr(request.user, "is_bot", False):
            # An instance lives for one request (DRF makes them per request): safe to switch.
            self.scope = self.bot_scope
            self.rate = self.get_rate()
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        if request.user is not None and request.user.is_authenticated:
            return self.key_for(f"user-{request.user.pk}")
        return self.key_for(self.get_ident(request))


class LoginIPThrottle(ClientIPThrottle):
    scope = "login_ip"


class EmailThrottle(FailOpenRateThrottle):
    """Counts per email address given in the request's ``email`` field, whatever address the request comes from."""

    def get_cache_key(self, request, view) -> str | None:
        data = request.data
        email = data.get("email") if isinstance(data, Mapping) else None
        if not isinstance(email, str):
            return None  # the view refuses the request anyway
        return self.key_for(email_key(email))


def email_key(email: str) -> str:
    """Normalised as login looks the user up; hashed to bound the key's length (and keep addresses out of the cache)."""
    return hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()


class LoginEmailThrottle(EmailThrottle):
    """
    Counts login attempts per email address, whatever address they come from,
    so guessing one account's password from many machines is limited too.
    """

    scope = "login_email"


class AccountPasswordThrottle(LoginEmailThrottle):
    """
    Counts, on the caller's own account, the requests that prove the password
    (changing it, deleting the account) as login attempts with that account's
    email: one budget, so a stolen access token cannot be used to guess the
    password faster than logging in could.
    """

    def get_cache_key(self, request, view) -> str | None:
        if request.user is None or not request.user.is_authenticated:
            return None  # refused as unauthenticated anyway
        return self.key_for(email_key(request.user.email))


class PasswordResetIPThrottle(ClientIPThrottle):
    scope = "password_reset_ip"


class PasswordResetEmailThrottle(EmailThrottle):
    """Reset emails per address asked for, whether or not it has an account: nobody floods one inbox."""

    scope = "password_reset_email"


class RegisterThrottle(ClientIPThrottle):
    scope = "register"


class TokenRefreshThrottle(ClientIPThrottle):
    scope = "token_refresh"


class MessageSendThrottle(UserThrottle):
    scope = "message_send"
    bot_scope = "bot_message_send"
    methods = frozenset({"POST"})


class UserLookupThrottle(UserThrottle):
    scope = "user_lookup"
    bot_scope = None  # bots are held to it as people are


class UserSearchThrottle(UserThrottle):
    scope = "user_search"
    bot_scope = None  # bots are held to it as people are


class MessageSearchThrottle(UserThrottle):
    scope = "message_search"
    bot_scope = None  # bots are held to it as people are


class AttachmentUploadThrottle(UserThrottle):
    scope = "attachment_upload"
    bot_scope = None  # bots are held to it as people are


class InviteJoinThrottle(UserThrottle):
    """Joins with invite links per user, every attempt counted (a user trying links one after another included)."""

    scope = "invite_join"
    bot_scope = None


class ReportThrottle(UserThrottle):
    """
    Reports made, per user. Only those count: ``allow_request`` refuses a
    caller at the limit but records nothing, and the view calls ``record``
    once it has made a report, so an attempt refused as invalid (or about
    something not found), or a repeat of one's open report, costs nothing.

        if created:
            ReportThrottle().record(request, self)
    """

    scope = "report"
    bot_scope = None
    methods = frozenset({"POST"})

    def throttle_success(self) -> bool:
        return True  # counted by record(), once a report is made

    def record(self, request, view) -> None:
        """Count a report just made against its reporter's limit."""
        if self.rate is None:
            return
        key = self.get_cache_key(request, view)
        now = self.timer()
        # Read again rather than reuse allow_request's: other reports may have been counted meanwhile.
        history = [stamp for stamp in self.cache.get(key, []) if stamp > now - self.duration]
        self.cache.set(key, [now, *history], self.duration)
