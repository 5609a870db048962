"""
Where the five webhook events start: the services that announce a change to
a conversation's sockets call ``webhooks_emit`` in the same transaction,

    webhooks_emit(outbox, conversation_id=cid, event="message.created", message=message)
    webhooks_emit(outbox, conversation_id=cid, event="member.left", user_id=uid, actor_id=aid)

and after commit (``outbox.after_commit``: never for a rolled-back change,
off the event loop) one fan-out job is queued for the event when a
subscription may want it (chat.webhooks.jobs finds which). Whether one may
is read from a per-process index of the conversations and users that have
active subscriptions, loaded on a thread of its own every INDEX_SECONDS
(in the background: a stale index serves meanwhile) and at once after a
change made in this process, so that conversations without webhooks pay one
set lookup an event, never a query or a thread hop on the event loop. When
subscriptions follow users (``member_of``), which of them are members is read
then too (on the index's thread), so that the event reaches those who were
members when it happened.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

from chat.messages.serializers import message_data
from chat.push.queue import job_send
from core import metrics
from core.outbox import Outbox

# Seconds another process's new subscription may take to be noticed here.
INDEX_SECONDS = 10


@dataclass(frozen=True)
class WebhookIndex:
    conversation_ids: frozenset
    member_of_ids: frozenset
    loaded_at: float


_index: WebhookIndex | None = None
_generation = 0  # moved on by each change in this process, so that a load begun before it is not kept
_refreshing = False
# Its own thread (and database connection, closed after each load): callers may be on any thread.
_loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-index")


def _load() -> WebhookIndex:
    global _index
    from chat.models import WebhookSubscription

    generation = _generation
    try:
        rows = list(WebhookSubscription.objects.filter(active=True).values_list("conversation_id", "member_of_id"))
    finally:
        connection.close()
    index = WebhookIndex(
        frozenset(str(c) for c, _ in rows if c), frozenset(str(u) for _, u in rows if u), time.monotonic()
    )
    if generation == _generation:
        _index = index
    return index


def webhook_index() -> WebhookIndex:
    """The index, loaded again (waiting for it) when missing or stale: for threads, never the event loop."""
    index = _index
    if index is None or time.monotonic() - index.loaded_at > INDEX_SECONDS:
        index = _loader.submit(_load).result()
    return index


def _followed_members(conversation_id, user_ids: frozenset) -> list[str]:
    from chat.models import ConversationMember

    try:
        return [str(user_id) for user_id in ConversationMember.objects.filter(
            conversation_id=conversation_id, user_id__in=user_ids).values_list("user_id", flat=True)]
    finally:
        connection.close()


def followed_members_now(conversation_id, index: WebhookIndex) -> list[str]:
    """The followed users (``member_of`` subscriptions) who are members of the conversation now, read on the index's thread."""
    if not index.member_of_ids:
        return []
    return _loader.submit(_followed_members, conversation_id, index.member_of_ids).result()


def _refresh() -> None:
    global _refreshing
    try:
        _load()
    finally:
        _refreshing = False


def webhooks_may_want(conversation_id) -> bool:
    """
    Whether a subscription may want an event of this conversation, without
    waiting (the event loop calls this): True when the index is not loaded
    yet (the after-commit job then reads it); a stale index is used while a
    fresh one loads in the background.
    """
    global _refreshing
    index = _index
    if index is None:
        return True
    if time.monotonic() - index.loaded_at > INDEX_SECONDS and not _refreshing:
        _refreshing = True
        _loader.submit(_refresh)
    return str(conversation_id) in index.conversation_ids or bool(index.member_of_ids)


def webhook_index_forget() -> None:
    """A subscription changed in this process: read the index again at the next event."""
    global _index, _generation
    _generation += 1
    _index = None


def webhooks_emit(
    outbox: Outbox, *, conversation_id, event: str, message=None, user_id=None, actor_id=None,
) -> None:
    """Queue ``event`` for the conversation's subscriptions once the transaction commits (see the module)."""
    if not webhooks_may_want(conversation_id):
        return
    created_at = timezone.now()

    def enqueue():
        index = webhook_index()
        if str(conversation_id) not in index.conversation_ids and not index.member_of_ids:
            return  # the index was not loaded when the event happened, and no subscription wants it
        data = {"message": message_data(message)} if message is not None else {
            "user_id": str(user_id), "actor_id": str(actor_id) if actor_id else None,
        }
        envelope = {
            "id": str(uuid.uuid4()), "type": event, "created_at": created_at.isoformat().replace("+00:00", "Z"),
            "conversation_id": str(conversation_id), "data": data,
        }
        # Whom the conversation has among followed users at the time of the event, not when the job runs.
        followed = followed_members_now(conversation_id, index)
        if event == "member.left" and str(user_id) in index.member_of_ids:
            followed.append(str(user_id))  # a followed user's own leaving
        if str(conversation_id) not in index.conversation_ids and not followed:
            return
        if not job_send("webhook_fan_out", envelope, followed, attempts=settings.WEBHOOK_MAX_ATTEMPTS,
                        backoff=settings.WEBHOOK_RETRY_BACKOFF, backoff_max=settings.WEBHOOK_RETRY_BACKOFF_MAX):
            metrics.WEBHOOK_DROPPED.labels(reason="not_queued").inc()

    outbox.after_commit(enqueue)
