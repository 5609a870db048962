"""The server's per-connection mechanisms (backend.server), without a network."""

import asyncio

import pytest

from backend.server import Inbox, SendWatch, redact_token, unsent_bytes


class Timers:
    """A stand-in for reactor.callLater: timers fire when the test says."""

    def __init__(self):
        self.pending = []

    def call_later(self, delay, function, *args):
        timer = Timer(delay, function, args)
        self.pending.append(timer)
        return timer

    def fire_all(self):
        for timer in [t for t in self.pending if t.active()]:
            timer.fired = True
            timer.function(*timer.args)


class Timer:
    def __init__(self, delay, function, args):
        self.delay, self.function, self.args = delay, function, args
        self.cancelled = self.fired = False

    def active(self):
        return not (self.cancelled or self.fired)

    def cancel(self):
        self.cancelled = True


def watch(timers, stuck):
    return SendWatch(timeout=30, on_stuck=lambda: stuck.append(True), call_later=timers.call_later)


def test_a_socket_paused_past_the_timeout_is_stuck():
    timers, stuck = Timers(), []
    send_watch = watch(timers, stuck)
    send_watch.pauseProducing()
    send_watch.pauseProducing()  # Twisted may pause twice: still one timer
    assert [t.delay for t in timers.pending] == [30]
    timers.fire_all()
    assert stuck == [True]


def test_a_socket_that_drains_in_time_is_not_stuck():
    timers, stuck = Timers(), []
    send_watch = watch(timers, stuck)
    send_watch.pauseProducing()
    send_watch.resumeProducing()
    timers.fire_all()
    assert stuck == [] and not send_watch.paused


async def test_drained_returns_at_once_unless_paused_then_on_resume_or_stop():
    timers, stuck = Timers(), []
    send_watch = watch(timers, stuck)
    await asyncio.wait_for(send_watch.drained(), 0.1)
    for end in (send_watch.resumeProducing, send_watch.stopProducing):
        send_watch.pauseProducing()
        waiting = asyncio.ensure_future(send_watch.drained())
        await asyncio.sleep(0)
        assert not waiting.done()
        end()
        await asyncio.wait_for(waiting, 0.1)


async def test_inbox_calls_back_once_when_it_drains_below_the_mark():
    inbox, drained = Inbox(), []
    for n in range(4):
        inbox.put_nowait(n)
    inbox.when_below(2, lambda: drained.append(inbox.qsize()))
    assert [await inbox.get(), await inbox.get()] == [0, 1]
    assert drained == []
    await inbox.get()
    await inbox.get()
    assert drained == [1]


@pytest.mark.parametrize(
    "path, logged",
    [
        ("/api/chat/?token=abc.def&x=1", "/api/chat/?token=[redacted]&x=1"),
        ("/ws/1/?a=1&token=abc", "/ws/1/?a=1&token=[redacted]"),
        ("/api/chat/?mytoken=abc", "/api/chat/?mytoken=abc"),
        ("/api/chat/", "/api/chat/"),
    ],
)
def test_tokens_are_redacted_from_logged_paths(path, logged):
    assert redact_token(path) == logged


def test_unsent_bytes_of_a_twisted_transport_and_of_others():
    class Transport:
        dataBuffer, offset, _tempDataLen = b"x" * 100, 40, 25

    assert unsent_bytes(Transport()) == 85
    assert unsent_bytes(object()) == 0
