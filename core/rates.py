"""
The one syntax of every rate limit, REST (``THROTTLE_*``, core.throttling) and
sockets (``SOCKET_RATE_*``, chat.realtime.ratelimit) alike, and its parser.

A rate is ``COUNT/PERIOD``: at most COUNT hits per PERIOD, where PERIOD is a
unit or a number and a unit (``20/10s``, ``60/min``, ``3/0.5s``, ``100/2hour``);
units are s, sec, second; m, min, minute; h, hour; d, day (any case, spaces
allowed around the parts). ``off``, ``0`` or nothing is no limit.

    Rate.parse("20/10s")   # Rate(count=20, period=10.0)
    Rate.parse("60/min")   # Rate(count=60, period=60.0)
    Rate.parse("off")      # None
    Rate.parse("20/week")  # ValueError: invalid rate '20/week': ...

Only the syntax is shared: DRF's sliding window counts REST requests and GCRA
counts socket frames, each from the same ``Rate``.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

UNITS = {
    "s": 1.0, "sec": 1.0, "second": 1.0,
    "m": 60.0, "min": 60.0, "minute": 60.0,
    "h": 3600.0, "hour": 3600.0,
    "d": 86400.0, "day": 86400.0,
}
OFF = frozenset({"", "off", "0"})
SYNTAX = "COUNT/PERIOD such as 20/10s, 5/s, 60/min or 100/hour (units s, sec, second, m, min, minute, h, hour, d, day), or off"

_RATE = re.compile(r"(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(" + "|".join(sorted(UNITS, key=len, reverse=True)) + ")")


@dataclass(frozen=True)
class Rate:
    """At most ``count`` hits per ``period`` seconds."""

    count: int
    period: float

    def __post_init__(self):
        if self.count < 1 or not self.period > 0:
            raise ValueError(f"a rate needs a count >= 1 and a period > 0, not {self.count}/{self.period}s")

    @classmethod
    def parse(cls, text: str | None) -> "Rate | None":
        """A rate in the syntax above; None (no limit) for ``None``, ``""``, ``"off"`` or ``"0"``."""
        text = (text or "").strip().lower()
        if text in OFF:
            return None
        match = _RATE.fullmatch(text)
        if match is None:
            raise ValueError(f"invalid rate {text!r}: expected {SYNTAX}")
        count, number, unit = match.groups()
        try:
            return cls(int(count), float(number or 1) * UNITS[unit])
        except ValueError as error:
            raise ValueError(f"invalid rate {text!r}: {error}") from None

    @property
    def interval(self) -> float:
        """Seconds of capacity one hit uses."""
        return self.period / self.count

    def __str__(self) -> str:
        return f"{self.count}/{self.period:g}s"


@lru_cache(maxsize=64)
def configured_rate(text: str | None) -> Rate | None:
    """``Rate.parse`` of a settings value, parsed once."""
    return Rate.parse(text)
