"""
Reading settings from the environment: django-environ's ``Env`` with the
project's rules, and the three value types it has no cast for. Used by
backend.settings only.

    env = Env()
    DEBUG = env.bool("DJANGO_DEBUG", default=True)
    DATABASE_THREADS = env.int("DATABASE_THREADS", default=8, minimum=1)
    TRUSTED_PROXIES = env("TRUSTED_PROXIES", cast=networks, default="")
    RATE = env("THROTTLE_USER", cast=rate, default="600/min")
    SHARDS = env("CHANNEL_LAYER_REDIS_URLS", cast=redis_urls, default="")

The rules, on top of the library's casts:

- a value that does not parse fails at once with ImproperlyConfigured naming
  its variable and what it should be (``DATABASE_THREADS must be a whole
  number, got 'eight'``);
- a number or a switch set to nothing (``DATABASE_THREADS=``, as compose files
  pass unset variables) means its default, as if unset;
- a default written as text is read as a value would be (``default="600/min"``
  gives what ``THROTTLE_USER=600/min`` gives);
- a list is comma-separated with each item stripped and blank items dropped
  (``a, b,`` is ``["a", "b"]``);
- values are taken as they are: django-environ would read a value starting
  with ``$`` as the name of another variable to read instead, and a secret key
  from Django's generator starts with ``$`` one time in 50.
"""

import ipaddress
import re
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from redis.connection import parse_url

from core.rates import Rate

NOTSET = environ.Env.NOTSET



class Env(environ.Env):
    """django-environ's reader with the rules in the module docstring."""

    # The switches' words as before (the library adds ok and y); any non-zero number is on too.
    BOOLEAN_TRUE_STRINGS = ("1", "true", "yes", "on")

    def get_value(self, var, cast=None, default=NOTSET, parse_default=False):
        if cast is None and default is not NOTSET and default is not None:
            cast = type(default)  # the library's smart cast
        value = self.ENVIRON.get(var)
        if value is None or (cast in (int, bool) and not value.strip()):
            if default is NOTSET:
                raise ImproperlyConfigured(f"Set the {var} environment variable")
            if not (parse_default or isinstance(default, str)) or default is None:
                return default
            value = default
        try:
            return self.parse_value(value, cast)
        except ValueError as error:
            detail = f"a whole number, got {value!r}" if cast is int else str(error)
            raise ImproperlyConfigured(f"{var} must be {detail}") from None

    @classmethod
    def parse_value(cls, value, cast):
        if cast is list or isinstance(cast, list):
            item = cast[0] if isinstance(cast, list) else str
            return [item(part.strip()) for part in value.split(",") if part.strip()]
        return super().parse_value(value, cast)

    def int(self, var, default=NOTSET, *, minimum: int | None = None, maximum: int | None = None) -> int:
        """A whole number, within ``minimum`` and ``maximum`` when given."""
        number = super().int(var, default)
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(f"{var} must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise ImproperlyConfigured(f"{var} must be at most {maximum}, got {number}")
        return number

    def str(self, var, default=NOTSET, multiline=False, choices=NOTSET) -> str:
        """Text as it is; with ``choices``, one of them."""
        value = super().str(var, default, multiline)
        if choices is not NOTSET and value not in choices:
            raise ImproperlyConfigured(f"{var} must be one of {', '.join(choices)}; got {value!r}")
        return value


def networks(value: str) -> tuple:
    """A comma-separated list of addresses or CIDR networks (``10.0.0.0/8,::1``); nothing for none."""
    try:
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in value.split(",") if item.strip())
    except ValueError as error:
        raise ValueError(f"a list of addresses or networks such as 10.0.0.0/8: {error}") from None


def rate(value: str) -> str | None:
    """A rate in core.rates' syntax, as the settings keep it (trimmed, lower case); None for off."""
    text = value.strip().lower()
    try:
        return None if Rate.parse(text) is None else text
    except ValueError as error:
        raise ValueError(f"a rate: {error}") from None


def redis_urls(value: str) -> list[str]:
    """
    A comma-separated list of Redis URLs, each one redis-py can connect to
    (``redis://``, ``rediss://`` or ``unix://``, naming a host or a socket,
    and a database by its number or not at all), none twice.
    """
    expected = "a list of Redis URLs such as redis://host:6379/0"
    urls = [item.strip() for item in value.split(",") if item.strip()]
    for url in urls:
        try:
            parts = parse_url(url)
        except ValueError as error:
            raise ValueError(f"{expected}: {url!r}: {error}") from None
        if not (parts.get("host") or parts.get("path")):
            raise ValueError(f"{expected}: {url!r} names no host")
        # redis-py would connect to database 0 when the path is not a number: say so instead.
        if not url.startswith("unix:") and not re.fullmatch(r"/?(\d+)?", urlsplit(url).path):
            raise ValueError(f"{expected}: {url!r}: the database must be a number")
    if len(set(urls)) < len(urls):
        twice = next(url for url in urls if urls.count(url) > 1)
        raise ValueError(f"a list of different Redis URLs: {twice!r} is listed twice")
    return urls
