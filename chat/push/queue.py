"""
The push queue, on Dramatiq: one job per message, queued once its transaction
commits (``push_enqueue``, from chat.messages.send through the
outbox); the worker turns it into one job per device, each retried on its own.

    push_enqueue(message_id=message.id)   # after commit; returns at once
    python manage.py push_worker          # the worker, in production

With REDIS_URL the queue is in Redis (the Redis the server already uses):
a job stays there until a worker has finished it. A worker takes a job by
moving it to its own list and acknowledges it when done; if the worker dies
first, another worker puts the job back once the dead one has missed its
heartbeats for a minute, so neither a web process nor a worker dying loses a
push. Without Redis (the embedded default) the queue is in memory and a
thread of the server process works it: nothing more to run, and nothing
kept across a restart.

Why Dramatiq: it acknowledges late and requeues a dead worker's jobs by
default on Redis, retries with exponential backoff built in, and its worker
runs as threads in any process, so the embedded default works the same jobs
with the same code instead of a second, hand-written queue.
"""

import logging
from functools import cache
from uuid import UUID

import dramatiq
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import DramatiqError
from dramatiq.middleware import CurrentMessage

from core import metrics
from core.outages import REDIS, REDIS_ERRORS

QUEUE = "push"
JOBS_QUEUE = "jobs"  # webhooks and link previews: apart from pushes, so that a slow receiver never delays a push
logger = logging.getLogger(__name__)


class PushFailed(Exception):
    """A push that may go through later: raised so that the queue tries it again after a backoff."""


def push_enabled() -> bool:
    """Whether a sender is configured; without one nothing is queued (and the send path does no extra work)."""
    return bool(settings.PUSH_VAPID_PRIVATE_KEY or settings.PUSH_FCM_CREDENTIALS)


@cache
def broker() -> dramatiq.Broker:
    """This process's broker, made on first use, with the push actors declared on it."""
    if settings.REDIS_URL:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=settings.REDIS_TIMEOUT,
            socket_timeout=max(settings.REDIS_TIMEOUT, 5),
            # Once more on a new connection after a ConnectionError, as the server's other Redis clients.
            retry=Retry(NoBackoff(), 1), retry_on_error=[redis.ConnectionError],
        )
        queue_broker = RedisBroker(client=client, namespace="chat-push")
    else:
        queue_broker = StubBroker()
    queue_broker.add_middleware(CurrentMessage())
    dramatiq.set_broker(queue_broker)  # what the dramatiq CLI and its tools look up
    dramatiq.actor(message_fan_out, broker=queue_broker, actor_name="push_message", queue_name=QUEUE)
    dramatiq.actor(device_push, broker=queue_broker, actor_name="push_device", queue_name=QUEUE)
    # Every queued job of the project shares this broker and its workers: data exports too.
    from chat.exports.jobs import export_actor_options, export_build_job

    dramatiq.actor(export_build_job, broker=queue_broker, **export_actor_options())
    # The other queued jobs share this broker, its worker threads and ``manage.py push_worker``.
    from chat.previews.fetch import preview_fetch_job
    from chat.webhooks.jobs import webhook_deliver_job, webhook_fan_out_job

    for job, name in ((webhook_fan_out_job, "webhook_fan_out"), (webhook_deliver_job, "webhook_deliver"),
                      (preview_fetch_job, "preview_fetch")):
        dramatiq.actor(job, broker=queue_broker, actor_name=name, queue_name=JOBS_QUEUE)
    return queue_broker


def _retry_options(attempts: int) -> dict:
    return {
        "max_retries": attempts - 1,
        "min_backoff": max(1, int(settings.PUSH_RETRY_BACKOFF * 1000)),
        "max_backoff": max(1, int(settings.PUSH_RETRY_BACKOFF_MAX * 1000)),
    }


def _send(actor_name: str, *args) -> None:
    broker().get_actor(actor_name).send_with_options(args=args, **_retry_options(settings.PUSH_MAX_ATTEMPTS))


def job_send(actor_name: str, *args, attempts: int, backoff: float, backoff_max: float) -> bool:
    """
    Queue one job (after commit), tried ``attempts`` times, ``backoff``
    seconds apart at first, doubling up to ``backoff_max``; starts the
    in-process worker on the embedded default. False (logged) when the queue
    could not be reached: the caller counts what was lost.
    """
    queue_broker = broker()
    if isinstance(queue_broker, StubBroker):
        local_worker_start()
    try:
        queue_broker.get_actor(actor_name).send_with_options(
            args=args, max_retries=attempts - 1, min_backoff=max(1, int(backoff * 1000)),
            max_backoff=max(1, int(backoff_max * 1000)),
        )
    except (*REDIS_ERRORS, DramatiqError) as error:
        REDIS.failed(error)
        return False
    if not isinstance(queue_broker, StubBroker):
        REDIS.succeeded()
    return True


_local_worker: dramatiq.Worker | None = None


def local_worker_start() -> dramatiq.Worker:
    """Work the queue on threads of this process (the embedded default; tests)."""
    global _local_worker
    if _local_worker is None:
        _local_worker = dramatiq.Worker(broker(), worker_threads=settings.PUSH_WORKER_THREADS, worker_timeout=100)
        _local_worker.start()
    return _local_worker


