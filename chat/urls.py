from django.urls import path

from . import api

urlpatterns = [
    path("", api.ConversationListView.as_view(), name="chat-list"),
    path("start/<str:user_id>/", api.ConversationStartView.as_view(), name="chat-start"),
    path("unread/", api.UnreadView.as_view(), name="chat-unread"),
    path("presence/", api.PresenceView.as_view(), name="chat-presence"),
    path("search/", api.SearchView.as_view(), name="chat-search"),
    path("<str:conversation_id>/", api.ConversationDetailView.as_view(), name="chat-detail"),
    path("<str:conversation_id>/messages/", api.MessageListView.as_view(), name="chat-messages"),
    path(
        "<str:conversation_id>/messages/<str:message_id>/",
        api.MessageDetailView.as_view(),
        name="chat-message",
    ),
    path(
        "<str:conversation_id>/messages/<str:message_id>/reactions/",
        api.ReactionsView.as_view(),
        name="chat-reactions",
    ),
    path(
        "<str:conversation_id>/messages/<str:message_id>/reactions/<str:emoji>/",
        api.ReactionView.as_view(),
        name="chat-reaction",
    ),
    path("<str:conversation_id>/read/", api.ReadView.as_view(), name="chat-read"),
    path("<str:conversation_id>/mute/", api.MuteView.as_view(), name="chat-mute"),
    path("<str:conversation_id>/members/", api.MembersView.as_view(), name="chat-members"),
    path("<str:conversation_id>/members/<str:user_id>/", api.MemberView.as_view(), name="chat-member"),
    path("<str:conversation_id>/attachments/", api.AttachmentsView.as_view(), name="chat-attachments"),
    path(
        "<str:conversation_id>/attachments/<str:attachment_id>/",
        api.AttachmentView.as_view(),
        name="chat-attachment",
    ),
]
