"""
Settings, read from the environment only.

With no variable set this is the embedded default: DEBUG on, a SQLite file next
to manage.py and the in-memory channel layer. Production sets DJANGO_DEBUG=0,
DJANGO_SECRET_KEY, DATABASE_URL (PostgreSQL) and REDIS_URL. Every variable is
listed with a comment in .env.example and in the README's table.
"""

import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio.retry import Retry as RedisRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from core.env import Env, networks, rate, redis_urls

BASE_DIR = Path(__file__).resolve().parent.parent
# Typed reads (django-environ): a value that does not parse stops the server
# at once, naming its variable; a number or switch set to nothing is its default.
env = Env()


# --- Core -------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=True)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off")
    # Only ever used with DEBUG on; tokens signed with it are worthless elsewhere.
    SECRET_KEY = "insecure-embedded-default-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else [],
)

# Browser origins (scheme://host[:port], or *) allowed to call the API (CORS)
# and to open WebSockets. Pages of the server's own origin (e.g. the admin)
# are always allowed; clients that send no Origin header at all (mobile apps,
# servers) are not checked.
ALLOWED_ORIGINS = env.list(
    "DJANGO_ALLOWED_ORIGINS",
    default=["http://localhost:3000", "http://127.0.0.1:3000"] if DEBUG else [],
)
# CORS decides by the same rule as sockets (chat.sockets.origins, through
# django-cors-headers' signal), so its own lists stay empty. A cross-origin page
# must be able to read the Link header to page lists, and Retry-After on a 429.
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_EXPOSE_HEADERS = ["Link", "Retry-After", "X-Request-ID"]
CSRF_TRUSTED_ORIGINS = [origin for origin in ALLOWED_ORIGINS if origin != "*"]

INSTALLED_APPS = [
    "core",  # first: its runserver (daphne's, with the connection limits) wins
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc files, served locally (no CDN)
    "dalf",  # the admin's autocomplete list filters (chat.admin)
    "channels",
    "useraccount",
    "chat",
]

MIDDLEWARE = [
    # First: health checks and /metrics answer whatever the Host header says
    # (probes address the container by IP); nothing below runs for them.
    "core.probes.ProbeMiddleware",
    # Views outside DRF: an unreachable database answers 503 (DRF's own views: core.rest).
    "core.rest.DatabaseOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.public_urls.PublicOriginMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
ASGI_APPLICATION = "backend.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

# Worker threads that run the sockets' database work (core.runtime.asyncdb).
DATABASE_THREADS = env.int("DATABASE_THREADS", default=8)
# PostgreSQL: the sockets' hot paths (checking a token and a membership when
# connecting, saving a plain text message in one statement: chat.messages.send)
# query from the event loop on DATABASE_LOOP_CONNECTIONS connections per
# server process instead of a worker thread. Off: everything on the threads.
DATABASE_LOOP_QUERIES = env.bool("DATABASE_LOOP_QUERIES", default=True)
DATABASE_LOOP_CONNECTIONS = env.int("DATABASE_LOOP_CONNECTIONS", default=4)
# Prepared statements on those connections (off behind a pooler in
# transaction mode that does not keep them, such as PgBouncer before 1.21).
DATABASE_LOOP_PREPARED = env.bool("DATABASE_LOOP_PREPARED", default=True)

DATABASES = {
    "default": dj_database_url.parse(
        env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env.int("DATABASE_CONN_MAX_AGE", default=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock when a transaction starts, so two
        # writers queue on the busy timeout instead of failing with
        # "database is locked" when a read lock cannot be upgraded.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool("DATABASE_POOL", default=True):
    # Sockets run their queries on a pool of worker threads; a connection
    # pool hands each query a ready connection instead of opening one per
    # query (CONN_MAX_AGE=0) or pinning one per thread.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env.int("DATABASE_POOL_SIZE", default=DATABASE_THREADS + 4),
        "timeout": 10,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer ----------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
# With Redis: "pubsub" (RedisPubSubChannelLayer, the default) publishes each
# group message once per group and lets every process fan it out to its own
# sockets; "lists" (RedisChannelLayer) queues one copy per receiving socket in
# Redis and drops copies for sockets whose queue is over capacity. Measured in
# docs/benchmarks.md. Either way a dropped frame is refilled from the database
# (see docs/protocol.md, "Delivery guarantees").
CHANNEL_LAYER = env.str("CHANNEL_LAYER", default="pubsub", choices=("pubsub", "lists"))
# The channel layer's Redis servers. With several, channels-redis puts each
# group (and channel) on one of them by a hash of its name, so the publishes
# and the subscriptions are spread over the servers (docs/scaling.md,
# "Sharding the channel layer": what it costs, and what one shard down does);
# every process must list the same servers in the same order. Presence, rate
# limits, the cache and the push queue stay on REDIS_URL, which is required:
# without it they would be per process, and several processes would disagree.
CHANNEL_LAYER_REDIS_URLS = env("CHANNEL_LAYER_REDIS_URLS", cast=redis_urls, default="")
if CHANNEL_LAYER_REDIS_URLS and not REDIS_URL:
    raise ImproperlyConfigured(
        "CHANNEL_LAYER_REDIS_URLS needs REDIS_URL: presence, rate limits and the push queue are kept there"
    )
CHANNEL_LAYER_REDIS_URLS = CHANNEL_LAYER_REDIS_URLS or ([REDIS_URL] if REDIS_URL else [])
# Seconds a Redis call may take (connecting, or waiting for an answer) before
# it counts as failed: a Redis that hangs costs each caller this long, never
# an indefinite stall (docs/operations: "When Redis is down").
REDIS_TIMEOUT = env.int("REDIS_TIMEOUT", default=2)
# A call that fails with a ConnectionError (a pooled connection left over from
# before a Redis restart, or one found holding an answer it should not) is
# tried once more on a new connection; timeouts are not retried, so a hung
# Redis still costs a caller REDIS_TIMEOUT once. Presence's pooled connections
# idle for REDIS_HEALTH_CHECK_INTERVAL seconds are also checked with a PING
# before use. The channel layer's are not: its subscriber connection reads
# pub/sub messages, and redis-py's PING check on it can read a subscription
# reply instead of PONG (redis/redis-py#1720, #1740) and refuse a socket.
REDIS_HEALTH_CHECK_INTERVAL = 10
REDIS_RETRY = RedisRetry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
# /metrics (core.metrics): answered to requests with "Authorization: Bearer
# <METRICS_TOKEN>" (when set) or from METRICS_ALLOWED_NETWORKS (comma-separated
# addresses or CIDR networks; by default this host only; "" for none). The
# client address is the connection's, or X-Forwarded-For's from TRUSTED_PROXIES.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed
# (core.proxies): comma-separated addresses or networks; none by default.
TRUSTED_PROXIES = env("TRUSTED_PROXIES", cast=networks, default="")
if env.str("NUM_PROXIES", default=""):
    raise ImproperlyConfigured(
        "NUM_PROXIES is replaced by TRUSTED_PROXIES: list your reverse proxies' addresses or networks "
        "(e.g. TRUSTED_PROXIES=10.0.0.0/8); X-Forwarded-For is believed only from them."
    )
METRICS_ALLOWED_NETWORKS = env("METRICS_ALLOWED_NETWORKS", cast=networks, default="127.0.0.0/8,::1/128")
# Seconds /health/ready waits for PostgreSQL's and Redis's answers (core.health).
HEALTH_CHECK_TIMEOUT = env.int("HEALTH_CHECK_TIMEOUT", default=2, minimum=1)
REDIS_CONNECTION_OPTIONS = {
    "socket_connect_timeout": REDIS_TIMEOUT,
    "socket_timeout": REDIS_TIMEOUT,
    "retry": REDIS_RETRY,
}
if REDIS_URL and CHANNEL_LAYER == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            # channels-redis' pub/sub layer, sockets' own channels in-process (core.runtime.channel_layer)
            "BACKEND": "core.runtime.channel_layer.ProcessLocalChannelsLayer",
            "CONFIG": {"hosts": [{"address": url, **REDIS_CONNECTION_OPTIONS} for url in CHANNEL_LAYER_REDIS_URLS]},
        }
    }
elif REDIS_URL and CHANNEL_LAYER == "lists":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # No socket_timeout: receiving blocks in Redis for seconds by design.
                "hosts": [
                    {"address": url, "socket_connect_timeout": REDIS_TIMEOUT, "retry": REDIS_RETRY}
                    for url in CHANNEL_LAYER_REDIS_URLS
                ],
                "capacity": env.int("CHANNEL_LAYER_CAPACITY", default=1000),
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": env.int("CHANNEL_LAYER_CAPACITY", default=1000)},
        }
    }

