"""
Settings from the environment (core.env, backend.settings) and the system
checks of rules across settings (core.checks, chat.checks): a variable that
does not parse stops the import naming itself; a bad combination fails
``manage.py check`` with its reason.
"""

import ipaddress
import json
import os
import subprocess
import sys

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from core.env import Env, networks, rate, redis_urls
from tests import ROOT

# --- Reading variables (core.env) --------------------------------------------------------------


@pytest.fixture
def env(monkeypatch):
    """An Env over a clean set of test variables: ``env.set(NAME="value")``."""
    reader = Env()

    def set_variables(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    reader.set = set_variables
    return reader


def test_a_missing_variable_is_its_default(env):
    assert env.int("TEST_UNSET_NUMBER", default=8) == 8
    assert env.bool("TEST_UNSET_SWITCH", default=True) is True
    assert env.str("TEST_UNSET_TEXT", default="pubsub") == "pubsub"
    assert env.list("TEST_UNSET_LIST", default=["a"]) == ["a"]


@pytest.mark.parametrize("value, number", [("12", 12), (" 12 ", 12), ("", 8), ("  ", 8), ("-3", -3)])
def test_a_number_set_to_nothing_is_its_default(env, value, number):
    env.set(TEST_NUMBER=value)
    assert env.int("TEST_NUMBER", default=8) == number


@pytest.mark.parametrize("value", ["eight", "1.5", "12k", "0x10"])
def test_a_bad_number_fails_naming_its_variable(env, value):
    env.set(DATABASE_THREADS=value)
    with pytest.raises(ImproperlyConfigured, match=rf"^DATABASE_THREADS must be a whole number, got '{value}'$"):
        env.int("DATABASE_THREADS", default=8)


def test_a_number_out_of_its_bounds_fails_naming_its_variable(env):
    env.set(PUSH_BODY_EXCERPT="1001", HEALTH_CHECK_TIMEOUT="0")
    with pytest.raises(ImproperlyConfigured, match="PUSH_BODY_EXCERPT must be at most 1000, got 1001"):
        env.int("PUSH_BODY_EXCERPT", default=120, minimum=0, maximum=1000)
    with pytest.raises(ImproperlyConfigured, match="HEALTH_CHECK_TIMEOUT must be at least 1, got 0"):
        env.int("HEALTH_CHECK_TIMEOUT", default=2, minimum=1)


@pytest.mark.parametrize(
    "value, switch",
    [("1", True), ("true", True), (" Yes ", True), ("on", True), ("0", False), ("false", False), ("no", False),
     ("off", False), ("", True)],
)
def test_switches(env, value, switch):
    env.set(TEST_SWITCH=value)
    assert env.bool("TEST_SWITCH", default=True) is switch


def test_a_list_is_comma_separated_items_stripped_blanks_dropped(env):
    env.set(DJANGO_ALLOWED_HOSTS="a.example, b.example,, ", PUSH_WEBPUSH_HOSTS="")
    assert env.list("DJANGO_ALLOWED_HOSTS", default=["localhost"]) == ["a.example", "b.example"]
    assert env.list("PUSH_WEBPUSH_HOSTS", default=["fcm.googleapis.com"]) == [], "set to nothing is an empty list"


def test_a_value_starting_with_a_dollar_is_taken_as_it_is(env):
    # django-environ alone would read "$abc" as "the value of the variable abc".
    env.set(DJANGO_SECRET_KEY="$q*eo+c&2!)u9^tpd6f=0szxt6", TEST_SECRET_NUMBER="$DATABASE_THREADS")
    assert env.str("DJANGO_SECRET_KEY", default="") == "$q*eo+c&2!)u9^tpd6f=0szxt6"
    with pytest.raises(ImproperlyConfigured, match="TEST_SECRET_NUMBER must be a whole number"):
        env.int("TEST_SECRET_NUMBER", default=1)


def test_a_choice_outside_its_choices_fails_naming_its_variable(env):
    env.set(DJANGO_LOG_FORMAT="xml")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_LOG_FORMAT must be one of text, json; got 'xml'"):
        env.str("DJANGO_LOG_FORMAT", default="text", choices=("text", "json"))


def test_networks(env):
    env.set(TRUSTED_PROXIES=" 10.0.0.0/8, ::1,", METRICS_ALLOWED_NETWORKS="")
    assert env("TRUSTED_PROXIES", cast=networks, default="") == (
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"),
    )
    assert env("METRICS_ALLOWED_NETWORKS", cast=networks, default="127.0.0.0/8") == ()
    assert env("TEST_UNSET_NETWORKS", cast=networks, default="127.0.0.0/8,::1/128") == (
        ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"),
    ), "a default written as text is read as a value"
    env.set(TRUSTED_PROXIES="10.0.0.0/8, office")
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES must be a list of addresses or networks"):
        env("TRUSTED_PROXIES", cast=networks, default="")


def test_redis_urls(env):
    env.set(CHANNEL_LAYER_REDIS_URLS=" redis://a:6379/0, rediss://u:p@b:6380/1,, unix:///run/redis.sock, redis://c ")
    assert env("CHANNEL_LAYER_REDIS_URLS", cast=redis_urls, default="") == [
        "redis://a:6379/0", "rediss://u:p@b:6380/1", "unix:///run/redis.sock", "redis://c",
    ]
    env.set(CHANNEL_LAYER_REDIS_URLS="")
    assert env("CHANNEL_LAYER_REDIS_URLS", cast=redis_urls, default="") == []


@pytest.mark.parametrize(
    "value, message",
    [
        ("redis://a:6379/0,a:6380", "'a:6380': Redis URL must specify one of the following schemes"),
        ("http://a:6379", "'http://a:6379': Redis URL must specify one of the following schemes"),
        ("redis://a:port/0", "'redis://a:port/0': Port could not be cast to integer"),
        ("redis://", "'redis://' names no host"),
        ("redis://a:6379/cache", "'redis://a:6379/cache': the database must be a number"),
        ("redis://a:6379/0, redis://a:6379/0", "a list of different Redis URLs: 'redis://a:6379/0' is listed twice"),
    ],
)
def test_a_bad_list_of_redis_urls_fails_naming_its_variable(env, value, message):
    env.set(CHANNEL_LAYER_REDIS_URLS=value)
    with pytest.raises(ImproperlyConfigured, match="^CHANNEL_LAYER_REDIS_URLS must be ") as error:
        env("CHANNEL_LAYER_REDIS_URLS", cast=redis_urls, default="")
    assert message in str(error.value)


@pytest.mark.parametrize(
    "value, setting",
    [(None, "5/min"), ("10/s", "10/s"), (" 3/Hour ", "3/hour"), ("100/day", "100/day"), ("3/10s", "3/10s"),
     ("20/10sec", "20/10sec"), ("", None), ("0", None), ("off", None), ("OFF", None)],
)
def test_a_rate_is_kept_as_trimmed_text_or_none_for_off(env, monkeypatch, value, setting):
    if value is None:
        monkeypatch.delenv("THROTTLE_TEST", raising=False)
    else:
        env.set(THROTTLE_TEST=value)
    assert env("THROTTLE_TEST", cast=rate, default="5/min") == setting


@pytest.mark.parametrize("value", ["10", "10/", "/min", "0/min", "-1/min", "1.5/min", "10/week", "many/min"])
def test_a_bad_rate_fails_naming_its_variable(env, value):
    env.set(THROTTLE_TEST=value)
    with pytest.raises(ImproperlyConfigured, match="^THROTTLE_TEST must be a rate: invalid rate"):
        env("THROTTLE_TEST", cast=rate, default="5/min")


# --- The settings module -----------------------------------------------------------------------


def import_settings(**env) -> subprocess.CompletedProcess:
    """A fresh interpreter importing the settings with ``env`` set."""
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, capture_output=True, text=True,
        timeout=60, env={**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings", **env},
    )


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("DATABASE_THREADS", "eight", "DATABASE_THREADS must be a whole number, got 'eight'"),
        ("THROTTLE_LOGIN_IP", "20/fortnight", "THROTTLE_LOGIN_IP must be a rate: invalid rate '20/fortnight'"),
        ("SOCKET_RATE_MESSAGES", "lots", "SOCKET_RATE_MESSAGES must be a rate: invalid rate 'lots'"),
        ("METRICS_ALLOWED_NETWORKS", "office", "METRICS_ALLOWED_NETWORKS must be a list of addresses or networks"),
        ("CHANNEL_LAYER", "kafka", "CHANNEL_LAYER must be one of pubsub, lists; got 'kafka'"),
        ("CHANNEL_LAYER_REDIS_URLS", "redis://a/0;b/0", "CHANNEL_LAYER_REDIS_URLS must be a list of Redis URLs"),
    ],
)
def test_a_bad_value_stops_the_import_naming_its_variable(name, value, message):
    result = import_settings(**{name: value})
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr


