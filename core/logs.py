"""
Logging: one line per event, as text or JSON lines (``DJANGO_LOG_FORMAT``),
each carrying the id of the HTTP request or WebSocket it belongs to.

    request_id.set("9f2c…")            # LogContextMiddleware does this per request
    logger.info("Saved")               # {"message": "Saved", "request_id": "9f2c…", ...}

HTTP requests take a well-formed ``X-Request-ID`` from the client or proxy
(letters, digits, ``-`` and ``_``, at most 64) or get a random one, and the
response carries it back, so a client's report can be found in the log.
Sockets get one when they connect (``socket_id``). The ids live in context
variables, which follow a request into the threads its ORM work runs on.
"""

import contextvars
import logging
import logging.config
import re
import uuid

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
socket_id: contextvars.ContextVar[str] = contextvars.ContextVar("socket_id", default="-")

_WELL_FORMED = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# A token in a query string or an Authorization header, and anything shaped
# like a JWT wherever it appears.
SECRETS = re.compile(r"(?i)(?<=token=)[^&\s'\"]+|(?<=bearer )[^\s'\"]+|eyJ[\w-]+\.[\w-]+\.[\w-]+")


def configure(config: dict) -> None:
    """
    Django's LOGGING_CONFIG: the LOGGING settings, and Python's warnings as
    records of the ``py.warnings`` logger, so that they take the log format
    too (printed as they are, they would be lines of plain text among JSON).
    """
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def redact(text: str) -> str:
    """``text`` with every token in it replaced by ``[Filtered]``."""
    return SECRETS.sub("[Filtered]", text)


def new_id() -> str:
    return uuid.uuid4().hex


class ContextFilter(logging.Filter):
    """
    Adds ``request_id`` and ``socket_id`` to every record, and keeps tokens
    out of it: Django's request log lines carry the request (whose repr has
    the query string) for formatters that print extra fields, as JSON does.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.socket_id = socket_id.get()
        request = getattr(record, "request", None)
        if request is not None and not isinstance(request, str):
            record.request = redact(repr(request))
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple) and any(isinstance(arg, str) for arg in record.args):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


class LogContextMiddleware:
    """
    ASGI middleware, outermost: each HTTP request gets its id (answered in
    ``X-Request-ID``) and each socket its ``socket_id``, for everything
    logged while it is served, Django's own request log lines included.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            socket_id.set(new_id()[:16])
        elif scope["type"] == "http":
            given = dict(scope.get("headers", ())).get(b"x-request-id", b"").decode("latin1")
            current = given if _WELL_FORMED.match(given) else new_id()
            request_id.set(current)
            header = (b"x-request-id", current.encode())

            async def send_with_id(message):
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", ()), header]}
                await send(message)

            return await self.app(scope, receive, send_with_id)
        return await self.app(scope, receive, send)
