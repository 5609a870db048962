"""
core.outbound against a real HTTPS server on 127.0.0.1 (tests/plugins/receivers.py):
https only, public addresses only (127.0.0.1 allow-listed by the fixture, nothing
else), the checked address pinned, redirects checked, bytes, time and types bounded.
"""

import ipaddress

import pytest

from core import outbound
from core.errors import InvalidInput
from core.outbound import OutboundFailed, OutboundRefused, address_is_public, outbound_request, outbound_url_check


@pytest.mark.parametrize(
    "address, public",
    [
        ("93.184.216.34", True), ("2606:4700:4700::1111", True),
        ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
        ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
        ("240.0.0.1", False), ("255.255.255.255", False), ("::1", False), ("::", False), ("fe80::1", False),
        ("fc00::1", False), ("ff02::1", False), ("::ffff:127.0.0.1", False), ("::ffff:93.184.216.34", False),
        ("2002:7f00:1::", False), ("64:ff9b::7f00:1", False),
    ],
)
def test_only_public_addresses_are_public(address, public):
    assert address_is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://93.184.216.34/hook", "scheme"), ("ftp://93.184.216.34/", "scheme"), ("https://", "url"),
        ("https://user:pass@93.184.216.34/", "url"), ("https://93.184.216.34/a b", "url"), ("", "url"),
        ("https://127.0.0.1/", "address"), ("https://10.0.0.8:8443/", "address"), ("https://[::1]/", "address"),
        ("https://[::ffff:10.0.0.1]/", "address"), ("https://169.254.169.254/latest/meta-data/", "address"),
        ("https://no-such-host.invalid/", "unresolvable"), ("https://x/" + "a" * 2000, "url"),
    ],
)
def test_urls_the_rules_refuse(settings, url, reason):
    settings.OUTBOUND_ALLOWED_HOSTS, settings.OUTBOUND_HTTP_HOSTS = [], []
    with pytest.raises(OutboundRefused) as refused:
        outbound.outbound_target(url)
    assert refused.value.reason == reason
    with pytest.raises(InvalidInput) as invalid:
        outbound_url_check(url)
    assert invalid.value.code == "invalid_url" and invalid.value.field == "url"


def test_a_name_resolving_to_a_private_address_is_refused_unless_allow_listed(settings, receiver):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with pytest.raises(OutboundRefused, match="not public") as refused:
        outbound_request("GET", receiver.url("/", host="localhost"), timeout=5, max_bytes=100)
    assert refused.value.reason == "address" and receiver.requests == []
    settings.OUTBOUND_ALLOWED_HOSTS = ["localhost"]
    assert outbound_request("GET", receiver.url("/", host="localhost"), timeout=5, max_bytes=100).status == 200


def test_plain_http_only_to_listed_hosts(settings, receiver):
    with pytest.raises(InvalidInput) as refused:
        outbound_url_check("http://127.0.0.1:9/")
    settings.OUTBOUND_HTTP_HOSTS = ["127.0.0.1"]
    assert outbound_url_check("http://127.0.0.1:9/") == "http://127.0.0.1:9/"
    assert refused.value.code == "invalid_url"


def test_a_request_reaches_the_receiver_with_tls_verified_against_the_test_ca(receiver):
    receiver.answer("/hook", status=201, headers={"Content-Type": "text/plain"}, body=b"ok")
    answer = outbound_request("POST", receiver.url("/hook"), body=b'{"a":1}', headers={"X-Test": "1"},
                              timeout=5, max_bytes=100)
    assert (answer.status, answer.body, answer.truncated, answer.content_type) == (201, b"ok", False, "text/plain")
    [request] = receiver.requests
    assert request["body"] == b'{"a":1}' and request["headers"]["x-test"] == "1"
    assert request["headers"]["host"] == f"127.0.0.1:{receiver.port}"


def test_verification_is_never_off(settings, receiver):
    settings.OUTBOUND_CA_BUNDLE = ""  # the public roots: the test CA is not among them
    with pytest.raises(OutboundFailed, match="SSL|certificate"):
        outbound_request("GET", receiver.url("/"), timeout=5, max_bytes=100)
    assert receiver.requests == []


def test_the_checked_address_is_the_one_connected_to(settings, receiver, monkeypatch):
    """A name looked up once: the connection goes to what the check saw, TLS checks the name."""
    lookups = []

    def resolve(host, port):
        lookups.append(host)
        return ["127.0.0.1"] if host == "receiver.test" else outbound_resolve(host, port)

    outbound_resolve = outbound.resolve
    monkeypatch.setattr(outbound, "resolve", resolve)
    settings.OUTBOUND_ALLOWED_HOSTS = ["receiver.test"]
    answer = outbound_request("GET", receiver.url("/pinned", host="receiver.test"), timeout=5, max_bytes=100)
    assert answer.status == 200 and lookups == ["receiver.test"]
    assert receiver.requests[0]["headers"]["host"] == f"receiver.test:{receiver.port}"