def local_worker_stop() -> None:
    global _local_worker
    if _local_worker is not None:
        _local_worker.stop()
        _local_worker = None


def push_enqueue(*, message_id: UUID, user_ids: list[str] | None = None) -> None:
    """
    Queue the pushes for a message just committed; one Redis command, or an
    in-memory put. With ``user_ids``: an edit newly mentions them, and only
    they are pushed to (as mentioned). A queue that cannot be reached loses
    this message's push: logged and counted, never raised (the message is saved).
    """
    queue_broker = broker()
    if isinstance(queue_broker, StubBroker):
        local_worker_start()
    try:
        _send("push_message", str(message_id), *([list(user_ids)] if user_ids else []))
    except (*REDIS_ERRORS, DramatiqError) as error:
        REDIS.failed(error)
        metrics.PUSH_DROPPED.labels(reason="not_queued").inc()
    else:
        if not isinstance(queue_broker, StubBroker):
            REDIS.succeeded()


def current_attempt() -> int:
    """Which attempt at the current job this is: 1, 2, …"""
    message = CurrentMessage.get_current_message()
    return (message.options.get("retries", 0) if message else 0) + 1


def message_fan_out(message_id: str, newly_mentioned: list[str] | None = None) -> None:
    """
    The job of one message: who gets a push (chat.push.recipients), then one
    job per device. With ``newly_mentioned`` (an edit's), only they, as mentioned.
    """
    from chat.models import ConversationMember, ConversationMessage, PushDevice
    from chat.realtime.presence import Unknown, online_among
    from chat.threads.selectors import thread_follower_ids
    from useraccount.models import Block

    from .payload import push_payload
    from .recipients import Member, push_recipients

    close_old_connections()
    try:
        message = (
            ConversationMessage.objects.select_related("created_by", "conversation")
            .filter(id=message_id, kind=ConversationMessage.TEXT, deleted_at=None, moderated_at=None)
            .first()
        )
        if message is None:  # deleted or hidden before the worker got to it
            return
        sender_id = message.created_by_id
        memberships = ConversationMember.objects.filter(conversation_id=message.conversation_id, user__is_active=True)
        if newly_mentioned is not None:
            memberships = memberships.filter(user_id__in=newly_mentioned)
            mentioned, mentions_all = {UUID(user_id) for user_id in newly_mentioned}, False
        else:
            mentioned, mentions_all = {UUID(user_id) for user_id in message.mention_ids}, message.mentions_all
        members = [
            Member(user_id, muted, muted_until, level)
            for user_id, muted, muted_until, level in memberships.exclude(user_id=sender_id).values_list(
                "user_id", "muted", "muted_until", "notification_level"
            )
        ]
        if not members:
            return
        blocked_sender = set(
            Block.objects.filter(blocked_id=sender_id, blocker_id__in=[m.user_id for m in members])
            .values_list("blocker_id", flat=True)
        )
        try:
            online = online_among(m.user_id for m in members)
        except Exception:  # the embedded store read from another thread, say: unknown, like Redis down
            logger.exception("Presence could not be read for pushes")
            online = None
        recipients = push_recipients(
            members, sender_id=sender_id, online=None if isinstance(online, Unknown) else online,
            blocked_sender=blocked_sender, now=timezone.now(), mentioned=mentioned, mentions_all=mentions_all,
            followers=thread_follower_ids(root_id=message.thread_root_id) if message.thread_root_id else None,
        )
        devices = list(PushDevice.objects.filter(user_id__in=recipients).values_list("id", "user_id"))
        payload = push_payload(message) if devices else None
    finally:
        close_old_connections()
    for device_id, user_id in devices:
        # Whether the push is for a mention of them: a client may show those differently.
        _send("push_device", str(device_id), str(user_id), {**payload, "mentioned": mentions_all or user_id in mentioned})


def device_push(device_id: str, user_id: str, payload: dict) -> None:
    """The job of one device: send, then remove it if dead, retry later, or drop and count."""
    from chat.models import PushDevice

    from chat.realtime.delivery_flush import push_deliveries

    from .senders import SENDERS, Outcome

    close_old_connections()
    try:
        # Still the same user's: an address registered by someone else since goes to them, not this push.
        device = PushDevice.objects.filter(id=device_id, user_id=user_id).first()
        if device is None:
            return
        outcome = SENDERS[device.kind](device, payload)
        if outcome is Outcome.GONE:
            PushDevice.objects.filter(id=device.id).delete()
            metrics.PUSH_DEVICES_REMOVED.labels(kind=device.kind).inc()
    finally:
        close_old_connections()
    if outcome is Outcome.SENT:
        metrics.PUSH_SENT.labels(kind=device.kind).inc()
        # Accepted by the push service: delivered, as far as the server can know (written in batches).
        push_deliveries().record(payload["conversation_id"], user_id, payload["seq"])
    elif outcome is Outcome.REJECTED:
        metrics.PUSH_DROPPED.labels(reason="rejected").inc()
    elif outcome is Outcome.RETRY:
        if current_attempt() >= settings.PUSH_MAX_ATTEMPTS:
            logger.warning("Gave up pushing to %s after %s attempts", device.id, settings.PUSH_MAX_ATTEMPTS)
            metrics.PUSH_DROPPED.labels(reason="gave_up").inc()
            return
        raise PushFailed(f"push to {device.id} failed; tried again later")