# --- Cache ------------------------------------------------------------------

# Holds the REST rate-limit counts (core.throttling). On Redis every server
# process shares them; in memory each process counts on its own. The short
# socket timeouts bound what a hanging Redis costs a request: the throttles
# fail open and stop asking it for a few seconds.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            # One entry per client address or user and limit; the default 300
            # would forget counts (and so loosen limits) past a few hundred clients.
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }

# --- Accounts and tokens ----------------------------------------------------

AUTH_USER_MODEL = "useraccount.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SIMPLE_JWT = {
    # An hour, as the original tutorial backend: its frontend keeps the access
    # token in a cookie for 60 minutes and refreshes only once the cookie is gone.
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TOKEN_LIFETIME", default=60 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        seconds=env.int("JWT_REFRESH_TOKEN_LIFETIME", default=7 * 24 * 60 * 60)
    ),
    "ROTATE_REFRESH_TOKENS": False,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # Tokens carry a hash of the password hash: changing the password revokes them all.
    "CHECK_REVOKE_TOKEN": True,
}

# Password reset (useraccount.services.password_reset_request): the emailed
# link is this frontend URL with {uid} and {token} filled in; the link works
# once, for PASSWORD_RESET_TIMEOUT seconds (Django's setting; an hour here).
PASSWORD_RESET_URL = env.str(
    "PASSWORD_RESET_URL", default="http://localhost:3000/reset-password?uid={uid}&token={token}"
).strip()
if "{uid}" not in PASSWORD_RESET_URL or "{token}" not in PASSWORD_RESET_URL:
    raise ImproperlyConfigured(f"PASSWORD_RESET_URL must contain {{uid}} and {{token}}, got {PASSWORD_RESET_URL!r}")
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60, minimum=60)

# Signed-in sessions (useraccount.sessions; GET /api/auth/sessions/): one per
# refresh token. "Last used" is written by a token refresh or a socket connect
# at most once per SESSION_LAST_USED_SECONDS per session (per server process
# for sockets), never per request. Signing in past AUTH_SESSIONS_PER_USER ends
# the least recently used one. The list is paged by AUTH_SESSIONS_PAGE_SIZE
# (?limit= up to AUTH_SESSIONS_PAGE_MAX).
SESSION_LAST_USED_SECONDS = env.int("SESSION_LAST_USED_SECONDS", default=60, minimum=1)
AUTH_SESSIONS_PER_USER = env.int("AUTH_SESSIONS_PER_USER", default=50, minimum=1)
AUTH_SESSIONS_PAGE_SIZE = env.int("AUTH_SESSIONS_PAGE_SIZE", default=20, minimum=1)
AUTH_SESSIONS_PAGE_MAX = max(AUTH_SESSIONS_PAGE_SIZE, env.int("AUTH_SESSIONS_PAGE_MAX", default=100))

