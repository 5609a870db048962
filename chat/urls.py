from django.urls import path

from . import api

urlpatterns = [
    path("", api.ConversationListView.as_view(), name="chat-list"),
    path("start/<str:user_id>/", api.ConversationStartView.as_view(), name="chat-start"),
    path("<str:conversation_id>/", api.ConversationDetailView.as_view(), name="chat-detail"),
    path("<str:conversation_id>/messages/", api.MessageListView.as_view(), name="chat-messages"),
]
