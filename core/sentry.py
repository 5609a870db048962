"""
Error tracking with Sentry (sentry-sdk), on when ``SENTRY_DSN`` is set and
not otherwise: unhandled errors and ERROR log lines of the Django views and
the socket consumers become events, without personal data and without
secrets.

    init(os.environ["SENTRY_DSN"], environment="production")    # backend.settings does this

What an event could carry is cut at the source: no frame local variables
(register's and login's frames hold the password and the email in plain
text) and no request bodies (the same fields, as posted). What is left is
scrubbed before sending: every value under a key that names a password,
secret, token, email, cookie or authorization, at any depth, and every
token-shaped string anywhere (an access token can ride in a socket URL's
query string).
"""

import re

from core.logs import redact

# Keys whose values never leave: password1, client_secret, refresh_token,
# X-CSRFToken, email, Cookie, Authorization, ...
_SECRET_KEYS = re.compile(r"(?i)pass|secret|token|email|cookie|authorization")


def _scrubbed(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            key: "[Filtered]" if isinstance(key, str) and _SECRET_KEYS.search(key) else _scrubbed(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    return value


def scrub(event: dict, hint) -> dict:
    """The event with every token-shaped string and every secret-named key's value replaced by ``[Filtered]``."""
    return _scrubbed(event)


def init(dsn: str, *, environment: str) -> None:
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn, environment=environment, before_send=scrub,
        send_default_pii=False,  # no user, no client address, no SQL parameters
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=0.0,  # errors only: tracing is a separate decision with its own cost
    )
