"""
Origin checking for WebSocket connections.

Channels' OriginValidator refuses connections that send no Origin header;
here those are allowed, because only browsers send one and only browsers need
protecting from cross-site sockets. Browser origins must be in
``ALLOWED_ORIGINS`` or be on one of ``ALLOWED_HOSTS`` (same-site pages such as
the admin). A refused origin gets HTTP 403 at the handshake.
"""

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.http.request import is_same_domain


class BrowserOriginValidator(OriginValidator):
    def __init__(self, application):
        super().__init__(application, allowed_origins=())

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        # Settings are read per connection, not frozen at start-up.
        if any(
            pattern == "*" or self.match_allowed_origin(parsed_origin, pattern)
            for pattern in settings.ALLOWED_ORIGINS
        ):
            return True
        host = parsed_origin.hostname
        return bool(host) and any(
            pattern == "*" or is_same_domain(host, pattern) for pattern in settings.ALLOWED_HOSTS
        )