# Bots and their API keys (useraccount.bots; docs/integrations.md): at most
# API_KEYS_PER_BOT keys a bot (revoked ones not counted); a key's last use is
# written at most once per API_KEY_LAST_USED_SECONDS. Their rate limits are
# THROTTLE_BOT and THROTTLE_BOT_MESSAGE_SEND (REST_FRAMEWORK below).
API_KEYS_PER_BOT = env.int("API_KEYS_PER_BOT", default=10, minimum=1)
API_KEY_LAST_USED_SECONDS = env.int("API_KEY_LAST_USED_SECONDS", default=60, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "useraccount.authentication.SessionJWTAuthentication",
        # Bots: "Authorization: Api-Key <key>" (docs/integrations.md).
        "useraccount.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the browsable API could not use the admin's session (the API
    # takes bearer tokens alone), so it only ever showed a 401 page.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "core.rest.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": None,
    # Rate limits per scope (core.throttling; README, "Rate limits"). Each
    # THROTTLE_* variable takes a rate in core.rates' syntax ("60/min",
    # "3/10s", ...; the sockets' too), or off.
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        # Every authenticated endpoint without a tighter limit, per user (an
        # anonymous request per address): far above what a client's screens
        # ask for, it only stops runaway loops and scripts.
        "user": env("THROTTLE_USER", cast=rate, default="600/min"),
        # Login per client address: a shared office or campus address where
        # people log in at the start of the day stays under it (tokens last a
        # week); one machine guessing passwords across accounts is held to 20 a minute.
        "login_ip": env("THROTTLE_LOGIN_IP", cast=rate, default="20/min"),
        # Login per attempted email, from any address: a person retyping a
        # password stays under it, and guessing one account's password from
        # however many machines gets 5 tries a minute. The price: whoever
        # floods an address keeps its owner out until a minute after they stop.
        "login_email": env("THROTTLE_LOGIN_EMAIL", cast=rate, default="5/min"),
        # Password reset emails asked for per client address, and per email
        # address from any client (so nobody floods one inbox); counted whether
        # or not the address has an account, so a 429 tells nothing either.
        "password_reset_ip": env("THROTTLE_PASSWORD_RESET_IP", cast=rate, default="20/hour"),
        "password_reset_email": env("THROTTLE_PASSWORD_RESET_EMAIL", cast=rate, default="5/hour"),
        # Accounts per client address: enough for a class or team signing up
        # together behind one address, not for an account factory.
        "register": env("THROTTLE_REGISTER", cast=rate, default="20/hour"),
        # Refresh per client address: a client refreshes once per access
        # token lifetime (30 min), so this covers ~1800 sessions behind one
        # address and stops refresh loops.
        "token_refresh": env("THROTTLE_TOKEN_REFRESH", cast=rate, default="60/min"),
        # REST message sends per user: one a second on average, bursts of 60.
        "message_send": env("THROTTLE_MESSAGE_SEND", cast=rate, default="60/min"),
        # GET /api/auth/<id>/ per user: profiles arrive with conversations,
        # so a client looks users up one at a time, rarely.
        "user_lookup": env("THROTTLE_USER_LOOKUP", cast=rate, default="120/min"),
        # GET /api/auth/users/?q= per user: a person typing a name, not a crawler.
        "user_search": env("THROTTLE_USER_SEARCH", cast=rate, default="60/min"),
        # Message search per user: each is a full-text query over their conversations.
        "message_search": env("THROTTLE_MESSAGE_SEARCH", cast=rate, default="60/min"),
        # Attachment uploads per user.
        "attachment_upload": env("THROTTLE_ATTACHMENT_UPLOAD", cast=rate, default="60/min"),
        # Reports per user: someone reporting a thread message by message
        # stays under it; a script filing reports against everyone does not.
        "report": env("THROTTLE_REPORT", cast=rate, default="20/hour"),
        # Attempts to join a group with an invite link, per user.
        "invite_join": env("THROTTLE_INVITE_JOIN", cast=rate, default="20/hour"),
        # Bots (requests with an API key; core.throttling.UserThrottle): their
        # own limits, per bot, in place of "user" and "message_send".
        "bot": env("THROTTLE_BOT", cast=rate, default="300/min"),
        "bot_message_send": env("THROTTLE_BOT_MESSAGE_SEND", cast=rate, default="120/min"),
    },
    # Proxies in front of the server whose X-Forwarded-For entries to trust
    # for the client address. 0 uses the connection's address, so a client
    # cannot pick its own by sending X-Forwarded-For; behind one reverse
    # proxy set 1, else every client shares the proxy's address and its limits.
    # The client address is already the right one (core.proxies, TRUSTED_PROXIES):
    # DRF must not read X-Forwarded-For itself (with None it would take it from anyone).
    "NUM_PROXIES": 0,
}

# OpenAPI 3 (drf-spectacular), built from the views and serializers: served at
# /api/schema/, with Swagger UI at /api/docs/ and Redoc at /api/redoc/.
SPECTACULAR_SETTINGS = {
    "TITLE": "Chat backend API",
    "DESCRIPTION": (
        "REST for everything that is not live; the WebSocket protocol is in docs/protocol.md. "
        "Every error is `{code, detail, fields?}` (docs/errors.md)."
    ),
    "VERSION": "1.0.0",
    # 3.1: its schemas are JSON Schema 2020-12, so answers validate with any JSON Schema tool.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.paged_lists_refuse_bad_limits",
    ],
    # The system's fonts, not Google's (core/templates/core/redoc.html: nothing from outside).
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                "headings": {"fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
                "code": {"fontFamily": "ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace"},
            }
        }
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "TAGS": [
        {"name": "accounts", "description": "Register, log in, tokens, profiles."},
        {"name": "bots", "description": "Bot accounts and their API keys, for staff (docs/integrations.md)."},
        {"name": "conversations", "description": "Direct and group conversations, unread counts, presence."},
        {"name": "messages", "description": "History, sending, editing, deleting, read positions."},
        {"name": "moderation", "description": "Reports of messages and users, for the moderators."},
        {"name": "push", "description": "Devices that get push notifications while no socket is open."},
        {"name": "threads", "description": "Replies in a message's thread, following threads, thread read positions."},
    ],
    "ENUM_NAME_OVERRIDES": {
        "PushDeviceKindEnum": "chat.models.PushDevice.KINDS",
        "NotificationLevelEnum": "chat.models.ConversationMember.NOTIFICATION_LEVELS",
        "WebhookEventEnum": "chat.models.webhooks.WEBHOOK_EVENTS",
    },
}

# --- Email ------------------------------------------------------------------

# With EMAIL_HOST set, mail goes out over SMTP; without it, with debug on, it
# is printed on standard output (the embedded default: a developer reads the
# reset link there), and with debug off it is not sent at all (a reset
# request is then logged as not sent; links are never written to the logs).
EMAIL_HOST = env.str("EMAIL_HOST", default="").strip()
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
EMAIL_PORT = env.int("EMAIL_PORT", default=587, minimum=1)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
# STARTTLS on the submission port (587) by default; EMAIL_USE_SSL for implicit TLS (465).
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
if EMAIL_USE_SSL:
    EMAIL_USE_TLS = False
