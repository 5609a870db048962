"""
The one rate syntax (core.rates) of the REST throttles and the socket limits:
every value that worked for either before still works, for both.
"""

import pytest

from core.rates import Rate

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


@pytest.mark.parametrize(
    "text, rate",
    [
        # The sockets' values: a count per a number of a unit.
        ("20/10s", Rate(20, 10.0)),
        ("5/s", Rate(5, 1.0)),
        ("30/m", Rate(30, MINUTE)),
        ("30/min", Rate(30, MINUTE)),
        ("100/h", Rate(100, HOUR)),
        ("2/0.5s", Rate(2, 0.5)),
        ("3/2min", Rate(3, 2 * MINUTE)),
        (" 20 / 10S ", Rate(20, 10.0)),
        # The REST values: a count per a unit, spelt short or long.
        ("10/sec", Rate(10, 1.0)),
        ("60/min", Rate(60, MINUTE)),
        ("20/hour", Rate(20, HOUR)),
        ("100/d", Rate(100, DAY)),
        ("100/day", Rate(100, DAY)),
        (" 3/Hour ", Rate(3, HOUR)),
        # Now either takes both.
        ("3/10s", Rate(3, 10.0)),
        ("10/second", Rate(10, 1.0)),
        ("10/minute", Rate(10, MINUTE)),
        ("5/2hour", Rate(5, 2 * HOUR)),
        ("20/10d", Rate(20, 10 * DAY)),
        ("1/7day", Rate(1, 7 * DAY)),
        ("600/15sec", Rate(600, 15.0)),
    ],
)
def test_parse_reads_count_per_period(text, rate):
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "off", "OFF", " Off ", "0", None])
def test_off_nothing_or_zero_is_no_limit(text):
    assert Rate.parse(text) is None


@pytest.mark.parametrize(
    "text",
    ["20", "20/", "/10s", "20/10", "a/s", "-1/s", "20/10s/x", "1.5/s", "0/10s", "0/min", "5/0s", "10/week",
     "10/10weeks", "many/min", "10/min10", "10//min"],
)
def test_anything_else_is_refused_with_a_message_naming_it(text):
    with pytest.raises(ValueError, match=f"invalid rate '{text.strip().lower()}'"):
        Rate.parse(text)


def test_a_rate_needs_a_positive_count_and_period():
    with pytest.raises(ValueError):
        Rate(0, 10)
    with pytest.raises(ValueError):
        Rate(1, 0)
