"""
The client's address and scheme behind reverse proxies, believed only from
the proxies the operator names (``TRUSTED_PROXIES``).

    application = TrustedProxyMiddleware(ProtocolTypeRouter({...}))

For a connection from a trusted proxy, ``X-Forwarded-For`` is read from
the right (the left-most entries are whatever the client chose to send):
trusted proxies are passed over, and the first entry that is not one is the
client. When that entry is not an address (``unknown``, an obfuscated name,
garbage), the client is ``UNKNOWN_CLIENT``: no address, so it is in no
network (``/metrics`` refuses it without the token) and every such client
shares one set of per-address rate limits. It is never the proxy's address,
which would make anyone able to send a bad header look like the proxy's
host. Entries may carry a port (``203.0.113.9:4711``, ``[2001:db8::1]:4711``).
When every entry is a trusted proxy, the left-most is the client; with no
entries at all, the proxy is. ``X-Forwarded-Proto`` stays for Django's
``SECURE_PROXY_SSL_HEADER``.

For any other connection, ``X-Forwarded-For``, ``-Proto`` and ``-Host`` are
removed before Django or a consumer sees them: nobody can claim another
address (and so another client's rate limits, or the metrics networks) or
HTTPS by sending a header. Per-address rate limits, ``/metrics``'s allowed
networks and the logs all read the address this leaves in
``scope["client"]`` (``REMOTE_ADDR``).

IPv4 peers of a dual-stack listener arrive as IPv4-mapped IPv6 addresses
(``::ffff:127.0.0.1``); they are compared as the IPv4 address they stand for.
"""

import ipaddress
import re

from django.conf import settings

_FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host")
_PORT = re.compile(r":[0-9]{1,5}")
UNKNOWN_CLIENT = "unknown"


def ip_address(text: str):
    """``text`` as an address (an IPv4-mapped IPv6 one as its IPv4 address), or None if it is not one."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def _forwarded_address(entry: str):
    """An ``X-Forwarded-For`` entry's address: ``a.b.c.d``, ``a.b.c.d:port``, ``v6`` or ``[v6]:port``; else None."""
    if entry.startswith("["):
        host, _, port = entry[1:].partition("]")
        return ip_address(host) if port == "" or _PORT.fullmatch(port) else None
    host, colon, port = entry.partition(":")
    if colon and ":" not in port:  # one colon: IPv4 with a port
        return ip_address(host) if _PORT.fullmatch(colon + port) else None
    return ip_address(entry)


def _trusted(address, proxies) -> bool:
    return address is not None and any(address in network for network in proxies)


def forwarded_scope(scope: dict, proxies) -> dict:
    """``scope`` with the client and headers as a connection from its peer may claim them."""
    peer = ip_address(scope["client"][0]) if scope.get("client") else None
    headers = scope.get("headers", [])
    if not _trusted(peer, proxies):
        if any(name in _FORWARDED for name, _ in headers):
            scope = {**scope, "headers": [(name, value) for name, value in headers if name not in _FORWARDED]}
        return scope
    entries = [
        entry.strip()
        for name, value in headers if name == b"x-forwarded-for"
        for entry in value.decode("latin1").split(",") if entry.strip()
    ]
    if not entries:
        return scope  # the proxy forwarded nobody's request but its own
    client = None
    for entry in reversed(entries):
        client = _forwarded_address(entry)
        if not _trusted(client, proxies):
            break
    return {**scope, "client": (str(client) if client is not None else UNKNOWN_CLIENT, 0)}


class TrustedProxyMiddleware:
    """ASGI middleware applying ``forwarded_scope`` with ``settings.TRUSTED_PROXIES`` to HTTP and WebSockets."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            scope = forwarded_scope(scope, settings.TRUSTED_PROXIES)
        return await self.app(scope, receive, send)
