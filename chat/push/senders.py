"""
One push to one device, over HTTP, with what the push service answered
reduced to an ``Outcome`` the queue acts on (chat.push.queue):

    SENT      accepted by the push service
    GONE      the subscription or token is dead (Web Push 404/410, FCM UNREGISTERED): remove the device
    RETRY     may pass (429, 5xx, no answer, a token that could not be had): try again later
    REJECTED  refused for good (a malformed request, a wrong key): drop it

Web Push goes through pywebpush (encryption, aes128gcm, and the VAPID
signature); FCM through its HTTP v1 API with a service account's OAuth token
(google-auth, refreshed before it expires).
"""

import enum
import json
import logging
import threading
from functools import cache

import requests
from django.conf import settings

from ..models import PushDevice
from .payload import encoded

logger = logging.getLogger(__name__)

FCM_URL = "https://fcm.googleapis.com/v1/projects/{project}/messages:send"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


class Outcome(enum.Enum):
    SENT = "sent"
    GONE = "gone"
    RETRY = "retry"
    REJECTED = "rejected"


def _by_status(status: int) -> Outcome:
    if status < 300:
        return Outcome.SENT
    if status == 429 or status >= 500:
        return Outcome.RETRY
    return Outcome.REJECTED


# One HTTP session per worker thread: connections to a push service are reused.
_local = threading.local()


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


@cache
def _vapid(private_key: str):
    from py_vapid import Vapid

    return Vapid.from_string(private_key)


def webpush_send(device: PushDevice, payload: dict) -> Outcome:
    """Encrypt ``payload`` for the subscription and post it to its endpoint."""
    from pywebpush import WebPushException, webpush

    try:
        response = webpush(
            subscription_info={"endpoint": device.address, "keys": {"p256dh": device.p256dh, "auth": device.auth}},
            data=encoded(payload),
            vapid_private_key=_vapid(settings.PUSH_VAPID_PRIVATE_KEY),
            vapid_claims={"sub": settings.PUSH_VAPID_SUBJECT},  # a new dict each time: webpush writes aud and exp in
            ttl=settings.PUSH_TTL,
            timeout=settings.PUSH_TIMEOUT,
            headers={"Urgency": "high"},
            requests_session=_session(),
        )
    except WebPushException as error:
        status = getattr(error.response, "status_code", None)
        if status in (404, 410):
            return Outcome.GONE
        if status is None:
            logger.warning("Web Push to %s failed: %s", device.id, error.message)
            return Outcome.RETRY
        outcome = _by_status(status)
        logger.log(logging.WARNING if outcome is Outcome.RETRY else logging.ERROR,
                   "Web Push to %s answered %s: %s", device.id, status, error.response.text[:200])
        return outcome
    except requests.RequestException as error:
        logger.warning("Web Push to %s failed: %s", device.id, error)
        return Outcome.RETRY
    return _by_status(response.status_code)


@cache
def _fcm_credentials(path: str):
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_file(path, scopes=[FCM_SCOPE])


def _fcm_session():
    """This thread's session that adds (and refreshes) the service account's OAuth token."""
    from google.auth.transport.requests import AuthorizedSession

    credentials = _fcm_credentials(settings.PUSH_FCM_CREDENTIALS)
    session = getattr(_local, "fcm", None)
    if session is None or session.credentials is not credentials:
        session = _local.fcm = AuthorizedSession(credentials)
    return session


def fcm_message(token: str, payload: dict) -> dict:
    """The HTTP v1 request body: the payload as data (strings only), and a notification the system shows."""
    title = payload["conversation_title"] or payload["sender_name"]
    body = payload["body"] or ("sent an attachment" if payload["attachments"] else "New message")
    if payload["conversation_title"]:
        body = f"{payload['sender_name']}: {body}"
    return {
        "message": {
            "token": token,
            "data": {key: str(value) for key, value in payload.items()},
            "notification": {"title": title, "body": body},
            "android": {"priority": "high", "ttl": f"{settings.PUSH_TTL}s", "collapse_key": payload["conversation_id"]},
            "apns": {"headers": {"apns-priority": "10", "apns-collapse-id": payload["conversation_id"][:64]}},
        }
    }


def _fcm_error_code(response) -> str:
    """FCM's errorCode (UNREGISTERED, QUOTA_EXCEEDED, …) from an error answer, or ""."""
    try:
        details = response.json()["error"].get("details", [])
        return next((d["errorCode"] for d in details if "errorCode" in d), "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""


def fcm_send(device: PushDevice, payload: dict) -> Outcome:
    """Post the message for the token to FCM's HTTP v1 API."""
    from google.auth.exceptions import GoogleAuthError

    credentials = _fcm_credentials(settings.PUSH_FCM_CREDENTIALS)
    url = FCM_URL.format(project=credentials.project_id)
    try:
        response = _fcm_session().post(
            url, data=json.dumps(fcm_message(device.address, payload)),
            headers={"Content-Type": "application/json"}, timeout=settings.PUSH_TIMEOUT,
        )
    except (requests.RequestException, GoogleAuthError) as error:
        logger.warning("FCM push to %s failed: %s", device.id, error)
        return Outcome.RETRY
    if response.status_code < 300:
        return Outcome.SENT
    code = _fcm_error_code(response)
    if code == "UNREGISTERED":  # not any 404: a wrong project must not cost every device
        return Outcome.GONE
    outcome = _by_status(response.status_code)
    logger.log(logging.WARNING if outcome is Outcome.RETRY else logging.ERROR,
               "FCM push to %s answered %s %s", device.id, response.status_code, code)
    return outcome


SENDERS = {PushDevice.WEBPUSH: webpush_send, PushDevice.FCM: fcm_send}
