"""
The client's address and scheme behind reverse proxies, believed only from
the proxies the operator names (``TRUSTED_PROXIES``).

    application = TrustedProxyMiddleware(ProtocolTypeRouter({...}))

For a connection from a trusted proxy, the client is the right-most address
in ``X-Forwarded-For`` that is not itself a trusted proxy (the left-most
entries are whatever the client chose to send), and ``X-Forwarded-Proto``
stays for Django's ``SECURE_PROXY_SSL_HEADER``. For any other connection,
``X-Forwarded-For``, ``-Proto`` and ``-Host`` are removed before Django or a
consumer sees them: nobody can claim another address (and so another
client's rate limits, or the metrics networks) or HTTPS by sending a header.
Per-address rate limits, ``/metrics``'s allowed networks and the logs all
read the address this leaves in ``scope["client"]`` (``REMOTE_ADDR``).
"""

import ipaddress

from django.conf import settings

_FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host")


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address, proxies) -> bool:
    return address is not None and any(address in network for network in proxies)


def forwarded_scope(scope: dict, proxies) -> dict:
    """``scope`` with the client and headers as a connection from its peer may claim them."""
    peer = _address(scope["client"][0]) if scope.get("client") else None
    headers = scope.get("headers", [])
    if not _trusted(peer, proxies):
        if any(name in _FORWARDED for name, _ in headers):
            scope = {**scope, "headers": [(name, value) for name, value in headers if name not in _FORWARDED]}
        return scope
    chain = [
        _address(entry)
        for name, value in headers if name == b"x-forwarded-for"
        for entry in value.decode("latin1").split(",")
    ]
    if not chain or None in chain:
        return scope  # no header, or one we cannot read: the proxy itself is the client
    client = next((address for address in reversed(chain) if not _trusted(address, proxies)), chain[0])
    return {**scope, "client": (str(client), 0)}


class TrustedProxyMiddleware:
    """ASGI middleware applying ``forwarded_scope`` with ``settings.TRUSTED_PROXIES`` to HTTP and WebSockets."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            scope = forwarded_scope(scope, settings.TRUSTED_PROXIES)
        return await self.app(scope, receive, send)