def redis_settings(**env) -> dict:
    """The channel layer's backend and hosts, and the cache's Redis, as the settings make them from ``env``."""
    script = (
        "import json, django; django.setup(); from django.conf import settings;"
        "layer = settings.CHANNEL_LAYERS['default'];"
        "print(json.dumps({'backend': layer['BACKEND'].rsplit('.', 1)[1],"
        " 'hosts': [host['address'] for host in layer['CONFIG'].get('hosts', [])],"
        " 'cache': settings.CACHES['default'].get('LOCATION')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings", "CHANNEL_LAYER_REDIS_URLS": "", **env},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_channel_layer_shards_over_its_own_redis_urls_and_the_rest_stays_on_redis_url():
    shards = "redis://layer-a:6379/0,redis://layer-b:6379/0"
    assert redis_settings(REDIS_URL="redis://main:6379/3") == {
        "backend": "ProcessLocalChannelsLayer", "hosts": ["redis://main:6379/3"], "cache": "redis://main:6379/3",
    }, "by default the layer is on REDIS_URL alone"
    assert redis_settings(REDIS_URL="redis://main:6379/3", CHANNEL_LAYER_REDIS_URLS=shards) == {
        "backend": "ProcessLocalChannelsLayer", "hosts": ["redis://layer-a:6379/0", "redis://layer-b:6379/0"],
        "cache": "redis://main:6379/3",
    }
    assert redis_settings(REDIS_URL="redis://main:6379/3", CHANNEL_LAYER_REDIS_URLS=shards, CHANNEL_LAYER="lists")[
        "hosts"
    ] == ["redis://layer-a:6379/0", "redis://layer-b:6379/0"]