def test_dns_rebinding_is_refused_at_request_time(settings, receiver, monkeypatch):
    """A name that answered a public address when the URL was checked and 127.0.0.1 now reaches nothing."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    monkeypatch.setattr(outbound, "resolve", lambda host, port: next(answers))
    url = receiver.url("/hook", host="receiver.test")
    assert outbound_url_check(url) == url
    with pytest.raises(OutboundRefused) as refused:
        outbound_request("POST", url, body=b"{}", timeout=5, max_bytes=100)
    assert refused.value.reason == "address" and receiver.requests == []


def test_a_redirect_to_a_private_address_is_refused(receiver):
    receiver.answer("/moved", status=302, headers={"Location": receiver.url("/inside", host="localhost")})
    with pytest.raises(OutboundRefused) as refused:
        outbound_request("GET", receiver.url("/moved"), timeout=5, max_bytes=100, redirects=3)
    assert refused.value.reason == "address"
    assert [r["path"] for r in receiver.requests] == ["/moved"]


def test_redirects_are_followed_up_to_the_bound_each_checked(receiver):
    receiver.answer("/a", status=301, headers={"Location": "/b"})
    receiver.answer("/b", status=302, headers={"Location": receiver.url("/c")})
    receiver.page("/c", "<title>C</title>")
    answer = outbound_request("GET", receiver.url("/a"), timeout=5, max_bytes=100, redirects=2)
    assert (answer.status, answer.url, answer.body) == (200, receiver.url("/c"), b"<title>C</title>")
    receiver.answer("/a", status=301, headers={"Location": "/b"})
    receiver.answer("/b", status=302, headers={"Location": receiver.url("/c")})
    with pytest.raises(OutboundRefused) as refused:
        outbound_request("GET", receiver.url("/a"), timeout=5, max_bytes=100, redirects=1)
    assert refused.value.reason == "redirects"


def test_without_redirects_a_redirect_is_the_answer(receiver):
    receiver.answer("/hook", status=307, headers={"Location": receiver.url("/elsewhere")})
    answer = outbound_request("POST", receiver.url("/hook"), body=b"{}", timeout=5, max_bytes=100)
    assert answer.status == 307 and receiver.to("/elsewhere") == []


def test_a_large_answer_is_cut_off(receiver):
    receiver.page("/big", "x" * 5_000_000)
    answer = outbound_request("GET", receiver.url("/big"), timeout=10, max_bytes=1000)
    assert answer.truncated and answer.body == b"x" * 1000


def test_a_type_not_asked_for_is_refused_before_its_body_is_read(receiver):
    receiver.page("/file", b"\x89PNG" + b"\0" * 5_000_000, content_type="image/png")
    with pytest.raises(OutboundRefused) as refused:
        outbound_request("GET", receiver.url("/file"), timeout=5, max_bytes=100, content_types=("text/html",))
    assert refused.value.reason == "content_type"


def test_a_receiver_that_does_not_answer_in_time_fails(settings, receiver):
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(OutboundFailed):
            outbound_request("GET", f"https://127.0.0.1:{port}/", timeout=1, max_bytes=100)


def _dripping_server(start: bytes, drip: bytes, *, every: float, times: int):
    """A server on 127.0.0.1 that sends ``start``, then ``drip`` every ``every`` seconds: always within a read timeout."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    stop = threading.Event()

    def serve():
        peer, _ = server.accept()
        with peer:
            peer.settimeout(0.5)
            try:
                peer.recv(65536)
            except OSError:
                pass  # a TLS client speaks first; a plain one sends its request
            try:
                peer.sendall(start)
                for _ in range(times):
                    if stop.wait(every):
                        return
                    peer.sendall(drip)
            except OSError:
                return  # the client gave up: what the test wants

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, stop, thread


@pytest.mark.parametrize(
    "scheme, start, drip",
    [
        ("http", b"HTTP/1.1 200 OK\r\n", b"X-Drip: 1\r\n"),  # headers that never end
        ("http", b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n", b"x"),  # a body
        ("https", b"\x16\x03\x03\x40\x00", b"\x00"),  # a TLS handshake record that never ends
    ],
    ids=["headers", "body", "tls-handshake"],
)
def test_a_peer_dripping_bytes_is_cut_off_at_the_timeout(settings, receiver, scheme, start, drip):
    """A byte before each read times out must not hold the request (a worker) beyond ``timeout`` in all."""
    import time

    settings.OUTBOUND_HTTP_HOSTS = ["127.0.0.1"]
    server, stop, thread = _dripping_server(start, drip, every=0.2, times=40)
    started = time.monotonic()
    try:
        with pytest.raises(OutboundFailed):
            outbound_request("GET", f"{scheme}://127.0.0.1:{server.getsockname()[1]}/", timeout=1, max_bytes=100_000)
        assert time.monotonic() - started < 2.5
    finally:
        stop.set()
        thread.join(5)
        server.close()
