from django.urls import path

from .attachments import api as attachments
from .conversations import api as conversations
from .conversations import drafts_api
from .invites import api as invites
from .messages import api as messages
from .messages import scheduled_api
from .receipts import api as receipts
from .search import api as search
from .threads import api as threads

urlpatterns = [
    path("", conversations.ConversationListView.as_view(), name="chat-list"),
    path("start/<str:user_id>/", conversations.ConversationStartView.as_view(), name="chat-start"),
    path("unread/", conversations.UnreadView.as_view(), name="chat-unread"),
    path("presence/", conversations.PresenceView.as_view(), name="chat-presence"),
    path("search/", search.SearchView.as_view(), name="chat-search"),
    path("invites/<str:token>/", invites.InvitePreviewView.as_view(), name="chat-invite"),
    path("invites/<str:token>/join/", invites.InviteJoinView.as_view(), name="chat-invite-join"),
    path("threads/", threads.ThreadListView.as_view(), name="chat-threads"),
    path("mentions/", messages.MentionListView.as_view(), name="chat-mentions"),
    path("scheduled/", scheduled_api.ScheduledListView.as_view(), name="chat-scheduled-list"),
    path("scheduled/<str:scheduled_id>/", scheduled_api.ScheduledDetailView.as_view(), name="chat-scheduled"),
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
        "<str:conversation_id>/messages/<str:message_id>/thread/",
        threads.ThreadView.as_view(),
        name="chat-thread",
    ),
    path(
        "<str:conversation_id>/messages/<str:message_id>/thread/read/",
        threads.ThreadReadView.as_view(),
        name="chat-thread-read",
    ),
    path(
        "<str:conversation_id>/messages/<str:message_id>/thread/follow/",
        threads.ThreadFollowView.as_view(),
        name="chat-thread-follow",
    ),
    path(
        "<str:conversation_id>/messages/<str:message_id>/pin/",
        messages.PinView.as_view(),
        name="chat-message-pin",
    ),
    path(
        "<str:conversation_id>/messages/<str:message_id>/forward/",
        messages.ForwardView.as_view(),
        name="chat-message-forward",
    ),
    path("<str:conversation_id>/pins/", messages.PinsView.as_view(), name="chat-pins"),
    path(
        "<str:conversation_id>/messages/<str:message_id>/receipts/",
        receipts.MessageReceiptsView.as_view(),
        name="chat-message-receipts",
    ),
    path("<str:conversation_id>/receipts/", receipts.MemberReceiptsView.as_view(), name="chat-receipts"),
    path("<str:conversation_id>/read/", conversations.ReadView.as_view(), name="chat-read"),
    path("<str:conversation_id>/draft/", drafts_api.DraftView.as_view(), name="chat-draft"),
    path("<str:conversation_id>/scheduled/", scheduled_api.ConversationScheduledView.as_view(),
         name="chat-conversation-scheduled"),
    path("<str:conversation_id>/mute/", conversations.MuteView.as_view(), name="chat-mute"),
    path(
        "<str:conversation_id>/notifications/", conversations.NotificationLevelView.as_view(),
        name="chat-notification-level",
    ),
    path("<str:conversation_id>/disappearing/", conversations.DisappearingView.as_view(), name="chat-disappearing"),
    path("<str:conversation_id>/members/", conversations.MembersView.as_view(), name="chat-members"),
    path("<str:conversation_id>/members/<str:user_id>/", conversations.MemberView.as_view(), name="chat-member"),
    path("<str:conversation_id>/invites/", invites.InvitesView.as_view(), name="chat-invites"),
    path("<str:conversation_id>/invites/<str:invite_id>/", invites.InviteView.as_view(), name="chat-invite-revoke"),
    path("<str:conversation_id>/join-requests/", invites.JoinRequestsView.as_view(), name="chat-join-requests"),
    path(
        "<str:conversation_id>/join-requests/<str:user_id>/",
        invites.JoinRequestView.as_view(),
        name="chat-join-request",
    ),
    path(
        "<str:conversation_id>/join-requests/<str:user_id>/approve/",
        invites.JoinRequestApproveView.as_view(),
        name="chat-join-request-approve",
    ),
    path("<str:conversation_id>/attachments/", attachments.AttachmentsView.as_view(), name="chat-attachments"),
    path(
        "<str:conversation_id>/attachments/<str:attachment_id>/",
        attachments.AttachmentView.as_view(),
        name="chat-attachment",
    ),
]
