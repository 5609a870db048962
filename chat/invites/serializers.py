"""JSON shapes and REST input of invite links and join requests."""

from django.urls import reverse
from rest_framework import serializers

from chat.messages.serializers import timestamp
from chat.models import ConversationInvite, JoinRequest
from useraccount.serializers import UserPublicOut, user_public


def invite_data(invite: ConversationInvite, *, request) -> dict:
    """A link as its group's owner and admins see it (``url`` is what they share)."""
    return {
        "id": str(invite.id),
        "conversation_id": str(invite.conversation_id),
        "token": invite.token,
        "url": request.build_absolute_uri(reverse("chat-invite", args=[invite.token])),
        "created_by": user_public(invite.created_by) if invite.created_by is not None else None,
        "created_at": timestamp(invite.created_at),
        "expires_at": timestamp(invite.expires_at),
        "max_uses": invite.max_uses,
        "uses": invite.uses,
        "approval": invite.approval,
    }


def invite_preview_data(invite: ConversationInvite, *, member_count: int) -> dict:
    """What someone who opens a link sees before joining: no members, no history."""
    return {
        "conversation_id": str(invite.conversation_id),
        "title": invite.conversation.title,
        "member_count": member_count,
        "approval": invite.approval,
        "expires_at": timestamp(invite.expires_at),
    }


def join_request_data(request: JoinRequest) -> dict:
    return {"user": user_public(request.user), "created_at": timestamp(request.created_at)}


class InviteCreateInput(serializers.Serializer):
    # Bounds are the service's (chat.invites.services), read when it runs.
    expires_in = serializers.IntegerField(
        required=False,
        help_text="Seconds the link works (default CHAT_INVITE_DEFAULT_SECONDS; at most CHAT_INVITE_MAX_SECONDS).",
    )
    max_uses = serializers.IntegerField(
        required=False, allow_null=True, default=None,
        help_text="How many people may join with it; null: as many as the group has room for.",
    )
    approval = serializers.BooleanField(
        required=False, default=False, help_text="Opening it asks the owner and admins instead of joining."
    )


class InviteOut(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    token = serializers.CharField(help_text="The link's secret: whoever has it can join (or ask to).")
    url = serializers.CharField(help_text="`GET` shows the group; `POST …/join/` joins.")
    created_by = UserPublicOut(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    max_uses = serializers.IntegerField(allow_null=True)
    uses = serializers.IntegerField()
    approval = serializers.BooleanField()


class InvitePreviewOut(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    title = serializers.CharField(allow_blank=True)
    member_count = serializers.IntegerField()
    approval = serializers.BooleanField(help_text="Joining waits for the owner or an admin to approve.")
    expires_at = serializers.DateTimeField()


class JoinOut(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    status = serializers.ChoiceField(
        choices=["joined", "member", "pending"],
        help_text="`joined`: you are in now; `member`: you were already; `pending`: waiting for approval.",
    )


class JoinRequestOut(serializers.Serializer):
    user = UserPublicOut()
    created_at = serializers.DateTimeField()
