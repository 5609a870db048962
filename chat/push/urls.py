from django.urls import path

from . import api

urlpatterns = [
    path("", api.DeviceListView.as_view(), name="push-devices"),
    path("vapid/", api.VapidKeyView.as_view(), name="push-vapid"),
    path("<str:device_id>/", api.DeviceView.as_view(), name="push-device"),
]
