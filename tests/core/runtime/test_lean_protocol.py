"""What an open socket's protocol keeps of its handshake (core.runtime.lean_protocol)."""

from core.runtime.lean_protocol import LeanHandshake


class Factory:
    openHandshakeTimeout = 5
    maxMessagePayloadSize = 65536

    @staticmethod
    def perMessageCompressionAccept(offers):
        return ("accepted", offers)


class Protocol:
    """Stands in for autobahn's: copies each setting the connection does not have, as autobahn does."""

    CONFIG_ATTRS = ("openHandshakeTimeout", "maxMessagePayloadSize", "perMessageCompressionAccept")

    def __init__(self, factory):
        self.factory = factory

    def _connectionMade(self):
        for name in self.CONFIG_ATTRS:
            if not hasattr(self, name):
                setattr(self, name, getattr(self.factory, name))

    def onOpen(self):
        self.opened = True


def lean_class():
    return type("Lean", (LeanHandshake, Protocol), {})


def test_settings_are_read_from_the_class_not_copied_onto_each_connection():
    cls, factory = lean_class(), Factory()
    first, second = cls(factory), cls(factory)
    first._connectionMade()
    second._connectionMade()
    for connection in (first, second):
        assert not set(Protocol.CONFIG_ATTRS) & set(vars(connection)), "nothing copied per connection"
        assert connection.openHandshakeTimeout == 5
        assert connection.perMessageCompressionAccept(["x"]) == ("accepted", ["x"]), "a function stays a function"


def test_a_second_factory_in_the_process_keeps_its_own_settings():
    cls, other = lean_class(), Factory()
    cls(Factory())._connectionMade()
    other.openHandshakeTimeout = 30
    connection = cls(other)
    connection._connectionMade()
    assert connection.openHandshakeTimeout == 30


def test_an_open_socket_forgets_its_handshake_and_empties_the_scopes_headers():
    connection = lean_class()(Factory())
    headers = [(b"origin", b"https://app.example.com"), (b"authorization", b"Bearer x")]
    scope = {"headers": headers}
    connection.clean_headers = headers
    connection.http_headers = {"origin": "https://app.example.com"}
    connection.http_request_data = b"GET /ws/chat/1/?token=secret HTTP/1.1\r\n"
    connection.request = type("Request", (), {"path": "/ws/chat/1/", "headers": {"origin": "x"}})()
    connection.onOpen()
    assert connection.opened
    assert scope["headers"] == [], "the list the scope shares is emptied"
    assert not {"clean_headers", "http_headers", "http_request_data"} & set(vars(connection))
    assert connection.request.path == "/ws/chat/1/" and not hasattr(connection.request, "headers")
