"""
The link preview job, queued once per message (or edit) with a URL
(chat.previews.services): fetch the page through core.outbound (HTML only,
at most PREVIEW_MAX_BYTES, PREVIEW_TIMEOUT seconds, OUTBOUND_MAX_REDIRECTS
redirects, each checked), make its preview (chat.previews.parse) and store it.
A page that is refused, fails, is not HTML or has neither title nor
description leaves the message without a preview; it is not tried again.
"""

import logging

from django.conf import settings
from django.db import close_old_connections

from core import metrics
from core.outbound import OutboundFailed, OutboundRefused, outbound_request

from .parse import page_preview
from .services import message_preview_store

logger = logging.getLogger(__name__)
HTML_TYPES = ("text/html", "application/xhtml+xml")


def _charset(answer) -> str:
    content_type = next((v for k, v in answer.headers.items() if k.lower() == "content-type"), "")
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip("\"'")
    return "utf-8"


def preview_fetch_job(message_id: str, url: str) -> None:
    if not settings.CHAT_LINK_PREVIEWS:
        return
    try:
        answer = outbound_request(
            "GET", url, headers={"Accept": "text/html,application/xhtml+xml"}, timeout=settings.PREVIEW_TIMEOUT,
            max_bytes=settings.PREVIEW_MAX_BYTES, redirects=settings.OUTBOUND_MAX_REDIRECTS, content_types=HTML_TYPES,
        )
    except (OutboundRefused, OutboundFailed) as error:
        logger.info("No preview of %s: %s", url, error)
        metrics.LINK_PREVIEWS.labels(outcome="failed").inc()
        return
    if answer.status != 200:
        logger.info("No preview of %s: answered %s", url, answer.status)
        metrics.LINK_PREVIEWS.labels(outcome="failed").inc()
        return
    try:
        html = answer.body.decode(_charset(answer), errors="replace")
    except LookupError:  # a charset Python does not know
        html = answer.body.decode("utf-8", errors="replace")
    preview = page_preview(html, url=url, page_url=answer.url)
    if preview is None:
        metrics.LINK_PREVIEWS.labels(outcome="empty").inc()
        return
    close_old_connections()
    try:
        message_preview_store(message_id=message_id, url=url, preview=preview)
    finally:
        close_old_connections()
    metrics.LINK_PREVIEWS.labels(outcome="stored").inc()