# Seconds an SMTP connection or answer may take; mail is sent off the request
# path (useraccount.mail), so a slow server delays the email, not the answer.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10, minimum=1)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Chat <noreply@localhost>")
# Emails waiting to be sent, per server process; beyond it a new one is
# dropped and logged (the sender sees the same answer and may ask again).
EMAIL_QUEUE_MAX = env.int("EMAIL_QUEUE_MAX", default=100, minimum=1)

# --- Request size -----------------------------------------------------------

# Largest request body (not counting uploaded files) read into memory; a
# larger one is a 413 {"code": "too_large"} (core.rest). Django's default, 2.5 MiB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# Largest avatar file accepted, in bytes; a larger one is a 413 too. Uploads
# over FILE_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MiB) go to a temporary file.
AVATAR_MAX_SIZE = env.int("AVATAR_MAX_SIZE", default=5 * 1024 * 1024)

# --- Chat -------------------------------------------------------------------

CHAT_MESSAGE_MAX_LENGTH = env.int("CHAT_MESSAGE_MAX_LENGTH", default=4000)
# GET /api/chat/ answers this many conversations (most recently active first)
# unless the client asks for ?limit= (up to CHAT_CONVERSATION_PAGE_MAX); the
# original tutorial client shows only the first page, so the default is large.
CHAT_CONVERSATION_PAGE_SIZE = env.int("CHAT_CONVERSATION_PAGE_SIZE", default=100, minimum=1)
CHAT_CONVERSATION_PAGE_MAX = max(CHAT_CONVERSATION_PAGE_SIZE, env.int("CHAT_CONVERSATION_PAGE_MAX", default=200))
# GET /api/chat/<id>/ answers the latest this many messages (the original
# client's whole view of a conversation); GET .../messages/ pages take ?limit=
# up to CHAT_MESSAGE_PAGE_MAX.
CHAT_HISTORY_MESSAGES = env.int("CHAT_HISTORY_MESSAGES", default=200, minimum=1)
CHAT_MESSAGE_PAGE_MAX = max(CHAT_HISTORY_MESSAGES, env.int("CHAT_MESSAGE_PAGE_MAX", default=200))
# Attachments: the largest file in bytes (a larger one is a 413), the types
# accepted (read from the file's bytes, never from what the client says; any
# other is a 415), how many one message may carry, and how many hours an
# upload no message took is kept before ``manage.py cleanup_attachments``
# removes it.
CHAT_ATTACHMENT_MAX_BYTES = env.int("CHAT_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024, minimum=1)
CHAT_ATTACHMENT_TYPES = frozenset(
    env.list(
        "CHAT_ATTACHMENT_TYPES",
        default=["image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "text/plain",
                 "audio/mpeg", "audio/ogg", "video/mp4", "video/webm"],
    )
)
CHAT_MESSAGE_MAX_ATTACHMENTS = env.int("CHAT_MESSAGE_MAX_ATTACHMENTS", default=10, minimum=1)
CHAT_ATTACHMENT_ORPHAN_HOURS = env.int("CHAT_ATTACHMENT_ORPHAN_HOURS", default=24, minimum=1)
# Disappearing messages and retention (chat.messages.expiry): the expiry pass
# (``manage.py expire_messages``) tombstones at most CHAT_EXPIRY_BATCH_SIZE
# messages a transaction; with --loop (or in the server, TIMED_WORK_IN_SERVER)
# it wakes when the next message is due, and looks at the database at least
# every CHAT_EXPIRY_INTERVAL_SECONDS for messages sent by other processes
# (with the shortest timer an hour, such a message is still on time). CHAT_MESSAGE_RETENTION_DAYS (0: off) expires
# every message older than that, whatever its conversation's timer.
CHAT_EXPIRY_BATCH_SIZE = env.int("CHAT_EXPIRY_BATCH_SIZE", default=500, minimum=1)
CHAT_EXPIRY_INTERVAL_SECONDS = env.int("CHAT_EXPIRY_INTERVAL_SECONDS", default=60, minimum=1)
CHAT_MESSAGE_RETENTION_DAYS = env.int("CHAT_MESSAGE_RETENTION_DAYS", default=0, minimum=0)
# Timed work (core.timed: the expiry pass, scheduled messages) done by the
# server process itself, waking when the next message is due: on by default without REDIS_URL (the
# embedded default's one process and in-memory channel layer, which only that
# process's sockets hear); with Redis it is a process of its own
# (``expire_messages --loop``), one for all the servers.
TIMED_WORK_IN_SERVER = env.bool("TIMED_WORK_IN_SERVER", default=not REDIS_URL)
# Reactions: how many different emoji one message may carry, and how many
# reactors' ids each emoji lists in message JSON (``count`` has them all).
CHAT_REACTIONS_PER_MESSAGE = env.int("CHAT_REACTIONS_PER_MESSAGE", default=20, minimum=1)
CHAT_REACTION_USERS_SHOWN = env.int("CHAT_REACTION_USERS_SHOWN", default=20, minimum=1)
# Threads: how many of the latest repliers' ids a thread's root shows
# (newest first; ``reply_count`` counts every reply), the largest ?limit= of
# a thread's page of replies (50 without one), and the list of a user's
# threads (GET /api/chat/threads/): its page size and largest ?limit=.
CHAT_THREAD_REPLIERS_SHOWN = env.int("CHAT_THREAD_REPLIERS_SHOWN", default=5, minimum=1)
CHAT_THREAD_PAGE_MAX = env.int("CHAT_THREAD_PAGE_MAX", default=200, minimum=1)
CHAT_THREAD_LIST_PAGE_SIZE = env.int("CHAT_THREAD_LIST_PAGE_SIZE", default=20, minimum=1)
CHAT_THREAD_LIST_PAGE_MAX = max(CHAT_THREAD_LIST_PAGE_SIZE, env.int("CHAT_THREAD_LIST_PAGE_MAX", default=100))
# Unread counts (of a conversation's main timeline, of a thread, of one's
# followed threads with unread replies) stop at this many: a count at it
# means "that many or more", and counting stays a bounded read of an index
# however far behind a member is (chat.unread).
CHAT_UNREAD_COUNT_MAX = env.int("CHAT_UNREAD_COUNT_MAX", default=100, minimum=1)
# Mentions: how many different people one message may mention (<@id>
# markup; more is a 400), the group size up to which any member may mention
# @all (in larger groups only the owner and admins), and the pages of
# GET /api/chat/mentions/ (?limit= up to the max).
CHAT_MESSAGE_MAX_MENTIONS = env.int("CHAT_MESSAGE_MAX_MENTIONS", default=20, minimum=1)
CHAT_MENTION_ALL_MIN_MEMBERS = env.int("CHAT_MENTION_ALL_MIN_MEMBERS", default=10, minimum=0)
CHAT_MENTIONS_PAGE_SIZE = env.int("CHAT_MENTIONS_PAGE_SIZE", default=20, minimum=1)
CHAT_MENTIONS_PAGE_MAX = max(CHAT_MENTIONS_PAGE_SIZE, env.int("CHAT_MENTIONS_PAGE_MAX", default=50))
# The most members a group may have (creating or adding).
CHAT_GROUP_MAX_MEMBERS = env.int("CHAT_GROUP_MAX_MEMBERS", default=500, minimum=2)
# Invite links (chat.invites): how long one works unless its maker says
# (seconds), the longest it may, how many work at once per group, and how
# many requests to join may wait per group.
CHAT_INVITE_DEFAULT_SECONDS = env.int("CHAT_INVITE_DEFAULT_SECONDS", default=7 * 24 * 3600, minimum=60)
CHAT_INVITE_MAX_SECONDS = max(CHAT_INVITE_DEFAULT_SECONDS, env.int("CHAT_INVITE_MAX_SECONDS", default=30 * 24 * 3600))
CHAT_INVITES_PER_CONVERSATION = env.int("CHAT_INVITES_PER_CONVERSATION", default=20, minimum=1)
CHAT_JOIN_REQUESTS_PER_CONVERSATION = env.int("CHAT_JOIN_REQUESTS_PER_CONVERSATION", default=100, minimum=1)
# The most messages pinned in one conversation at once (a pin past it is a
# 400 ``too_many_pins``), and the most conversations one forward request may
# send a message to (past it, a 400 ``too_many_targets``).
CHAT_PINS_PER_CONVERSATION = env.int("CHAT_PINS_PER_CONVERSATION", default=50, minimum=1)
CHAT_FORWARD_MAX_TARGETS = env.int("CHAT_FORWARD_MAX_TARGETS", default=10, minimum=1)
# GET /api/chat/<id>/receipts/: members' positions, this many a page (?limit= up to the max).
CHAT_RECEIPTS_PAGE_SIZE = env.int("CHAT_RECEIPTS_PAGE_SIZE", default=100, minimum=1)
CHAT_RECEIPTS_PAGE_MAX = max(CHAT_RECEIPTS_PAGE_SIZE, env.int("CHAT_RECEIPTS_PAGE_MAX", default=500))
# The most users one user may block: each notifications socket of theirs
# keeps the blocked ids in memory to filter what it is sent.
USER_MAX_BLOCKS = env.int("USER_MAX_BLOCKS", default=1000, minimum=1)
# Message search: results per page (?limit= up to the max), and how deep
# pages go (a search is for finding, not for reading everything).
CHAT_SEARCH_PAGE_SIZE = env.int("CHAT_SEARCH_PAGE_SIZE", default=20, minimum=1)
CHAT_SEARCH_PAGE_MAX = max(CHAT_SEARCH_PAGE_SIZE, env.int("CHAT_SEARCH_PAGE_MAX", default=50))
CHAT_SEARCH_MAX_RESULTS = env.int("CHAT_SEARCH_MAX_RESULTS", default=500, minimum=1)
# A user counts as online while one of their sockets has sent a heartbeat in
# the last PRESENCE_TTL seconds; sockets beat every PRESENCE_HEARTBEAT.
PRESENCE_TTL = env.int("PRESENCE_TTL", default=60)
PRESENCE_HEARTBEAT = env.int("PRESENCE_HEARTBEAT", default=20)
# A process announces a presence change at once when it announced none in the
# last PRESENCE_COALESCE_SECONDS; otherwise at the end of that window, with
# every other change of the window (chat.realtime.announcer). 0: always at once.
PRESENCE_COALESCE_SECONDS = env.float("PRESENCE_COALESCE_SECONDS", default=0.5)
# Delivered positions are noted in memory per process and written at most once
# per this many seconds, one statement per flush (chat.realtime.delivery_flush);
# past CHAT_DELIVERY_MAX_PENDING (conversation, member) positions waiting, at once.
CHAT_DELIVERY_FLUSH_SECONDS = env.float("CHAT_DELIVERY_FLUSH_SECONDS", default=1.0)
if CHAT_DELIVERY_FLUSH_SECONDS <= 0:  # 0 would be a write per delivered frame, what the batching is for
    raise ImproperlyConfigured(f"CHAT_DELIVERY_FLUSH_SECONDS must be above 0, got {CHAT_DELIVERY_FLUSH_SECONDS}")
CHAT_DELIVERY_MAX_PENDING = env.int("CHAT_DELIVERY_MAX_PENDING", default=50_000, minimum=1)
# Typing notices are relayed at most once per user and room per this many seconds.
TYPING_INTERVAL = 2
# Catch-up (?after=, sync) reads history in pages of this many messages and
# sends each frame only as fast as the client takes them.
CATCH_UP_PAGE = env.int("CATCH_UP_PAGE", default=200)
CATCH_UP_PAGE_BYTES = env.int("CATCH_UP_PAGE_BYTES", default=256 * 1024)
# A notifications ``sync`` answers with at most this many conversations (then
# "more": true) and this many messages of each (then "has_more": true).
SYNC_PAGE_CONVERSATIONS = env.int("SYNC_PAGE_CONVERSATIONS", default=20)
SYNC_MESSAGES_PER_CONVERSATION = env.int("SYNC_MESSAGES_PER_CONVERSATION", default=50)
# ... and at most this many characters of message bodies in all, so that one
# frame stays small however long the messages are.
SYNC_PAGE_BODY_CHARS = env.int("SYNC_PAGE_BODY_CHARS", default=64_000)
# A notifications ``sync`` also lists the followed threads with unread
# replies, at most this many (then "threads_more": true), latest reply first.
SYNC_PAGE_THREADS = env.int("SYNC_PAGE_THREADS", default=20, minimum=0)

# Socket rate limits per user, across every server process (on Redis; in
# memory on the embedded default): a rate in core.rates' syntax such as
# "20/10s" (the REST limits' too), or off. Over a limit the frame is refused with an error frame, code
# "throttled", carrying retry_after; nothing is saved or relayed.
SOCKET_RATE_LIMITS = {
    # message.send, message.edit, message.delete, reaction.add and reaction.remove together
    "message": env("SOCKET_RATE_MESSAGES", cast=rate, default="20/10s"),
    "typing": env("SOCKET_RATE_TYPING", cast=rate, default="10/10s"),
    # every other frame (ping, sync, read, auth)
    "frame": env("SOCKET_RATE_FRAMES", cast=rate, default="60/10s"),
}
# Open sockets per user, all processes together; one more is refused with 4429.
SOCKET_MAX_CONNECTIONS_PER_USER = env.int("SOCKET_MAX_CONNECTIONS_PER_USER", default=20)
# The original tutorial client's path (ws/<id>/) accepts a socket it refuses and
# keeps it open this many seconds, answering what the client sends with a
# notice that it was not sent, before closing it with the refusal's code.
ORIGINAL_CLIENT_REFUSAL_GRACE = env.int("ORIGINAL_CLIENT_REFUSAL_GRACE", default=3, minimum=0)
# Pages of the original tutorial client (its Next.js frontend's origins): its
# sign-up and login errors carry only the messages it shows, without the
# machine `code` it would show as text (core.rest). Every other client gets
# the one error shape. Debug's default is that frontend's development address.
ORIGINAL_CLIENT_ORIGINS = env.list(
    "ORIGINAL_CLIENT_ORIGINS",
    default=["http://localhost:3000", "http://127.0.0.1:3000"] if DEBUG else [],
)

# --- Scheduled messages, drafts, statuses and message metadata ---------------

# Scheduled messages (chat.messages.scheduled): how far ahead one may be set
# (days), how many one user may have waiting at once, how many the runner
# sends per transaction, and the longest its --loop sleeps before looking
# again (it wakes earlier for the next due row it knows of; a message
# scheduled less than this far ahead may be sent up to this late).
CHAT_SCHEDULED_MAX_DAYS = env.int("CHAT_SCHEDULED_MAX_DAYS", default=120, minimum=1)
CHAT_SCHEDULED_MAX_PENDING = env.int("CHAT_SCHEDULED_MAX_PENDING", default=100, minimum=1)
CHAT_SCHEDULED_BATCH_SIZE = env.int("CHAT_SCHEDULED_BATCH_SIZE", default=100, minimum=1)
CHAT_SCHEDULED_MAX_SLEEP_SECONDS = env.int("CHAT_SCHEDULED_MAX_SLEEP_SECONDS", default=5, minimum=1)
# The longest draft kept per conversation and user (characters; chat.conversations.drafts).
CHAT_DRAFT_MAX_LENGTH = env.int("CHAT_DRAFT_MAX_LENGTH", default=4000, minimum=1)
# A user's status (useraccount.status): its text in characters, its emoji
# (one emoji, or a :short_code:) in characters.
USER_STATUS_TEXT_MAX_LENGTH = env.int("USER_STATUS_TEXT_MAX_LENGTH", default=100, minimum=1, maximum=255)
USER_STATUS_EMOJI_MAX_LENGTH = env.int("USER_STATUS_EMOJI_MAX_LENGTH", default=32, minimum=1, maximum=64)
# A message's metadata (chat.messages.metadata): its size as compact JSON in
# bytes, how deep objects and lists may nest, and how many metadata.<key>
# filters one history request may carry.
CHAT_MESSAGE_METADATA_MAX_BYTES = env.int("CHAT_MESSAGE_METADATA_MAX_BYTES", default=4096, minimum=2)
CHAT_MESSAGE_METADATA_MAX_DEPTH = env.int("CHAT_MESSAGE_METADATA_MAX_DEPTH", default=4, minimum=1)
CHAT_MESSAGE_METADATA_MAX_FILTERS = env.int("CHAT_MESSAGE_METADATA_MAX_FILTERS", default=4, minimum=1)

# --- Push notifications (chat.push; docs/push.md) ----------------------------

# Web Push: the VAPID private key (the base64url of its 32 raw bytes; make a
# pair with ``manage.py push_vapid_keys``) and the subject push services may
# contact about it (mailto: or https:). Clients get the public key from
# GET /api/devices/vapid/.
PUSH_VAPID_PRIVATE_KEY = env.str("PUSH_VAPID_PRIVATE_KEY", default="").strip()
# Needed with the key, as a mailto: or https:// address (a system check, chat.checks).
PUSH_VAPID_SUBJECT = env.str("PUSH_VAPID_SUBJECT", default="").strip()
# FCM (Android, and iOS through Firebase): the path of a Firebase service
# account's JSON key file; the project is the one named in it.
PUSH_FCM_CREDENTIALS = env.str("PUSH_FCM_CREDENTIALS", default="").strip()
# Web Push endpoints are accepted only on these hosts and their subdomains
# (the browsers' push services), so that the server never posts to an address
# of a client's choosing; "*" accepts any https host.
PUSH_WEBPUSH_HOSTS = env.list(
    "PUSH_WEBPUSH_HOSTS",
    default=["fcm.googleapis.com", "push.services.mozilla.com", "notify.windows.com", "push.apple.com"],
)
# Devices one user may register; one more is refused (code too_many_devices).
PUSH_MAX_DEVICES_PER_USER = env.int("PUSH_MAX_DEVICES_PER_USER", default=10, minimum=1)
# Characters of a message's body a push carries (cut with "…"); 0 leaves the
# body out, so that push services and lock screens never see what was written.
# At most 1000: a push carries at most 4 KB.
PUSH_BODY_EXCERPT = env.int("PUSH_BODY_EXCERPT", default=120, minimum=0, maximum=1000)
# Seconds a push service keeps a push for a device that is offline.
PUSH_TTL = env.int("PUSH_TTL", default=86_400, minimum=0)
# Seconds one request to a push service may take.
PUSH_TIMEOUT = env.int("PUSH_TIMEOUT", default=10, minimum=1)
# A push that fails for a reason that may pass (a 429 or 5xx, no answer) is
# tried again after PUSH_RETRY_BACKOFF seconds, doubling up to
# PUSH_RETRY_BACKOFF_MAX, PUSH_MAX_ATTEMPTS times in all; then it is dropped
# and counted (chat_push_dropped_total).
PUSH_MAX_ATTEMPTS = env.int("PUSH_MAX_ATTEMPTS", default=5, minimum=1)
PUSH_RETRY_BACKOFF = env.int("PUSH_RETRY_BACKOFF", default=15, minimum=1)
PUSH_RETRY_BACKOFF_MAX = max(PUSH_RETRY_BACKOFF, env.int("PUSH_RETRY_BACKOFF_MAX", default=600))
# Threads of the push worker (``manage.py push_worker``, or in the server
# process on the embedded default), and the port its /metrics is served on
# (0: none; the web server's /metrics does not see the worker's counters).
PUSH_WORKER_THREADS = env.int("PUSH_WORKER_THREADS", default=4, minimum=1)
PUSH_WORKER_METRICS_PORT = env.int("PUSH_WORKER_METRICS_PORT", default=0, minimum=0)

# --- Data export (chat.exports; docs/exports.md) ------------------------------

# A user may ask for an export of their data (POST /api/auth/export/) once per
# DATA_EXPORT_INTERVAL_HOURS (a 429 says when the next may be asked; one that
# failed does not count). The queue's worker builds the archive, which is kept
# DATA_EXPORT_KEEP_HOURS, then deleted by ``manage.py cleanup_exports``; each
# download link works DATA_EXPORT_URL_EXPIRE seconds (ask again for a new one).
DATA_EXPORT_INTERVAL_HOURS = env.int("DATA_EXPORT_INTERVAL_HOURS", default=24, minimum=1)
DATA_EXPORT_KEEP_HOURS = env.int("DATA_EXPORT_KEEP_HOURS", default=72, minimum=1)
DATA_EXPORT_URL_EXPIRE = env.int("DATA_EXPORT_URL_EXPIRE", default=3600, minimum=1)
# An archive holds at most this many of the user's messages and this many
# bytes of their files (before compression); past either, the rest is left
# out and the archive's README.txt and export.json say so.
DATA_EXPORT_MAX_MESSAGES = env.int("DATA_EXPORT_MAX_MESSAGES", default=100_000, minimum=1)
DATA_EXPORT_MAX_BYTES = env.int("DATA_EXPORT_MAX_BYTES", default=1024 * 1024 * 1024, minimum=1)
# Seconds one build may take before the worker stops it and marks it failed.
DATA_EXPORT_TIME_LIMIT = env.int("DATA_EXPORT_TIME_LIMIT", default=3600, minimum=10)

# --- Outbound HTTP, webhooks and link previews (core.outbound; docs/webhooks.md) ---

# Requests to addresses users choose (webhook receivers, linked pages) are
# https only, to public addresses only (core.outbound). Hosts (names or
# addresses, exactly as written in URLs) whose addresses are allowed even
# when they are not public, e.g. an internal receiver:
OUTBOUND_ALLOWED_HOSTS = env.list("OUTBOUND_ALLOWED_HOSTS", default=[])
# Hosts that may also be reached over plain http (still subject to the address rule).
OUTBOUND_HTTP_HOSTS = env.list("OUTBOUND_HTTP_HOSTS", default=[])
# A PEM file of the certificate authorities outbound TLS trusts instead of the
# public ones (an internal CA); empty: the public roots (certifi).
OUTBOUND_CA_BUNDLE = env.str("OUTBOUND_CA_BUNDLE", default="").strip()
# Redirects a link preview follows, each checked as the first request.
OUTBOUND_MAX_REDIRECTS = env.int("OUTBOUND_MAX_REDIRECTS", default=3, minimum=0, maximum=10)
# Outgoing webhooks (chat.webhooks): subscriptions per conversation (and per
# user whose conversations one follows); one more is refused (code too_many_webhooks).
WEBHOOK_MAX_PER_TARGET = env.int("WEBHOOK_MAX_PER_TARGET", default=5, minimum=1)
# Rows of the recent-deliveries log kept per subscription (older ones are deleted).
WEBHOOK_LOG_ROWS = env.int("WEBHOOK_LOG_ROWS", default=50, minimum=1, maximum=1000)
# Seconds one delivery may take (connect, each read, and the whole answer).
WEBHOOK_TIMEOUT = env.int("WEBHOOK_TIMEOUT", default=10, minimum=1, maximum=60)
# A delivery that fails (no answer, not a 2xx) is tried again after
# WEBHOOK_RETRY_BACKOFF seconds, doubling up to WEBHOOK_RETRY_BACKOFF_MAX,
# WEBHOOK_MAX_ATTEMPTS times in all; then it is dropped and counted
# (chat_webhook_dropped_total).
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6, minimum=1, maximum=20)
WEBHOOK_RETRY_BACKOFF = env.int("WEBHOOK_RETRY_BACKOFF", default=10, minimum=1)
WEBHOOK_RETRY_BACKOFF_MAX = max(WEBHOOK_RETRY_BACKOFF, env.int("WEBHOOK_RETRY_BACKOFF_MAX", default=3600))
# Link previews (chat.previews): the first http(s) URL of a message is fetched
# by the worker and its title, description and image stored on the message.
# Off by default: it makes the server fetch addresses its users choose, which
# an operator turns on knowingly.
CHAT_LINK_PREVIEWS = env.bool("CHAT_LINK_PREVIEWS", default=False)
# Bytes of a page read for its preview (the head is enough; the rest is not read),
# and seconds the fetch may take.
PREVIEW_MAX_BYTES = env.int("PREVIEW_MAX_BYTES", default=512 * 1024, minimum=1024, maximum=10 * 1024 * 1024)
PREVIEW_TIMEOUT = env.int("PREVIEW_TIMEOUT", default=5, minimum=1, maximum=30)

