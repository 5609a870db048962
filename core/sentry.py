"""
Error tracking with Sentry (sentry-sdk), on when ``SENTRY_DSN`` is set and
not otherwise: unhandled errors and ERROR log lines of the Django views and
the socket consumers become events, without personal data and without
tokens (an access token can ride in a socket URL's query string).

    init(os.environ["SENTRY_DSN"])    # backend.settings does this
"""

from core.logs import redact

_SECRET_HEADERS = {"authorization", "cookie", "x-csrftoken"}


def _scrubbed(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            key: "[Filtered]" if isinstance(key, str) and key.lower() in _SECRET_HEADERS else _scrubbed(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    return value


def scrub(event: dict, hint) -> dict:
    """The event with every token-shaped string, secret header and cookie replaced by ``[Filtered]``."""
    return _scrubbed(event)


def init(dsn: str, *, environment: str) -> None:
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn, environment=environment, send_default_pii=False, before_send=scrub,
        traces_sample_rate=0.0,  # errors only: tracing is a separate decision with its own cost
    )
