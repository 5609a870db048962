"""The server's per-connection mechanisms (core.runtime.server), without a network."""

import asyncio

import pytest

import socket

from core.runtime.server import BoundedWebSocketProtocol, Inbox, SendWatch, redact_token, unsent_bytes, write_now


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


class PlainTransport:
    """What write_now reads of a Twisted TCP transport, over a real socket pair."""

    def __init__(self, sock, unsent=b""):
        self.socket, self.connected, self.disconnecting = sock, True, False
        self.dataBuffer, self.offset, self._tempDataLen = unsent, 0, 0
        self.buffered = []

    def buffered_write(self, data):
        self.buffered.append(bytes(data))


@pytest.fixture
def socket_pair():
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    yield ours, theirs
    ours.close()
    theirs.close()


def received(sock) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return b"".join(chunks)
        chunks.append(chunk)


def test_a_frame_goes_straight_to_an_idle_socket(socket_pair):
    ours, theirs = socket_pair
    transport = PlainTransport(ours)
    write_now(transport, transport.buffered_write, b"frame")
    assert received(theirs) == b"frame" and transport.buffered == []


def test_a_frame_waits_behind_what_is_unsent(socket_pair):
    ours, theirs = socket_pair
    transport = PlainTransport(ours, unsent=b"earlier")
    write_now(transport, transport.buffered_write, b"frame")
    assert received(theirs) == b"" and transport.buffered == [b"frame"]


def test_what_a_full_socket_does_not_take_is_buffered_in_order(socket_pair):
    ours, theirs = socket_pair
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    transport = PlainTransport(ours)
    data = bytes(range(256)) * 4096  # 1 MiB: more than the socket takes at once
    write_now(transport, transport.buffered_write, data)
    sent = received(theirs)
    assert 0 < len(sent) < len(data) and sent + b"".join(transport.buffered) == data


def test_a_closing_transport_is_left_to_twisted(socket_pair):
    ours, theirs = socket_pair
    transport = PlainTransport(ours)
    transport.disconnecting = True
    write_now(transport, transport.buffered_write, b"frame")
    assert received(theirs) == b"" and transport.buffered == [b"frame"]


class SlowCloser:
    """What _drop_unless_reading reads of a socket closed with 4008, and what it does."""

    STATE_CLOSED, state = "closed", "closing"
    _drop_unless_reading = BoundedWebSocketProtocol._drop_unless_reading

    def __init__(self, unsent: int):
        self.transport = PlainTransport(None, unsent=b"x" * unsent)
        self.dropped = False

    def dropConnection(self, abort):
        self.dropped = abort


@pytest.fixture
def later(monkeypatch):
    from core.runtime import server

    calls = []
    monkeypatch.setattr(server.reactor, "callLater", lambda delay, function, *args: calls.append(args))
    return calls


def test_a_closed_slow_reader_is_dropped_only_after_a_period_without_progress(later):
    check = BoundedWebSocketProtocol._drop_unless_reading
    reading = SlowCloser(unsent=1000)
    check(reading, 5000)  # it read some: checked again later
    assert not reading.dropped and later == [(1000,)]
    reading.transport.dataBuffer = b""
    check(reading, 1000)  # it took everything, the close frame included: it may still be reading it
    assert not reading.dropped and later[-1] == (0,)
    check(reading, 0)  # a period later and still open: it never answered the close
    assert reading.dropped
    stalled = SlowCloser(unsent=5000)
    check(stalled, 5000)  # no progress at all
    assert stalled.dropped
