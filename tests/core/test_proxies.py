"""
TRUSTED_PROXIES (core.proxies): X-Forwarded-For and -Proto are believed from
the named proxies only, as a real server sees them.
"""

import ipaddress

import pytest

from core.proxies import UNKNOWN_CLIENT, forwarded_scope
from tests.plugins.servers import http_request

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))


def scope(peer: str, *headers: tuple[bytes, bytes]) -> dict:
    return {"type": "http", "client": (peer, 51234), "headers": [(b"host", b"chat.example.com"), *headers]}


def test_a_trusted_proxy_names_the_client_right_to_left():
    seen = forwarded_scope(scope("10.0.0.2", (b"x-forwarded-for", b"6.6.6.6, 203.0.113.9, 10.0.0.7")), PROXIES)
    assert seen["client"] == ("203.0.113.9", 0), "the client's own entries (6.6.6.6) are not believed"
    assert (b"x-forwarded-for", b"6.6.6.6, 203.0.113.9, 10.0.0.7") in seen["headers"]


def test_repeated_headers_and_ipv6_are_read():
    seen = forwarded_scope(
        scope("10.0.0.2", (b"x-forwarded-for", b"2001:db8::1"), (b"x-forwarded-for", b"10.0.0.9")), PROXIES
    )
    assert seen["client"] == ("2001:db8::1", 0)


def test_only_proxies_in_the_chain_means_the_first_one():
    assert forwarded_scope(scope("10.0.0.2", (b"x-forwarded-for", b"10.0.0.5")), PROXIES)["client"] == ("10.0.0.5", 0)


@pytest.mark.parametrize(
    "value", [b"unknown", b"garbage", b"203.0.113.9, garbage", b"_hidden, 10.0.0.7", b"1.2.3.4:http"],
)
def test_an_unreadable_client_entry_is_an_unknown_client_never_the_proxy(value):
    seen = forwarded_scope(scope("10.0.0.2", (b"x-forwarded-for", value)), PROXIES)
    assert seen["client"] == (UNKNOWN_CLIENT, 0)
    assert forwarded_scope(scope("127.0.0.1", (b"x-forwarded-for", value)), PROXIES)["client"][0] == UNKNOWN_CLIENT


def test_unreadable_entries_left_of_the_client_are_not_read():
    seen = forwarded_scope(scope("10.0.0.2", (b"x-forwarded-for", b"garbage, unknown, 203.0.113.9")), PROXIES)
    assert seen["client"] == ("203.0.113.9", 0)


@pytest.mark.parametrize("value", [b"", b" , "])
def test_no_forwarded_entry_leaves_the_proxy_as_the_client(value):
    assert forwarded_scope(scope("10.0.0.2", (b"x-forwarded-for", value)), PROXIES)["client"] == ("10.0.0.2", 51234)


@pytest.mark.parametrize("value, client", [
    (b"203.0.113.9:4711", "203.0.113.9"),
    (b"[2001:db8::1]:4711", "2001:db8::1"),
    (b"[2001:db8::1]", "2001:db8::1"),
    (b"203.0.113.9, 10.0.0.7:443", "203.0.113.9"),
    (b"203.0.113.9, [::ffff:10.0.0.7]:443", "203.0.113.9"),
])
def test_entries_with_ports_are_read(value, client):
    assert forwarded_scope(scope("10.0.0.2", (b"x-forwarded-for", value)), PROXIES)["client"] == (client, 0)


def test_ipv4_mapped_addresses_are_their_ipv4_address():
    seen = forwarded_scope(scope("::ffff:10.0.0.2", (b"x-forwarded-for", b"203.0.113.9, ::ffff:10.0.0.7")), PROXIES)
    assert seen["client"] == ("203.0.113.9", 0), "a dual-stack listener's IPv4 proxy is still the proxy"
    assert forwarded_scope(scope("10.0.0.2", (b"x-forwarded-for", b"::ffff:203.0.113.9")), PROXIES)["client"] == (
        "203.0.113.9", 0,
    )


def test_anyone_else_loses_the_forwarded_headers():
    sent = scope(
        "198.51.100.4", (b"x-forwarded-for", b"10.0.0.1"), (b"x-forwarded-proto", b"https"),
        (b"x-forwarded-host", b"evil.example"),
    )
    seen = forwarded_scope(sent, PROXIES)
    assert seen["client"] == ("198.51.100.4", 51234)
    assert seen["headers"] == [(b"host", b"chat.example.com")]
    assert forwarded_scope(sent, ())["headers"] == [(b"host", b"chat.example.com")], "no proxies: none believed"


def test_num_proxies_is_refused_with_a_pointer_to_its_replacement():
    import os
    import subprocess
    import sys

    from tests import ROOT

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "NUM_PROXIES": "1"},
    )
    assert result.returncode != 0 and "TRUSTED_PROXIES" in result.stderr


def login_status(server, forwarded_for: str) -> int:
    login = {"email": "x@example.com", "password": "nope"}
    return http_request(f"{server.http}/api/auth/login/", data=login, headers={"X-Forwarded-For": forwarded_for}).status


def metrics_status(server, forwarded_for: str) -> int:
    return http_request(f"{server.http}/metrics", headers={"X-Forwarded-For": forwarded_for}).status


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_a_real_server_believes_its_proxy_and_nobody_else(start_server):
    limits = {"THROTTLE_LOGIN_IP": "1/min", "THROTTLE_LOGIN_EMAIL": "off"}
    behind_proxy = start_server(TRUSTED_PROXIES="127.0.0.1", **limits)
    # Two clients behind the proxy have a limit each.
    assert login_status(behind_proxy, "203.0.113.1") == 400
    assert login_status(behind_proxy, "203.0.113.2") == 400
    assert login_status(behind_proxy, "203.0.113.1") == 429
    # The metrics see the client's address, not the proxy's loopback one.
    assert metrics_status(behind_proxy, "203.0.113.1") == 403
    assert metrics_status(behind_proxy, "127.0.0.1") == 200
    assert metrics_status(behind_proxy, "garbage") == 403, "a header nobody can read does not make the proxy the client"
    assert metrics_status(behind_proxy, "127.0.0.1, unknown") == 403

    direct = start_server(**limits)  # no trusted proxies: the header is nobody's word
    assert login_status(direct, "203.0.113.1") == 400
    assert login_status(direct, "203.0.113.2") == 429
    assert metrics_status(direct, "203.0.113.1") == 200
