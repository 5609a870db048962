from django.urls import path

from . import api

urlpatterns = [
    path("", api.ConversationListView.as_view(), name="chat-list"),
    path("start/<str:user_id>/", api.ConversationStartView.as_view(), name="chat-start"),
    path("unread/", api.UnreadView.as_view(), name="chat-unread"),
    path("presence/", api.PresenceView.as_view(), name="chat-presence"),
    path("<str:conversation_id>/", api.ConversationDetailView.as_view(), name="chat-detail"),
    path("<str:conversation_id>/messages/", api.MessageListView.as_view(), name="chat-messages"),
    path(
        "<str:conversation_id>/messages/<str:message_id>/",
        api.MessageDetailView.as_view(),
        name="chat-message",
    ),
    path("<str:conversation_id>/read/", api.ReadView.as_view(), name="chat-read"),
]
