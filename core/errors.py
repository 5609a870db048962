"""
The one error vocabulary of the backend.

Services, selectors and frame parsing raise an ``ApplicationError``: a
``code`` a client can switch on, a human ``detail``, the HTTP ``status`` it
maps to and, when it is about one input field, that ``field``. REST turns it
into ``{"code", "detail"}`` with the status (core.rest.exception_handler); the
sockets into ``{"type": "error", "code", "detail"}`` frames.

    raise InvalidInput("The message body is empty.", code="empty_body", field="body")
"""


class ApplicationError(Exception):
    status = 400
    code = "invalid"

    def __init__(
        self, detail: str, *, code: str | None = None, field: str | None = None, messages: list[str] | None = None
    ):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.field = field
        # Every message about ``field`` (a password can fail several checks); ``detail`` is the first.
        self.messages = list(messages) if messages else [detail]

    def as_dict(self) -> dict:
        return {"code": self.code, "detail": self.detail}


class InvalidInput(ApplicationError):
    status = 400
    code = "invalid"


class Forbidden(ApplicationError):
    status = 403
    code = "forbidden"


class NotFound(ApplicationError):
    status = 404
    code = "not_found"


class TooLarge(ApplicationError):
    """A request body or upload over its size limit."""

    status = 413
    code = "too_large"


class UnsupportedType(ApplicationError):
    """An uploaded file of a type that is not accepted."""

    status = 415
    code = "unsupported_type"


class RetryLater(ApplicationError):
    """Try again in ``retry_after`` seconds (REST: also a Retry-After header)."""

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None):
        super().__init__(detail, code=code)
        self.retry_after = retry_after

    def as_dict(self) -> dict:
        return {**super().as_dict(), "retry_after": self.retry_after}


class TooManyRequests(RetryLater):
    """Over a rate limit."""

    status = 429
    code = "throttled"


class DatabaseUnavailable(RetryLater):
    """The database cannot be reached just now (down, restarting, or no connection free in time)."""

    status = 503
    code = "database_unavailable"


class ServerError(ApplicationError):
    """A failure of ours the client may retry; the cause is logged, never shown."""

    status = 500
    code = "server_error"