def test_channel_layer_redis_urls_without_redis_url_stops_the_import():
    result = import_settings(REDIS_URL="", CHANNEL_LAYER_REDIS_URLS="redis://layer-a:6379/0,redis://layer-b:6379/1")
    assert result.returncode != 0
    assert "ImproperlyConfigured: CHANNEL_LAYER_REDIS_URLS needs REDIS_URL" in result.stderr


def test_the_embedded_default_needs_no_variable():
    names = [line.split("=", 1)[0].lstrip("# ") for line in (ROOT / ".env.example").read_text().splitlines()
             if line.startswith("# ") and "=" in line and line[2:3].isupper()]
    env = {name: value for name, value in os.environ.items() if name not in names}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"], cwd=ROOT, capture_output=True, text=True,
        timeout=60, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


# --- System checks (core.checks, chat.checks) -------------------------------------------------


def errors(*ids: str) -> list[str]:
    return [message.id for message in run_checks() if message.id in ids]


def test_the_settings_pass_every_check():
    assert errors("core.E001", "core.E002", "chat.E001", "chat.E002") == []


def test_a_malformed_socket_rate_fails_the_check(settings):
    with override_settings(SOCKET_RATE_LIMITS={**settings.SOCKET_RATE_LIMITS, "typing": "10 per minute"}):
        [error] = [message for message in run_checks() if message.id == "chat.E001"]
    assert error.msg.startswith("SOCKET_RATE_LIMITS['typing'] is not a rate: invalid rate '10 per minute'")


def test_a_socket_frame_kind_without_a_rate_fails_the_check():
    with override_settings(SOCKET_RATE_LIMITS={"message": "20/10s", "typing": None}):
        [error] = [message for message in run_checks() if message.id == "chat.E001"]
    assert error.msg == "SOCKET_RATE_LIMITS has no rate for 'frame' frames"


def test_a_vapid_key_without_a_subject_to_contact_fails_the_check():
    with override_settings(PUSH_VAPID_PRIVATE_KEY="a-key", PUSH_VAPID_SUBJECT=""):
        assert errors("chat.E002") == ["chat.E002"]
    with override_settings(PUSH_VAPID_PRIVATE_KEY="a-key", PUSH_VAPID_SUBJECT="ops@example.com"):
        assert errors("chat.E002") == ["chat.E002"]
    with override_settings(PUSH_VAPID_PRIVATE_KEY="a-key", PUSH_VAPID_SUBJECT="mailto:ops@example.com"):
        assert errors("chat.E002") == []
    with override_settings(PUSH_VAPID_PRIVATE_KEY="", PUSH_VAPID_SUBJECT=""):
        assert errors("chat.E002") == [], "no key, no Web Push, no subject needed"


def test_a_malformed_throttle_rate_fails_the_check(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "register": "20/fortnight"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        [error] = [message for message in run_checks() if message.id == "core.E001"]
    assert error.msg.startswith("REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['register'] is not a rate")


def test_a_throttle_scope_without_a_rate_fails_the_check(settings):
    rates = {scope: rate for scope, rate in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items() if scope != "report"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        [error] = [message for message in run_checks() if message.id == "core.E002"]
    assert "'report'" in error.msg


def test_manage_py_check_fails_loudly_on_a_bad_combination():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PUSH_VAPID_PRIVATE_KEY": "a-key", "PUSH_VAPID_SUBJECT": ""},
    )
    assert result.returncode != 0
    assert "(chat.E002) PUSH_VAPID_SUBJECT must be a mailto: or https:// address" in result.stderr
