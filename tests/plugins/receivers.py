"""
A real HTTPS server on 127.0.0.1 for outbound requests (core.outbound:
webhooks, link previews), with a certificate of a test CA made here; the
``receiver`` fixture points OUTBOUND_CA_BUNDLE at that CA and allow-lists
127.0.0.1 (OUTBOUND_ALLOWED_HOSTS), nothing else.

    receiver.answer("/hook", status=500)                       # the next request to /hook, then 200
    receiver.page("/a", "<title>A</title>", content_type="text/html")  # every GET of /a
    receiver.wait_for(2)                                       # the requests so far, once there are two
    receiver.url("/hook")                                      # https://127.0.0.1:<port>/hook
"""

import datetime
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Names the receiver's certificate is valid for: what a test may connect as.
CERTIFIED_NAMES = ("localhost", "receiver.test")


def _certificate(subject: str, key, issuer_name, issuer_key, *, ca: bool, names=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), *(x509.DNSName(name) for name in names)]
            ),
            critical=False,
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory):
    """A CA and a server certificate it signed for 127.0.0.1 and CERTIFIED_NAMES: (ca file, cert file, key file)."""
    folder = tmp_path_factory.mktemp("ca")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Test CA", ca_key, None, None, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate("127.0.0.1", key, ca.subject, ca_key, ca=False, names=CERTIFIED_NAMES)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder / "ca.pem", folder / "cert.pem", folder / "key.pem"


class Receiver:
    """Records every request; answers with what the test set up for its path (200 and an empty body otherwise)."""

    def __init__(self, cert_file, key_file):
        self.requests: list[dict] = []
        self.answers: dict[str, list[tuple[int, dict, bytes]]] = {}
        self.pages: dict[str, tuple[int, dict, bytes]] = {}
        self.received = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                with receiver.received:
                    queued = receiver.answers.get(self.path)
                    status, headers, answer = (
                        queued.pop(0) if queued else receiver.pages.get(self.path, (200, {}, b""))
                    )
                    receiver.requests.append({
                        "method": self.command, "path": self.path, "body": body, "status": status,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                    })
                    receiver.received.notify_all()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                try:
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass  # the client stopped reading (a page cut off): as it should

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    def answer(self, path: str, *, status: int = 200, headers: dict | None = None, body: bytes = b"") -> None:
        self.answers.setdefault(path, []).append((status, headers or {}, body))

    def page(self, path: str, html, *, status: int = 200, content_type: str = "text/html; charset=utf-8",
             headers: dict | None = None) -> None:
        body = html.encode() if isinstance(html, str) else html
        self.pages[path] = (status, {"Content-Type": content_type, **(headers or {})}, body)

    def wait_for(self, count: int, timeout: float = 20) -> list[dict]:
        with self.received:
            assert self.received.wait_for(lambda: len(self.requests) >= count, timeout), self.requests
        return list(self.requests)

    def to(self, path: str) -> list[dict]:
        return [request for request in self.requests if request["path"] == path]


@pytest.fixture
def receiver(settings, test_ca):
    ca_file, cert_file, key_file = test_ca
    settings.OUTBOUND_CA_BUNDLE = str(ca_file)
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.OUTBOUND_HTTP_HOSTS = []
    served = Receiver(cert_file, key_file)
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def jobs(transactional_db):
    """The queue (chat.push.queue), emptied, worked by threads of this process; ``jobs()`` waits until it is idle."""
    from chat.push import queue
    from chat.webhooks.emit import webhook_index_forget

    queue.broker().flush_all()
    webhook_index_forget()
    running = queue.local_worker_start()

    def idle():
        for name in (queue.JOBS_QUEUE, queue.QUEUE):
            queue.broker().join(name, timeout=30_000)
        running.join()

    yield idle
    idle()
    webhook_index_forget()
