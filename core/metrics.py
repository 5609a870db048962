"""
Prometheus metrics (prometheus-client), served at ``/metrics`` in the text
format to whoever ``METRICS_TOKEN`` or ``METRICS_ALLOWED_NETWORKS`` admits.

    from core import metrics
    metrics.MESSAGES_SAVED.inc()

Each server process counts its own. Run one process per container (as the
image does) and scrape every container: each ``/metrics`` is that process's,
and Prometheus adds an ``instance`` label. Several processes on one host
behind one address instead set ``PROMETHEUS_MULTIPROC_DIR`` to a folder they
all write (empty it before they start): then any process's ``/metrics``
answers for all of them (counters summed), and open-socket gauges count live
processes only, even after a crash.
docs/operations.md has what each metric means and the panels to draw.
"""

import glob
import os
import secrets

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from core.proxies import ip_address

SOCKETS_OPEN = Gauge(
    "chat_sockets_open", "WebSockets open now, by kind (rich: ws/chat/<id>/, original: ws/<id>/, notifications).",
    ["kind"], multiprocess_mode="livesum",
)
SOCKET_CONNECTS = Counter("chat_socket_connects", "WebSockets accepted and kept open, by kind.", ["kind"])
SOCKET_CLOSES = Counter(
    "chat_socket_server_closes",
    "WebSockets the server closed, by close code: refusals (4401, 4403, 4404, 4429, 4503) and sockets that "
    "stopped reading (4008). Closes by clients are not counted here.",
    ["code"],
)
MESSAGES_SAVED = Counter("chat_messages_saved", "Messages saved (a resent client_id saves nothing and is not counted).")
FRAMES_SENT = Counter("chat_frames_sent", "Frames sent to sockets, by socket kind.", ["kind"])
MESSAGE_DELIVERIES = Counter(
    "chat_message_deliveries", "Messages delivered to sockets (live, catch-up and gap filling), by socket kind.", ["kind"]
)
SEND_SECONDS = Histogram(
    "chat_send_seconds",
    "From a message.send frame's arrival to its message being saved and handed to the channel layer.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CATCH_UP_PAGES = Counter("chat_catch_up_pages", "Pages of history read for catch-up (?after=, sync) and gap filling.")
RATE_LIMITED = Counter(
    "chat_rate_limited", "Socket frames and REST requests refused over a rate limit, by limit.", ["limit"]
)
REDIS_ERRORS = Counter("chat_redis_errors", "Calls to Redis (channel layer, presence, rate limits) that failed.")
DATABASE_ERRORS = Counter(
    "chat_database_errors",
    "Requests, socket frames and socket connects that failed on a database error, an unreachable database included.",
)
PUSH_SENT = Counter("chat_push_sent", "Pushes a push service accepted, by device kind (webpush, fcm).", ["kind"])
PUSH_DROPPED = Counter(
    "chat_push_dropped",
    "Pushes given up, by reason: gave_up (PUSH_MAX_ATTEMPTS failures that may have passed), rejected (refused "
    "for good, e.g. a wrong key), not_queued (the queue could not be reached when the message was sent).",
    ["reason"],
)
PUSH_DEVICES_REMOVED = Counter(
    "chat_push_devices_removed", "Devices removed because their push service said they are gone, by kind.", ["kind"]
)
WEBHOOK_DELIVERED = Counter("chat_webhook_delivered", "Webhook deliveries a receiver answered with a 2xx.")
WEBHOOK_FAILED_ATTEMPTS = Counter(
    "chat_webhook_failed_attempts", "Webhook delivery attempts that failed (no answer, not a 2xx), retried or not."
)
WEBHOOK_DROPPED = Counter(
    "chat_webhook_dropped",
    "Webhook deliveries given up, by reason: gave_up (WEBHOOK_MAX_ATTEMPTS failures), refused (the receiver's "
    "address is not allowed, core.outbound), not_queued (the queue could not be reached when the event happened).",
    ["reason"],
)
LINK_PREVIEWS = Counter(
    "chat_link_previews", "Link preview fetches, by outcome: stored, empty (no title or description), failed.",
    ["outcome"],
)


def _forget_dead_processes(folder: str) -> None:
    """Drop the live gauges of processes that are gone, however they ended (a crash runs no exit hook)."""
    for path in glob.glob(os.path.join(folder, "gauge_live*_*.db")):
        pid = int(path.rsplit("_", 1)[1].removesuffix(".db"))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, folder)
        except PermissionError:  # alive, another user's
            pass


def registry():
    """The process's own registry, or one reading every process's files in multiprocess mode."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return REGISTRY
    _forget_dead_processes(folder)
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    return collected


def _admitted(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode()):
            return True
    # None for a client whose address a proxy could not tell (core.proxies.UNKNOWN_CLIENT).
    address = ip_address(request.META.get("REMOTE_ADDR", ""))
    return address is not None and any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


@require_safe
def metrics_view(request):
    """The metrics in Prometheus's text format; 403 for callers neither the token nor the networks admit."""
    if not _admitted(request):
        return JsonResponse(
            {"code": "forbidden", "detail": "Metrics need the metrics token or an allowed network."}, status=403
        )
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
