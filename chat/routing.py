from django.urls import path, re_path

from . import consumers

websocket_urlpatterns = [
    path("ws/notifications/", consumers.NotificationsConsumer.as_asgi()),
    path("ws/chat/<str:conversation_id>/", consumers.RoomConsumer.as_asgi()),
    path("ws/<str:conversation_id>/", consumers.OriginalClientRoomConsumer.as_asgi()),
    re_path(r"", consumers.NotFoundConsumer.as_asgi()),
]