# --- Per-connection limits (core.runtime.server; docs/protocol.md, "Limits") -----

# A socket is closed with 4008 when more than this many bytes wait unsent for
# it, or when unsent bytes stay above 64 KiB for WEBSOCKET_SEND_TIMEOUT seconds.
WEBSOCKET_SEND_BUFFER_BYTES = env.int("WEBSOCKET_SEND_BUFFER_BYTES", default=1024 * 1024)
WEBSOCKET_SEND_TIMEOUT = env.int("WEBSOCKET_SEND_TIMEOUT", default=30)
# With this many received frames waiting for the consumer, the server stops
# reading from that socket until half of them are handled.
WEBSOCKET_RECEIVE_QUEUE = env.int("WEBSOCKET_RECEIVE_QUEUE", default=32)
# A larger message closes the socket with 1009. The default fits the longest
# body (CHAT_MESSAGE_MAX_LENGTH) even with every character \u-escaped.
WEBSOCKET_MAX_MESSAGE_BYTES = env.int("WEBSOCKET_MAX_MESSAGE_BYTES", default=64 * 1024)
# Request line and headers must arrive within this many seconds of their first byte.
HTTP_HEADER_TIMEOUT = env.int("HTTP_HEADER_TIMEOUT", default=10)

# --- Static and media -------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = env.str("DJANGO_MEDIA_URL", default="/media/")
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", cast=Path, default=BASE_DIR / "media")
# Django serves uploaded files (avatars) under MEDIA_URL, with debug on or
# off; 0 when a reverse proxy or a CDN serves MEDIA_ROOT instead.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
# The origin clients reach this server at, e.g. https://chat.example.com (no
# path). File URLs in JSON (avatar_url) are absolute on it; unset, they are
# absolute on the origin each request or socket came in on (core.public_urls).
# Set it behind a proxy that rewrites Host, or when clients use several names.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").strip().rstrip("/")
if PUBLIC_BASE_URL and not re.fullmatch(r"https?://[^/?#\s]+", PUBLIC_BASE_URL):
    raise ImproperlyConfigured(
        f"PUBLIC_BASE_URL must be an origin such as https://chat.example.com, got {PUBLIC_BASE_URL!r}"
    )
