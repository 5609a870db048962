from django.urls import path, re_path

from . import consumers

websocket_urlpatterns = [
    path("ws/notifications/", consumers.NotificationConsumer.as_asgi()),
    path("ws/chat/<str:conversation_id>/", consumers.ChatConsumer.as_asgi()),
    path("ws/<str:conversation_id>/", consumers.OriginalClientChatConsumer.as_asgi()),
    re_path(r"", consumers.NotFoundConsumer.as_asgi()),
]
