"""
Queueing and storing link previews; called by the send and edit services and the fetch job.

    preview_request(outbox, message=message)                 # after commit, when previews are on and it has a URL
    message_preview_store(message_id=mid, url=url, preview={...})
"""

from functools import partial

from django.conf import settings
from django.db import transaction

from chat.models import ConversationMessage
from chat.push.queue import job_send
from chat.realtime import events
from chat.realtime.groups import conversation_group
from core import metrics
from core.outbox import Outbox, with_outbox

from .parse import first_url


def preview_request(outbox: Outbox, *, message: ConversationMessage) -> None:
    """Queue the fetch of the message's first URL once its transaction commits (nothing if off or without one)."""
    if not settings.CHAT_LINK_PREVIEWS or message.kind != ConversationMessage.TEXT:
        return
    url = first_url(message.body)
    if url is not None:
        outbox.after_commit(partial(_enqueue, str(message.id), url))


def _enqueue(message_id: str, url: str) -> None:
    # Once: a page that failed is not fetched again (a preview is a nicety; the message is what matters).
    if not job_send("preview_fetch", message_id, url, attempts=1, backoff=1, backoff_max=1):
        metrics.LINK_PREVIEWS.labels(outcome="failed").inc()


@with_outbox
def message_preview_store(*, message_id, url: str, preview: dict, outbox: Outbox) -> bool:
    """
    Store ``preview`` on the message and announce it (``chat.message.updated``)
    if the message is still live and ``url`` still its first URL (an edit may
    have changed it, a delete or the expiry pass removed it meanwhile).
    """
    with transaction.atomic():
        message = (
            ConversationMessage.objects.for_display().select_for_update(of=("self",))
            .filter(id=message_id, deleted_at=None, moderated_at=None).first()
        )
        if message is None or first_url(message.body) != url:
            return False
        message.preview = preview
        message.save(update_fields=["preview"])
        outbox.emit(conversation_group(message.conversation_id), events.message_changed(message))
    return True