# Message attachments (chat.models.Attachment) never go to the public media
# storage: only members download them, through the API. On the local
# filesystem under ATTACHMENTS_ROOT by default; with ATTACHMENTS_S3_BUCKET, in
# S3 or an S3-compatible store (django-storages) as private objects, each
# download a signed URL valid for ATTACHMENTS_URL_EXPIRE seconds. Credentials
# come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the machine's role).
ATTACHMENTS_ROOT = env("ATTACHMENTS_ROOT", cast=Path, default=BASE_DIR / "attachments")
ATTACHMENTS_S3_BUCKET = env.str("ATTACHMENTS_S3_BUCKET", default="").strip()
ATTACHMENTS_URL_EXPIRE = env.int("ATTACHMENTS_URL_EXPIRE", default=300, minimum=1)
if ATTACHMENTS_S3_BUCKET:
    _ATTACHMENTS_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ATTACHMENTS_S3_BUCKET,
            "endpoint_url": env.str("ATTACHMENTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("ATTACHMENTS_S3_REGION", default="") or None,
            # "path" for S3-compatible stores that have no per-bucket host names.
            "addressing_style": env.str("ATTACHMENTS_S3_ADDRESSING_STYLE", default="") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": ATTACHMENTS_URL_EXPIRE,
            "file_overwrite": False,
            "location": env.str("ATTACHMENTS_S3_PREFIX", default="attachments").strip("/"),
        },
    }
