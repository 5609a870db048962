"""
Sending account emails off the request path.

A password reset request must answer the same, in the same time, whether
or not the address has an account; talking to an SMTP server only for the
addresses that do would tell them apart by the clock. So emails go to one
sending thread per process and the request answers at once:

    mail.send_later(EmailMessage(subject, body, to=[email]))

At most EMAIL_QUEUE_MAX emails wait per process; past it a new one is
dropped and logged (by the user's id, never the address or the body, which
holds a reset token). A failure to send is logged the same way.
"""

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.core.mail import EmailMessage

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_waiting = 0


def send_later(message: EmailMessage, *, user_id=None) -> Future | None:
    """Queue ``message``; the future of its sending, or None when the queue is full and it was dropped."""
    global _executor, _waiting
    with _lock:
        if _waiting >= settings.EMAIL_QUEUE_MAX:
            logger.warning("Email to user %s dropped: %d emails already wait to be sent", user_id, _waiting)
            return None
        _waiting += 1
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail")
        return _executor.submit(_send, message, user_id)


def _send(message: EmailMessage, user_id) -> bool:
    global _waiting
    try:
        message.send()
        return True
    except Exception as error:  # SMTP refusals, timeouts, connection errors
        logger.error("Email to user %s not sent: %s", user_id, type(error).__name__)
        return False
    finally:
        with _lock:
            _waiting -= 1


def wait_until_sent(timeout: float = 10) -> None:
    """Block until every email queued so far has been handled (tests, shutdown)."""
    with _lock:
        executor = _executor
    if executor is not None:
        executor.submit(lambda: None).result(timeout=timeout)
