"""The typing throttle, on a fake clock."""

from chat.realtime.throttle import TypingThrottle
from tests.plugins.clocks import FakeClock


def test_one_notice_per_user_and_room_per_interval():
    clock = FakeClock()
    throttle = TypingThrottle(interval=2, clock=clock)
    assert throttle.allow("room", "ann") is True
    assert throttle.allow("room", "ann") is False
    assert throttle.allow("room", "ben") is True, "per user"
    assert throttle.allow("other", "ann") is True, "per room"
    clock.advance(1.9)
    assert throttle.allow("room", "ann") is False
    clock.advance(0.1)
    assert throttle.allow("room", "ann") is True


def test_interval_is_read_from_settings_at_each_use(settings):
    clock = FakeClock()
    throttle = TypingThrottle(clock=clock)
    settings.TYPING_INTERVAL = 10
    throttle.allow("room", "ann")
    clock.advance(5)
    assert throttle.allow("room", "ann") is False
    settings.TYPING_INTERVAL = 1
    assert throttle.allow("room", "ann") is True


def test_memory_stays_bounded_by_forgetting_expired_entries():
    clock = FakeClock()
    throttle = TypingThrottle(interval=2, clock=clock, max_entries=100)
    for n in range(100):
        throttle.allow("room", f"user{n}")
    clock.advance(3)
    throttle.allow("room", "late")
    assert len(throttle) == 1
