"""
A user's push devices: register, list, remove. Called by the REST views
(chat.push.api); the worker removes devices push services say are gone.

    device, created = push_device_register(user=user, kind="webpush", endpoint=url, keys={"p256dh": …, "auth": …})
    device, created = push_device_register(user=user, kind="fcm", token=token)
    push_device_delete(user=user, device_id=device_id)

Registering an address again is idempotent: the same row, with the keys
given now, and the caller's even if another user had it (one browser, two
accounts one after the other: the pushes follow whoever registered last).
"""

import base64
import binascii
import re
from functools import cache
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from core.errors import InvalidInput, NotFound
from core.validation import uuid_or_none
from useraccount.models import User

from ..models import PUSH_ADDRESS_MAX_LENGTH, PushDevice

# FCM registration tokens: letters, digits and - _ : (observed; Google documents no alphabet).
_FCM_TOKEN = re.compile(r"[A-Za-z0-9_:\-]+")


def b64url_decode(value) -> bytes | None:
    """The bytes of a base64url string (padding optional); None for anything else."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", value):
        return None
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@cache
def vapid_public_key(private_key: str) -> str:
    """The application server key browsers subscribe with: the base64url of the uncompressed P-256 point."""
    from py_vapid import Vapid

    public = Vapid.from_string(private_key).public_key
    return b64url_encode(public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


def push_vapid_public_key() -> str | None:
    """This server's VAPID public key, or None when Web Push is not configured."""
    key = settings.PUSH_VAPID_PRIVATE_KEY
    return vapid_public_key(key) if key else None


def push_kinds() -> set[str]:
    """The kinds of device this server can push to, as configured."""
    kinds = set()
    if settings.PUSH_VAPID_PRIVATE_KEY:
        kinds.add(PushDevice.WEBPUSH)
    if settings.PUSH_FCM_CREDENTIALS:
        kinds.add(PushDevice.FCM)
    return kinds


def _host_allowed(host: str) -> bool:
    allowed = settings.PUSH_WEBPUSH_HOSTS
    return "*" in allowed or any(host == name or host.endswith("." + name) for name in allowed)


def _endpoint(value) -> str:
    def invalid(reason: str):
        return InvalidInput(f"endpoint {reason}.", code="invalid_endpoint", field="endpoint")

    if not isinstance(value, str) or not value:
        raise invalid("must be the subscription's URL")
    if len(value) > PUSH_ADDRESS_MAX_LENGTH:
        raise invalid(f"is longer than {PUSH_ADDRESS_MAX_LENGTH} characters")
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise invalid("is not a URL")
    if parts.scheme != "https" or not host or parts.username or parts.password or any(c.isspace() for c in value):
        raise invalid("must be an https URL")
    # Push services listen on 443; another port on an allowed host is a service of some other kind.
    if port not in (None, 443):
        raise invalid("must be on the https port, 443")
    if not _host_allowed(host):
        raise invalid("is not on a known push service (PUSH_WEBPUSH_HOSTS)")
    return value


def _keys(value) -> tuple[str, str]:
    def invalid(key: str, reason: str):
        return InvalidInput(f"keys.{key} {reason}.", code="invalid_keys", field=f"keys.{key}")

    if not isinstance(value, dict):
        raise InvalidInput("keys must hold p256dh and auth.", code="invalid_keys", field="keys")
    p256dh, auth = value.get("p256dh"), value.get("auth")
    point = b64url_decode(p256dh)
    if point is None or len(point) != 65:
        raise invalid("p256dh", "must be the base64url of a 65-byte P-256 public key")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise invalid("p256dh", "is not a point on P-256")
    secret = b64url_decode(auth)
    if secret is None or len(secret) != 16:
        raise invalid("auth", "must be the base64url of 16 bytes")
    return b64url_encode(point), b64url_encode(secret)


def _token(value) -> str:
    if not isinstance(value, str) or not _FCM_TOKEN.fullmatch(value) or len(value) > PUSH_ADDRESS_MAX_LENGTH:
        raise InvalidInput(
            f"token must be an FCM registration token of at most {PUSH_ADDRESS_MAX_LENGTH} characters.",
            code="invalid_token", field="token",
        )
    return value


def push_device_register(
    *, user: User, kind, endpoint=None, keys=None, token=None
) -> tuple[PushDevice, bool]:
    """
    Register a Web Push subscription (``endpoint``, ``keys``) or an FCM
    ``token`` for ``user``. Returns ``(device, created)``. At most
    PUSH_MAX_DEVICES_PER_USER devices per user (code ``too_many_devices``);
    a kind this server is not configured for is ``push_unavailable``.
    """
    if kind not in (PushDevice.WEBPUSH, PushDevice.FCM):
        raise InvalidInput("kind must be webpush or fcm.", field="kind")
    if kind not in push_kinds():
        raise InvalidInput(f"This server does not send {kind} pushes.", code="push_unavailable", field="kind")
    if kind == PushDevice.WEBPUSH:
        address, (p256dh, auth) = _endpoint(endpoint), _keys(keys)
    else:
        address, p256dh, auth = _token(token), "", ""
    try:
        with transaction.atomic():
            # The user's row lock makes concurrent registrations count one after the other.
            User.objects.select_for_update().filter(pk=user.pk).exists()
            device = PushDevice.objects.select_for_update().filter(kind=kind, address=address).first()
            if device is None or device.user_id != user.pk:
                limit = settings.PUSH_MAX_DEVICES_PER_USER
                if PushDevice.objects.filter(user=user).count() >= limit:
                    raise InvalidInput(
                        f"You have {limit} devices registered, the most allowed; remove one first.",
                        code="too_many_devices",
                    )
            if device is None:
                return PushDevice.objects.create(user=user, kind=kind, address=address, p256dh=p256dh, auth=auth), True
            device.user, device.p256dh, device.auth = user, p256dh, auth
            device.save(update_fields=["user", "p256dh", "auth"])
            return device, False
    except IntegrityError:
        # The same address registered twice at once: the other request made the row; take it over.
        return push_device_register(user=user, kind=kind, endpoint=endpoint, keys=keys, token=token)


def push_devices(*, user: User) -> QuerySet[PushDevice]:
    """The user's devices, oldest first."""
    return PushDevice.objects.filter(user=user)


def push_device_delete(*, user: User, device_id) -> None:
    """Remove one of the user's devices; NotFound for any other id."""
    device_id = uuid_or_none(device_id)
    deleted = device_id is not None and PushDevice.objects.filter(user=user, id=device_id).delete()[0]
    if not deleted:
        raise NotFound("No such device.")