else:
    _ATTACHMENTS_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": ATTACHMENTS_ROOT, "base_url": None},
    }
# Data exports' archives (chat.exports) go where attachments go, under
# "exports/": the same private bucket or folder, never the public media.
_EXPORTS_STORAGE = {
    **_ATTACHMENTS_STORAGE,
    "OPTIONS": {**_ATTACHMENTS_STORAGE["OPTIONS"], "location": (
        "exports" if ATTACHMENTS_S3_BUCKET else ATTACHMENTS_ROOT / "exports"
    )},
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "attachments": _ATTACHMENTS_STORAGE,
    "exports": _EXPORTS_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Internationalisation ---------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ----------------------------------------------------------------

# One line per event on standard error, as text or (DJANGO_LOG_FORMAT=json)
# JSON lines, each with the request or socket id (core.logs). Django's own
# loggers only propagate here: its default console handler would print every
# line a second time. DJANGO_LOG_LEVEL applies to them as to every other
# (Django's defaults would keep them at INFO).
LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="INFO").strip().upper()
# dictConfig, then Python's warnings through logging (core.logs.configure).
LOGGING_CONFIG = "core.logs.configure"
LOG_FORMAT = env.str("DJANGO_LOG_FORMAT", default="text", choices=("text", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "core.logs.ContextFilter"},
        # channels_redis logs a traceback every second while Redis is down, and
        # psycopg's pool a line per attempt to reconnect to PostgreSQL; one line
        # a minute is enough next to core.outages' own start and end lines.
        # A filter each: they keep their own minute.
        "once_per_outage": {"()": "core.outages.OncePerOutage"},
        "once_per_database_outage": {"()": "core.outages.OncePerOutage"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(socket_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(socket_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "channels_redis.pubsub": {"filters": ["once_per_outage"]},
        "psycopg.pool": {"filters": ["once_per_database_outage"]},
    },
}

# Error tracking: with SENTRY_DSN set, errors go to Sentry too (core.sentry),
# tagged with SENTRY_ENVIRONMENT; nothing is sent without it.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from core.sentry import init as init_sentry

    init_sentry(SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default="production"))

# --- HTTPS -------------------------------------------------------------------

# DJANGO_HTTPS: clients reach the server over HTTPS (TLS here or at a proxy
# in TRUSTED_PROXIES, which says so with X-Forwarded-Proto). On by default
# with debug off: plain-HTTP requests are redirected to HTTPS, cookies are
# Secure, and browsers are told to use HTTPS only (HSTS). Health checks and
# /metrics are answered before the redirect (core.probes), so probes and
# scrapers inside the network can use plain HTTP. Set 0 only to try the
# stack on http://localhost.
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
SILENCED_SYSTEM_CHECKS: list[str] = []
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if HTTPS:
    # 0 leaves redirecting plain HTTP to the proxy: a decision, so Django's
    # reminder to redirect (security.W008) is silenced when it is made.
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    if not SECURE_SSL_REDIRECT:
        SILENCED_SYSTEM_CHECKS.append("security.W008")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    # A year, subdomains included. Preloading (asking browsers to ship the
    # domain as HTTPS-only) is the domain owner's decision, off by default;
    # so Django's reminder about it (security.W021) is silenced unless on.
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS.append("security.W021")
