"""
Push devices under /api/devices/ (chat.push.devices does the work).

    GET    /api/devices/        -> [device...]   the caller's, oldest first
    POST   /api/devices/ {"kind": "webpush", "endpoint", "keys": {"p256dh", "auth"}}
                         {"kind": "fcm", "token"}            -> 201 device (200: already registered)
    DELETE /api/devices/<id>/   -> 204
    GET    /api/devices/vapid/  -> {"public_key"}   the key browsers subscribe with (null: no Web Push)
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import errors

from ..messages.serializers import timestamp
from ..models import PUSH_ADDRESS_MAX_LENGTH, PushDevice
from .devices import (
    push_device_delete,
    push_device_register,
    push_devices,
    push_vapid_public_key,
)


class WebPushKeysInput(serializers.Serializer):
    p256dh = serializers.CharField(max_length=100, help_text="The subscription's P-256 public key, base64url (65 bytes).")
    auth = serializers.CharField(max_length=32, help_text="The subscription's auth secret, base64url (16 bytes).")


class DeviceRegisterInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PushDevice.KINDS)
    endpoint = serializers.CharField(
        required=False, max_length=PUSH_ADDRESS_MAX_LENGTH, trim_whitespace=False,
        help_text="webpush: the subscription's endpoint, an https URL on a known push service (port 443: none other).",
    )
    keys = WebPushKeysInput(required=False, help_text="webpush: the subscription's keys.")
    token = serializers.CharField(
        required=False, max_length=PUSH_ADDRESS_MAX_LENGTH, trim_whitespace=False,
        help_text="fcm: the app's registration token.",
    )


class DeviceOut(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=PushDevice.KINDS)
    endpoint = serializers.CharField(allow_null=True, help_text="webpush: the endpoint; null for fcm.")
    token = serializers.CharField(allow_null=True, help_text="fcm: the token; null for webpush.")
    created_at = serializers.DateTimeField()


class VapidKeyOut(serializers.Serializer):
    public_key = serializers.CharField(
        allow_null=True, help_text="The VAPID public key (applicationServerKey), base64url; null without Web Push."
    )


def device_data(device: PushDevice) -> dict:
    webpush = device.kind == PushDevice.WEBPUSH
    return {
        "id": str(device.id),
        "kind": device.kind,
        "endpoint": device.address if webpush else None,
        "token": None if webpush else device.address,
        "created_at": timestamp(device.created_at),
    }


class DeviceListView(APIView):
    @extend_schema(tags=["push"], responses={200: DeviceOut(many=True), **errors(401)})
    def get(self, request):
        return Response([device_data(device) for device in push_devices(user=request.user)])

    @extend_schema(
        tags=["push"], request=DeviceRegisterInput,
        responses={201: DeviceOut, 200: DeviceOut, **errors(400, 401, 415)},
        description=(
            "Register a Web Push subscription or an FCM token for pushes while you have no socket open. "
            "The same endpoint or token again answers 200 with the device (now yours, with these keys). "
            "At most PUSH_MAX_DEVICES_PER_USER devices (`too_many_devices`)."
        ),
    )
    def post(self, request):
        data = DeviceRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        device, created = push_device_register(user=request.user, **data.validated_data)
        return Response(device_data(device), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class DeviceView(APIView):
    @extend_schema(tags=["push"], responses={204: None, **errors(401, 404)})
    def delete(self, request, device_id):
        push_device_delete(user=request.user, device_id=device_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VapidKeyView(APIView):
    @extend_schema(tags=["push"], responses={200: VapidKeyOut, **errors(401)})
    def get(self, request):
        return Response({"public_key": push_vapid_public_key()})
