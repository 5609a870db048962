"""A fake clock for the code that takes one (sessions, presence, rate limits)."""

import time

import pytest


class FakeClock:
    """A clock for code that takes one: it moves only when told to."""

    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fake wall clock starting at the real time (Redis expiries are real)."""
    return FakeClock(time.time())
