"""
The queued webhook work, on chat.push.queue's broker and worker:

``webhook_fan_out_job(envelope, followed)``: one per event (chat.webhooks.emit).
Finds the active subscriptions that want it: those of the conversation, and
those following one of ``followed`` (the followed users who were members of
it when the event happened, and for ``member.left`` the one who left);
queues one delivery each with the body fixed once.

``webhook_deliver_job(subscription_id, body)``: one per subscription and
event. Signs the body (``webhook_signature``), posts it through
core.outbound (no redirects), logs the attempt (the WEBHOOK_LOG_ROWS newest
are kept), and on failure (no answer, not a 2xx) raises so that the queue
tries again after a backoff, until WEBHOOK_MAX_ATTEMPTS: then it is dropped
and counted. A receiver address the rules refuse is dropped at once.
"""

import hashlib
import hmac
import json
import logging
import time

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q

from chat.push.queue import current_attempt, job_send
from core import metrics
from core.outbound import OutboundFailed, OutboundRefused, outbound_request

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Chat-Signature"


class WebhookFailed(Exception):
    """A delivery that may go through later: raised so that the queue tries it again after a backoff."""


def webhook_signature(*, secret: str, timestamp: int, body: str) -> str:
    """The ``X-Chat-Signature`` value: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _retry_options() -> dict:
    return {"attempts": settings.WEBHOOK_MAX_ATTEMPTS, "backoff": settings.WEBHOOK_RETRY_BACKOFF,
            "backoff_max": settings.WEBHOOK_RETRY_BACKOFF_MAX}


def webhook_fan_out_job(envelope: dict, followed: list[str]) -> None:
    from .selectors import webhooks_delivering

    close_old_connections()
    try:
        wanted = Q(conversation_id=envelope["conversation_id"]) | Q(member_of_id__in=followed)
        subscriptions = [
            subscription_id for subscription_id, events in
            webhooks_delivering().filter(wanted).values_list("id", "events")
            if envelope["type"] in events
        ]
    finally:
        close_old_connections()
    body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
    for subscription_id in subscriptions:
        if not job_send("webhook_deliver", str(subscription_id), body, **_retry_options()):
            metrics.WEBHOOK_DROPPED.labels(reason="not_queued").inc()


def _log(subscription, *, envelope: dict, attempt: int, status, started: float, error: str, delivered: bool) -> None:
    from chat.models import WebhookDelivery

    WebhookDelivery.objects.create(
        subscription=subscription, event_id=envelope["id"], event=envelope["type"], attempt=attempt,
        status_code=status, duration_ms=int((time.monotonic() - started) * 1000), error=error[:300],
        delivered=delivered,
    )
    keep = settings.WEBHOOK_LOG_ROWS
    oldest_kept = (
        WebhookDelivery.objects.filter(subscription=subscription).order_by("-id").values_list("id", flat=True)[keep - 1:keep]
    )
    WebhookDelivery.objects.filter(subscription=subscription, id__lt=oldest_kept).delete()


def webhook_deliver_job(subscription_id: str, body: str) -> None:
    from .selectors import webhooks_delivering

    envelope = json.loads(body)
    attempt = current_attempt()
    close_old_connections()
    try:
        subscription = webhooks_delivering().filter(id=subscription_id).first()
        if subscription is None:  # deleted, paused, or its creator lost the right since: nothing to deliver
            return
        started = time.monotonic()
        status, error, refused = None, "", False
        headers = {
            "Content-Type": "application/json",
            "X-Chat-Webhook-Id": envelope["id"],
            "X-Chat-Event": envelope["type"],
            "X-Chat-Attempt": str(attempt),
            # Signed at each attempt: the timestamp is the attempt's, so a receiver may refuse old ones.
            SIGNATURE_HEADER: webhook_signature(secret=subscription.secret, timestamp=int(time.time()), body=body),
        }
        try:
            answer = outbound_request(
                "POST", subscription.url, body=body.encode(), headers=headers, timeout=settings.WEBHOOK_TIMEOUT,
                max_bytes=1024,
            )
            status = answer.status
            if not 200 <= status < 300:
                error = f"answered {status}"
        except OutboundRefused as refusal:
            error, refused = f"refused: {refusal.detail}", True
        except OutboundFailed as failure:
            error = f"failed: {failure}"
        delivered = not error
        _log(subscription, envelope=envelope, attempt=attempt, status=status, started=started, error=error,
             delivered=delivered)
    finally:
        close_old_connections()
    if delivered:
        metrics.WEBHOOK_DELIVERED.inc()
        return
    metrics.WEBHOOK_FAILED_ATTEMPTS.inc()
    if refused:
        logger.warning("Webhook %s refused: %s", subscription_id, error)
        metrics.WEBHOOK_DROPPED.labels(reason="refused").inc()
        return
    if attempt >= settings.WEBHOOK_MAX_ATTEMPTS:
        logger.warning("Gave up delivering %s to webhook %s after %s attempts", envelope["id"], subscription_id, attempt)
        metrics.WEBHOOK_DROPPED.labels(reason="gave_up").inc()
        return
    raise WebhookFailed(f"delivery to webhook {subscription_id} failed ({error}); tried again later")
