"""
daphne with every per-connection resource bounded. ``BoundedServer`` is what
the production server command (core.runtime.serve) and ``runserver`` run; the
limits are settings, documented in docs/protocol.md ("Limits"):

- Sending: what a socket has not yet taken from the server is held by the
  transport. Past ``WEBSOCKET_SEND_BUFFER_BYTES`` unsent, or above the
  transport's 64 KiB high-water mark for ``WEBSOCKET_SEND_TIMEOUT`` seconds,
  the socket is closed with 4008: a client that does not read cannot grow
  the server's memory, whatever else it sends (pings included).
- Receiving: frames wait in the socket's inbox until its consumer takes them
  (on the pub/sub channel layer the socket's events wait there too, in
  order: chat.sockets.base); with ``WEBSOCKET_RECEIVE_QUEUE`` waiting, the
  server stops reading from that socket (TCP pushes back on the client)
  until half of them are taken. A
  message over ``WEBSOCKET_MAX_MESSAGE_BYTES`` closes the socket with 1009.
- Requests: the request line and headers must arrive within
  ``HTTP_HEADER_TIMEOUT`` seconds of their first byte (slow-drip clients).
- The access log never shows a ``token`` query parameter.

A frame goes to the socket at once when nothing is waiting before it
(``write_now``), rather than through Twisted's buffer and a loop turn.

Everything here is Twisted's and daphne's own machinery (a streaming producer
on the transport, ``pauseProducing``), so it costs nothing per frame but a
length check.
"""

import asyncio
import logging
import re
from functools import partial

from daphne.server import Server  # first: it installs the asyncio reactor
from daphne.http_protocol import WebRequest
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from twisted.internet import defer, reactor, tcp
from twisted.web import http

from core.runtime.lean_protocol import LeanHandshake
from core.runtime.lean_queue import LeanQueue
from core import hooks, metrics

logger = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4008
TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s]*")


def unsent_bytes(transport) -> int:
    """The bytes a Twisted TCP transport holds that the peer has not taken."""
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except AttributeError:  # another kind of transport: only the timeout applies
        return 0


def redact_token(path: str) -> str:
    """``/x/?token=abc&a=1`` -> ``/x/?token=[redacted]&a=1``, for logs."""
    return TOKEN_IN_QUERY.sub(r"\1[redacted]", path)


def write_now(transport, buffered_write, data: bytes) -> None:
    """
    Write ``data`` to a plain TCP transport straight away when nothing is
    waiting before it, as asyncio's transports do; only what the socket does
    not take goes to Twisted's buffer (``buffered_write``, the transport's own
    ``write``). Twisted's write always buffers, registers the socket for
    writing and unregisters it a loop turn later: two ``epoll_ctl`` calls and
    a loop turn for every frame, most of a fan-out's cost (docs/benchmarks.md).
    """
    if not data or not transport.connected or transport.disconnecting or unsent_bytes(transport):
        return buffered_write(data)
    try:
        sent = transport.socket.send(data)
    except (BlockingIOError, InterruptedError):
        sent = 0
    except OSError:  # reset or closed: Twisted's own write path notices and reports it
        return buffered_write(data)
    if sent < len(data):
        buffered_write(data[sent:])


class SendWatch:
    """
    The transport's streaming producer for one socket: Twisted pauses it when
    the socket's unsent bytes pass the transport's buffer size and resumes it
    when they drain. Paused for longer than ``timeout``: ``on_stuck()``.
    """

    def __init__(self, *, timeout: float, on_stuck, call_later=reactor.callLater):
        self.timeout = timeout
        self.on_stuck = on_stuck
        self.call_later = call_later
        self._timer = None
        self._waiters: list[asyncio.Future] = []

    def pauseProducing(self):
        if self._timer is None:
            self._timer = self.call_later(self.timeout, self._fire)

    def resumeProducing(self):
        self._cancel()

    def stopProducing(self):
        self._cancel()

    @property
    def paused(self) -> bool:
        return self._timer is not None

    async def drained(self) -> None:
        """Return once the client has taken enough to be under the mark (or the socket ended)."""
        if self.paused:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def _fire(self):
        self._timer = None
        self.on_stuck()

    def _cancel(self):
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class Inbox(LeanQueue):
    """A connection's input queue that can say when it has drained below a mark."""

    __slots__ = ("_below",)

    def __init__(self):
        super().__init__()
        self._below = None

    def when_below(self, mark: int, callback) -> None:
        """Call ``callback()`` once, as soon as fewer than ``mark`` items wait."""
        self._below = (mark, callback)

    def get_nowait(self):
        item = super().get_nowait()
        if self._below is not None and self.qsize() < self._below[0]:
            callback, self._below = self._below[1], None
            callback()
        return item


