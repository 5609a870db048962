from django.urls import path

from .attachments import api as attachments
from .conversations import api as conversations
from .messages import api as messages
from .receipts import api as receipts
from .search import api as search

urlpatterns = [
    path("", conversations.ConversationListView.as_view(), name="chat-list"),
    path("start/<str:user_id>/", conversations.ConversationStartView.as_view(), name="chat-start"),
    path("unread/", conversations.UnreadView.as_view(), name="chat-unread"),
    path("presence/", conversations.PresenceView.as_view(), name="chat-presence"),
    path("search/", search.SearchView.as_view(), name="chat-search"),
    path("<str:conversation_id>/", conversations.ConversationDetailView.as_view(), name="chat-detail"),
    path("<str:conversation_id>/messages/", messages.MessageListView.as_view(), name="chat-messages"),
    path(
        "<str:conversation_id>/messages/<str:message_id>/",
        messages.MessageDetailView.as_view(),
        name="chat-message",
    ),
    path(
        "<str:conversation_id>/messages/<str:message_id>/reactions/",
        messages.ReactionsView.as_view(),
        name="chat-reactions",
    ),
    path(
        "<str:conversation_id>/messages/<str:message_id>/reactions/<str:emoji>/",
        messages.ReactionView.as_view(),
        name="chat-reaction",
    ),
    path(
        "<str:conversation_id>/messages/<str:message_id>/receipts/",
        receipts.MessageReceiptsView.as_view(),
        name="chat-message-receipts",
    ),
    path("<str:conversation_id>/receipts/", receipts.MemberReceiptsView.as_view(), name="chat-receipts"),
    path("<str:conversation_id>/read/", conversations.ReadView.as_view(), name="chat-read"),
    path("<str:conversation_id>/mute/", conversations.MuteView.as_view(), name="chat-mute"),
    path("<str:conversation_id>/members/", conversations.MembersView.as_view(), name="chat-members"),
    path("<str:conversation_id>/members/<str:user_id>/", conversations.MemberView.as_view(), name="chat-member"),
    path("<str:conversation_id>/attachments/", attachments.AttachmentsView.as_view(), name="chat-attachments"),
    path(
        "<str:conversation_id>/attachments/<str:attachment_id>/",
        attachments.AttachmentView.as_view(),
        name="chat-attachment",
    ),
]
