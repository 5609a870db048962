"""
What daphne's WebSocket protocol keeps per connection that only the
handshake needed, dropped (docs/benchmarks.md, "Memory").

autobahn copies some thirty settings from the factory onto every
connection (one factory serves them all), and pretty-prints them for a debug
log line whatever the log level; after the handshake the connection still
holds the raw request, its parsed headers and query, and daphne's list of
the headers (also the scope's). ``LeanHandshake`` (a mixin before daphne's
protocol) reads the settings from the class instead, formats that log line
only if it is written, and forgets the rest once the socket is accepted
(the scope's ``headers`` are then empty: read them while connecting).
"""

from pprint import pformat
from types import FunctionType

from autobahn.websocket import protocol as autobahn_protocol


class _Formatted:
    """``pformat(value)``, computed only if a log line is written."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __format__(self, spec: str) -> str:
        return format(pformat(self.value), spec)

    __str__ = __repr__ = lambda self: pformat(self.value)


autobahn_protocol.pformat = _Formatted


class _RequestPath:
    """What daphne still reads of the handshake's request once a socket is open: its path (access log)."""

    __slots__ = ("path",)

    def __init__(self, path: str):
        self.path = path


# autobahn's and daphne's attributes that only the handshake reads.
_HANDSHAKE_ONLY = (
    "http_request_data", "http_headers", "http_status_line", "http_request_uri", "http_request_path",
    "http_request_params", "http_request_host", "http_response_data", "websocket_protocols",
    "websocket_origin", "websocket_extensions", "clean_headers",
)  # fmt: skip


class LeanHandshake:
    _settings_of = None  # the factory whose settings the class carries

    def _connectionMade(self):
        cls, factory = type(self), self.factory
        if cls._settings_of is None:
            # The first connection: the factory's settings become class
            # attributes, which autobahn then finds without copying them.
            for name in self.CONFIG_ATTRS:
                value = getattr(factory, name)
                # A function (perMessageCompressionAccept) on a class would become a method.
                setattr(cls, name, staticmethod(value) if isinstance(value, FunctionType) else value)
            cls._settings_of = factory
        elif cls._settings_of is not factory:  # another server in this process: its own settings, per connection
            for name in self.CONFIG_ATTRS:
                setattr(self, name, getattr(factory, name))
        super()._connectionMade()

    def onOpen(self):
        super().onOpen()
        request = getattr(self, "request", None)
        if request is not None:
            self.request = _RequestPath(request.path)
        # daphne's list of the request's headers is also the scope's (every
        # copy of it): emptied, not only forgotten, so that it is freed; the
        # application reads headers while connecting, not after.
        headers = self.__dict__.get("clean_headers")
        if type(headers) is list:
            headers.clear()
        for name in _HANDSHAKE_ONLY:
            self.__dict__.pop(name, None)
