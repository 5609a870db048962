"""
What a push carries: who wrote in which conversation, and an excerpt of the
body of at most PUSH_BODY_EXCERPT characters (none with 0, for privacy). Made
once per message by the worker; the same dict goes to every device. Its
JSON stays under PAYLOAD_MAX_BYTES, whatever the names and the body hold:
push services take at most 4 KB (Web Push's 4096 bytes include the
encryption's overhead), so a long body is cut further to fit.

    {"type": "message", "conversation_id": "…", "conversation_title": "Team",
     "message_id": "…", "seq": 12, "sender_id": "…", "sender_name": "Alice",
     "body": "See you at…", "attachments": 0, "thread_id": null, "mentioned": false}

``thread_id``: the thread's root, for a reply in a thread (chat.threads).
``mentioned`` is set per device by the worker: whether the message mentions that device's user.
"""

import json

from django.conf import settings

from chat.messages.mentions import mentions_as_text
from chat.models import ConversationMessage
from useraccount.models import User


PAYLOAD_MAX_BYTES = 3800


def encoded(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def excerpt(body: str, limit: int) -> str:
    """The first ``limit`` characters of ``body``, ending in "…" when cut; "" for 0."""
    if limit <= 0:
        return ""
    body = " ".join(body.split())  # line breaks and runs of spaces say nothing on a lock screen
    return body if len(body) <= limit else body[: limit - 1].rstrip() + "…"


def push_payload(message: ConversationMessage) -> dict:
    """The push for ``message`` (its ``created_by`` and ``conversation`` loaded)."""
    body = message.body
    if message.mention_ids:  # a lock screen shows "@Ann", not the markup (one query, for messages with mentions)
        users = User.objects.filter(id__in=message.mention_ids)
        body = mentions_as_text(body, {str(user.id): user.display_name for user in users})
    payload = {
        "type": "message",
        "conversation_id": str(message.conversation_id),
        "conversation_title": message.conversation.title,
        "message_id": str(message.id),
        "seq": message.seq,
        "sender_id": str(message.created_by_id),
        "sender_name": message.created_by.display_name,
        "body": excerpt(body, settings.PUSH_BODY_EXCERPT),
        "attachments": len(message.attachment_summary),
        "thread_id": str(message.thread_root_id) if message.thread_root_id else None,
    }
    over = len(encoded(payload)) - PAYLOAD_MAX_BYTES
    if over > 0:
        body = payload["body"].encode()
        # Cut on a character boundary, leaving room for the ellipsis (3 bytes).
        payload["body"] = body[: max(0, len(body) - over - 3)].decode(errors="ignore") + "…"
    return payload
