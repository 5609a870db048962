from django.urls import path, re_path

from .sockets.notifications import NotFoundConsumer, NotificationsConsumer
from .sockets.rooms import OriginalClientRoomConsumer, RoomConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationsConsumer.as_asgi()),
    path("ws/chat/<str:conversation_id>/", RoomConsumer.as_asgi()),
    path("ws/<str:conversation_id>/", OriginalClientRoomConsumer.as_asgi()),
    re_path(r"", NotFoundConsumer.as_asgi()),
]
