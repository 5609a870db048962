"""
HTTP requests to addresses users choose: webhook receivers (chat.webhooks)
and the pages messages link to (chat.previews). Every such request goes
through here, so that no user can make the server reach what only the server
should reach (its database, a cloud's metadata service, the admin on
localhost):

    url = outbound_url_check(url)          # when a user gives a URL: InvalidInput (code invalid_url) if it is refused
    answer = outbound_request("POST", url, body=b"{}", headers={...}, timeout=10, max_bytes=1024)
    answer.status, answer.body, answer.truncated

The rules, checked at every hop (the first request and each redirect):

- https only; plain http only to hosts in OUTBOUND_HTTP_HOSTS;
- the host is resolved once and every address it resolves to must be public:
  private, loopback, link-local, multicast, reserved, unspecified, shared
  (100.64/10) and IPv4-mapped or -embedded IPv6 forms of those are refused,
  unless the host is in OUTBOUND_ALLOWED_HOSTS;
- the connection goes to the address that was checked (the name is not
  looked up again, so a name that answers a public address to the check and
  127.0.0.1 to the connect reaches nothing), with TLS verified against the
  name (SNI and certificate), trusting OUTBOUND_CA_BUNDLE when set;
- at most ``redirects`` redirects (OUTBOUND_MAX_REDIRECTS for pages, none
  for webhooks), each one checked the same way;
- ``timeout`` seconds to connect, to wait for each read, and for the whole
  answer, the last enforced by closing the connection at that time (a peer
  sending a byte before each read would otherwise hold the request, and a
  worker, for as long as it likes); at most ``max_bytes`` of the body are read (``truncated`` says
  whether there was more); ``content_types`` refuses any other type before
  the body is read.

A refusal raises ``OutboundRefused`` (for good: trying again will not help);
a network failure or a timeout raises ``OutboundFailed`` (it may pass).
urllib3 (which requests, already used by the push senders, is built on) is
used directly because it lets a connection go to one address while TLS
checks another name, which is what pinning the checked address takes.
"""

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from django.conf import settings

from core.errors import InvalidInput

URL_MAX_LENGTH = 2000
USER_AGENT = "chat-backend/1 (+webhooks, link previews)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# 100.64.0.0/10 (carrier-grade NAT) is neither private nor global to the ipaddress module.
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class OutboundRefused(Exception):
    """A request the rules refuse (``reason``: scheme, address, unresolvable, redirects, content_type, url)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class OutboundFailed(Exception):
    """A request that failed on the network or took too long; it may pass later."""


@dataclass
class OutboundAnswer:
    status: int
    url: str  # the last one, after redirects
    content_type: str
    body: bytes
    truncated: bool
    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with its query
    address: str  # the checked address the connection goes to


def address_is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a connection to ``address`` reaches the public internet and nothing of the server's own."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return False  # a v4 address in v6 clothing: refused whatever it is, as no receiver needs it
    if address.is_multicast or address.is_unspecified or address.is_reserved or address.is_loopback:
        return False
    if address.is_link_local or address.is_private or address in _SHARED:
        return False
    return address.is_global


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (one DNS lookup); a literal address is itself."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _listed(host: str, names) -> bool:
    return host in {name.strip().lower().strip("[]") for name in names}


def outbound_target(url: str) -> Target:
    """Parse ``url``, resolve its host once and check the addresses; OutboundRefused otherwise."""
    if not isinstance(url, str) or not url or len(url) > URL_MAX_LENGTH or any(c.isspace() for c in url):
        raise OutboundRefused("url", f"must be an https URL of at most {URL_MAX_LENGTH} characters")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise OutboundRefused("url", "is not a URL")
    if not host or parts.username or parts.password:
        raise OutboundRefused("url", "must be an https URL with a host and no user name or password")
    if parts.scheme != "https" and not (parts.scheme == "http" and _listed(host, settings.OUTBOUND_HTTP_HOSTS)):
        raise OutboundRefused("scheme", "must be an https URL")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        raise OutboundRefused("unresolvable", f"names a host that does not resolve ({host})")
    if not addresses:
        raise OutboundRefused("unresolvable", f"names a host that does not resolve ({host})")
    if not _listed(host, settings.OUTBOUND_ALLOWED_HOSTS):
        for text in addresses:
            if not address_is_public(ipaddress.ip_address(text.split("%", 1)[0])):
                raise OutboundRefused("address", f"resolves to an address that is not public ({host})")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, addresses[0])


def outbound_url_check(url, *, field_name: str = "url") -> str:
    """``url`` if the rules allow it now (checked again at each request); InvalidInput (code invalid_url) if not."""
    try:
        outbound_target(url)
    except OutboundRefused as refused:
        raise InvalidInput(f"{field_name} {refused.detail}.", code="invalid_url", field=field_name)
    return url


class Watch:
    """
    Shuts a request's connections down at its deadline, from a timer thread,
    waking a read blocked on them. Each socket is watched through a duplicate
    of its descriptor (shutting either down ends the one connection; the
    duplicate is ours to close, so a descriptor number reused after the
    connection closed is never touched).
    """

    def __init__(self, seconds: float):
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = self._stopped = False
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def add(self, sock: socket.socket) -> None:
        copy = sock.dup()
        with self._lock:
            if self._stopped:
                copy.close()
                return
            self._sockets.append(copy)
            if self.expired:
                _shut(copy)

    def _expire(self) -> None:
        with self._lock:
            if not self._stopped:
                self.expired = True
                for sock in self._sockets:
                    _shut(sock)

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._stopped = True
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already


class WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    """A connection whose socket its request's Watch may shut down."""

    def __init__(self, *args, watch: Watch, **kwargs):
        super().__init__(*args, **kwargs)
        self.watch = watch

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.watch.add(sock)
        return sock


class WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    """The TLS one (the watched descriptor is the TCP socket TLS then runs on)."""

    def __init__(self, *args, watch: Watch, **kwargs):
        super().__init__(*args, **kwargs)
        self.watch = watch

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.watch.add(sock)
        return sock


class WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


def _pool(target: Target, timeout: urllib3.Timeout, watch: Watch):
    if target.scheme == "https":
        return WatchedHTTPSPool(
            target.address, target.port, timeout=timeout, retries=False, maxsize=1,
            cert_reqs="CERT_REQUIRED", ca_certs=settings.OUTBOUND_CA_BUNDLE or certifi.where(),
            server_hostname=target.host, assert_hostname=target.host, watch=watch,
        )
    return WatchedHTTPPool(target.address, target.port, timeout=timeout, retries=False, maxsize=1, watch=watch)


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def _read(response, *, max_bytes: int, deadline: float) -> tuple[bytes, bool]:
    chunks, size = [], 0
    for chunk in response.stream(16 * 1024, decode_content=True):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
        if time.monotonic() > deadline:
            raise OutboundFailed("the answer took too long")
    return b"".join(chunks), False


def outbound_request(
    method: str, url: str, *, body: bytes | None = None, headers: dict | None = None, timeout: float,
    max_bytes: int, redirects: int = 0, content_types: tuple[str, ...] | None = None,
) -> OutboundAnswer:
    """
    One request under the rules above; the answer, whatever its status (a
    redirect when ``redirects`` is 0 is answered as it is; one more than
    ``redirects`` otherwise is refused). OutboundRefused, OutboundFailed.
    """
    deadline = time.monotonic() + timeout
    hops = 0
    while True:
        target = outbound_target(url)
        left = max(0.05, deadline - time.monotonic())
        watch = Watch(left)
        pool = _pool(target, urllib3.Timeout(connect=min(timeout, left), read=min(timeout, left)), watch)
        try:
            response = pool.urlopen(
                method, target.path, body=body, redirect=False, retries=False, preload_content=False,
                assert_same_host=False,
                headers={"Host": _host_header(target), "User-Agent": USER_AGENT, **(headers or {})},
            )
        except urllib3.exceptions.HTTPError as error:
            watch.stop()
            pool.close()
            if watch.expired:
                raise OutboundFailed("the answer took too long") from error
            raise OutboundFailed(f"{type(error).__name__}: {error}") from error
        try:
            if watch.expired:  # headers cut off at the deadline may parse as a whole answer
                raise OutboundFailed("the answer took too long")
            location = response.headers.get("Location")
            if response.status in REDIRECT_STATUSES and location and redirects:
                hops += 1
                if hops > redirects:
                    raise OutboundRefused("redirects", f"redirected more than {redirects} times")
                url = urljoin(url, location)
                if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                    method, body = "GET", None
                continue
            content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if content_types is not None and content_type not in content_types:
                raise OutboundRefused("content_type", f"answered {content_type or 'no type'}, not one of {content_types}")
            try:
                data, truncated = _read(response, max_bytes=max_bytes, deadline=deadline)
            except urllib3.exceptions.HTTPError as error:
                if watch.expired:
                    raise OutboundFailed("the answer took too long") from error
                raise OutboundFailed(f"{type(error).__name__}: {error}") from error
            if watch.expired:  # a body without a length, cut off at the deadline, reads as complete
                raise OutboundFailed("the answer took too long")
            return OutboundAnswer(response.status, url, content_type, data, truncated, dict(response.headers))
        finally:
            watch.stop()
            response.release_conn()
            pool.close()