class BoundedWebSocketProtocol(LeanHandshake, WebSocketProtocol):
    def connectionMade(self):
        super().connectionMade()
        self._reading_paused = False
        self._send_watch = SendWatch(timeout=settings.WEBSOCKET_SEND_TIMEOUT, on_stuck=self.close_too_slow)
        # The HTTP channel this connection was upgraded from is still the
        # transport's producer; the socket's own watch takes its place.
        self.transport.unregisterProducer()
        self.transport.registerProducer(self._send_watch, True)
        if isinstance(self.transport, tcp.Connection) and not self.transport.TLS:
            self.transport.write = partial(write_now, self.transport, self.transport.write)

    def serverSend(self, content, binary=False):
        if self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            return  # closing: what the application still sends is dropped, as after a close
        # Checked before the frame is added: a frame of any size can be sent,
        # but nothing is added to more than the limit already waiting.
        if unsent_bytes(self.transport) > settings.WEBSOCKET_SEND_BUFFER_BYTES:
            return self.close_too_slow()
        # autobahn applies its message size limit both ways; ours is for what
        # clients send (a sync answer of ours may be larger).
        limit, self.maxMessagePayloadSize = self.maxMessagePayloadSize, 0
        try:
            super().serverSend(content, binary)
        finally:
            self.maxMessagePayloadSize = limit

    def close_too_slow(self):
        """
        The client is not reading: close with 4008. Nothing more is queued;
        the close frame waits behind what is unsent, so a client that reads
        again still gets everything before it. One that makes no progress for
        WEBSOCKET_SEND_TIMEOUT seconds is cut off.
        """
        if self.state != self.STATE_OPEN:
            return
        unsent = unsent_bytes(self.transport)
        logger.warning("Closing a WebSocket that is not reading (4008): %d bytes unsent, %s", unsent, self.client_addr)
        metrics.SOCKET_CLOSES.labels(str(CLOSE_TOO_SLOW)).inc()
        self.closeHandshakeTimeout = 0  # replaced by the progress check
        self.sendClose(code=CLOSE_TOO_SLOW, reason="Too slow: the client is not reading its frames.")
        reactor.callLater(settings.WEBSOCKET_SEND_TIMEOUT, self._drop_unless_reading, unsent)

    def _drop_unless_reading(self, unsent_before: int):
        if self.state == self.STATE_CLOSED or self.transport is None:
            return
        unsent = unsent_bytes(self.transport)
        # Everything handed to the kernel (unsent 0) is progress too: the
        # client may still be reading the last frames and the close, which an
        # abort now would cut off with a reset. It gets one more period to
        # answer the close; no progress in a period, and it is dropped.
        if unsent >= unsent_before:
            self.dropConnection(abort=True)
        else:
            reactor.callLater(settings.WEBSOCKET_SEND_TIMEOUT, self._drop_unless_reading, unsent)

    def onMessage(self, payload, isBinary):
        super().onMessage(payload, isBinary)
        limit = settings.WEBSOCKET_RECEIVE_QUEUE
        inbox = getattr(self, "application_queue", None)
        if isinstance(inbox, Inbox) and inbox.qsize() >= limit and not self._reading_paused:
            self._reading_paused = True
            self.transport.pauseProducing()
            inbox.when_below(max(1, limit // 2), self._resume_reading)

    def _resume_reading(self):
        self._reading_paused = False
        if self.transport is not None and self.state != self.STATE_CLOSED:
            self.transport.resumeProducing()

    def onClose(self, wasClean, code, reason):
        if hasattr(self, "_send_watch"):
            self._send_watch.stopProducing()
        super().onClose(wasClean, code, reason)


class BodyBlindRequest(WebRequest):
    """
    daphne's request without Twisted's own parse of POST form bodies: daphne
    hands the raw body to Django, which parses it once. Twisted's parse read
    every upload twice and answered a malformed multipart body itself, with
    an empty 400 that was not the API's JSON error.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._parsePOSTFormSubmission = False


class HeaderDeadlineChannel(http.HTTPChannel):
    """An HTTP connection whose request line and headers must arrive within HTTP_HEADER_TIMEOUT."""

    _header_deadline = None
    _request_factory = BodyBlindRequest

    @property
    def requestFactory(self):
        return self._request_factory

    @requestFactory.setter
    def requestFactory(self, factory):
        # daphne sets its WebRequest on each new connection.
        self._request_factory = BodyBlindRequest if factory is WebRequest else factory

    def dataReceived(self, data):
        if self.line_mode and self._header_deadline is None:
            self._header_deadline = reactor.callLater(settings.HTTP_HEADER_TIMEOUT, self._headers_too_slow)
        super().dataReceived(data)

    def allHeadersReceived(self):
        self._cancel_header_deadline()
        super().allHeadersReceived()

    def connectionLost(self, reason):
        self._cancel_header_deadline()
        super().connectionLost(reason)

    def _headers_too_slow(self):
        self._header_deadline = None
        if self.transport is not None:
            self.transport.abortConnection()

    def _cancel_header_deadline(self):
        if self._header_deadline is not None:
            if self._header_deadline.active():
                self._header_deadline.cancel()
            self._header_deadline = None


class BoundedServer(Server):
    """daphne's Server with the bounded protocols, the size limit from settings and a redacted log."""

    def __init__(self, *args, **kwargs):
        kwargs["websocket_max_message_size"] = kwargs["websocket_max_frame_size"] = (
            settings.WEBSOCKET_MAX_MESSAGE_BYTES
        )
        super().__init__(*args, **kwargs)
        self.app_tasks: list[asyncio.Task] = []
        if self.action_logger is not None:
            # daphne writes its access log straight to stdout; through logging
            # it is one line per event in the configured format (text or JSON).
            self.action_logger = access_log

    def run(self):
        """daphne's, with the apps' ``server_started`` tasks (core.hooks) started once the reactor runs."""
        reactor.callWhenRunning(self._start_app_tasks)
        super().run()

    def _start_app_tasks(self):
        self.app_tasks = hooks.start_server_tasks()

    # daphne makes its two factories inside run(); they get the bounded
    # protocols as they are made, before the first connection arrives.
    @property
    def http_factory(self):
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory):
        factory.protocol = HeaderDeadlineChannel
        # Twisted's own request log (shown at -v 2) formats the full URI too.
        formatter = factory._logFormatter
        factory._logFormatter = lambda timestamp, request: redact_token(formatter(timestamp, request))
        self._http_factory = factory

    @property
    def ws_factory(self):
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory):
        factory.protocol = BoundedWebSocketProtocol
        # Close an oversized message with 1009 instead of dropping the TCP connection.
        factory.setProtocolOptions(failByDrop=False)
        self._ws_factory = factory

    def create_application(self, protocol, scope):
        """daphne's, with an ``Inbox`` as the input queue so reading can pause."""
        assert "application_instance" not in self.connections[protocol]
        inbox = Inbox()
        scope.setdefault("asgi", {"version": "3.0"})
        if isinstance(protocol, BoundedWebSocketProtocol):
            # Lets bulk senders (catch-up) wait for the client instead of
            # queueing history faster than it reads: chat.sockets.
            scope["send_drained"] = protocol._send_watch.drained
        instance = self.application(scope=scope, receive=inbox.get, send=partial(self.handle_reply, protocol))
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            instance, loop=asyncio.get_event_loop()
        )
        return inbox

    def kill_all_applications(self):
        """
        daphne's, minus its KeyError at shutdown for a connection whose
        application already ended; the apps' ``server_started`` tasks are
        cancelled first; once the applications have ended, the
        apps' ``server_stopping`` work (core.hooks) runs before the reactor stops.
        """
        for task in self.app_tasks:
            task.cancel()
        for details in self.connections.values():
            details.setdefault("application_instance", _ENDED)
        killed = super().kill_all_applications()
        killed.addCallback(lambda _: defer.Deferred.fromFuture(asyncio.ensure_future(hooks.run_server_stopping())))
        return killed


class _Ended:
    """Stands in for an application that has already finished."""

    @staticmethod
    def done() -> bool:
        return True


_ENDED = _Ended()


_access = logging.getLogger("chat.access")
_SOCKET_EVENTS = {"connected": "WSCONNECT", "rejected": "WSREJECT", "disconnected": "WSDISCONNECT"}


def access_log(protocol, action, details):
    """daphne's access log as log records: ``client "METHOD path" status size``, the token redacted."""
    path = redact_token(details.get("path", ""))
    client = details.get("client") or "-"
    if protocol == "http" and action == "complete":
        _access.info(
            '%s "%s %s" %s %s', client, details["method"], path, details["status"], details["size"],
            extra={"client": client, "method": details["method"], "path": path,
                   "status": details["status"], "size": details["size"]},
        )
    elif protocol == "websocket" and action in _SOCKET_EVENTS:
        _access.info('%s "%s %s"', client, _SOCKET_EVENTS[action], path,
                     extra={"client": client, "method": _SOCKET_EVENTS[action], "path": path})
