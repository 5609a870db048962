"""
Invite link endpoints (docs/protocol.md, "Invite links"):

    GET  /api/chat/<id>/invites/                  -> [invite...] the links still alive (owner and admins; paged)
    POST /api/chat/<id>/invites/ {expires_in?, max_uses?, approval?} -> 201 invite
    DELETE /api/chat/<id>/invites/<invite_id>/    -> 204 revoked
    GET  /api/chat/invites/<token>/               -> {conversation_id, title, member_count, approval, expires_at}
    POST /api/chat/invites/<token>/join/          -> {conversation_id, status: joined | member | pending}
    GET  /api/chat/<id>/join-requests/            -> [{user, created_at}...] (owner and admins; paged)
    POST /api/chat/<id>/join-requests/<user_id>/approve/ -> conversation
    DELETE /api/chat/<id>/join-requests/<user_id>/ -> 204 turned away
"""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.conversations.api import with_presence
from chat.conversations.serializers import ConversationOut
from chat.invites.serializers import (
    InviteCreateInput,
    InviteOut,
    InvitePreviewOut,
    JoinOut,
    JoinRequestOut,
    invite_data,
    invite_preview_data,
    join_request_data,
)
from chat.invites.services import (
    invite_by_token,
    invite_create,
    invite_join,
    invite_list,
    invite_revoke,
    join_request_decide,
    join_request_list,
)
from chat.models import ConversationMember
from core.pagination import LinkHeaderCursorPagination, cursor_page_parameters
from core.schema import errors
from core.throttling import InviteJoinThrottle, UserThrottle

PAGE_PARAMETERS = cursor_page_parameters("CHAT_CONVERSATION_PAGE_SIZE, 100; at most CHAT_CONVERSATION_PAGE_MAX, 200")


class NewestFirst(LinkHeaderCursorPagination):
    ordering = ("-created_at", "-id")


class OldestFirst(LinkHeaderCursorPagination):
    ordering = ("created_at", "id")


class InvitesView(APIView):
    @extend_schema(
        tags=["invites"], parameters=PAGE_PARAMETERS, responses={200: InviteOut(many=True), **errors(400, 401, 403, 404)},
        description="The group's invite links that still work, newest first (its owner and admins; others 403 `not_admin`).",
    )
    def get(self, request, conversation_id):
        paginator = NewestFirst()
        page = paginator.paginate_queryset(invite_list(conversation_id=conversation_id, user=request.user), request, self)
        return paginator.get_paginated_response([invite_data(invite, request=request) for invite in page])

    @extend_schema(
        tags=["invites"], request=InviteCreateInput, responses={201: InviteOut, **errors(400, 401, 403, 404, 415)},
        description=(
            "Make an invite link (the owner and admins): it works for `expires_in` seconds and `max_uses` joins. At most "
            "CHAT_INVITES_PER_CONVERSATION (20) links work at once (`too_many_invites`)."
        ),
    )
    def post(self, request, conversation_id):
        data = InviteCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        invite = invite_create(conversation_id=conversation_id, user=request.user, **data.validated_data)
        return Response(invite_data(invite, request=request), status=status.HTTP_201_CREATED)


class InviteView(APIView):
    @extend_schema(
        tags=["invites"], responses={204: None, **errors(400, 401, 403, 404)},
        description="Revoke an invite link: it stops working at once (the owner and admins).",
    )
    def delete(self, request, conversation_id, invite_id):
        invite_revoke(conversation_id=conversation_id, user=request.user, invite_id=invite_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitePreviewView(APIView):
    @extend_schema(
        tags=["invites"], responses={200: InvitePreviewOut, **errors(401, 404)},
        description=(
            "The group an invite link leads to, for anyone signed in: its title and size, not its members or history. "
            "404 with `invite_not_found`, `invite_expired`, `invite_revoked` or `invite_used_up`."
        ),
    )
    def get(self, request, token):
        invite = invite_by_token(token=token)
        count = ConversationMember.objects.filter(conversation_id=invite.conversation_id).count()
        return Response(invite_preview_data(invite, member_count=count))


class InviteJoinView(APIView):
    throttle_classes = [UserThrottle, InviteJoinThrottle]

    @extend_schema(
        tags=["invites"], request=None, responses={200: JoinOut, **errors(400, 401, 404, 429)},
        description=(
            "Join the group with an invite link (one use of it; a system message and `conversation.updated` tell the "
            "members), or, on a link that needs approval, ask to (`pending`; the owner and admins get "
            "`conversation.join_requested`). At most THROTTLE_INVITE_JOIN (20/hour) attempts per user."
        ),
    )
    def post(self, request, token):
        result = invite_join(token=token, user=request.user)
        state = "joined" if result.joined else "pending" if result.pending else "member"
        return Response({"conversation_id": str(result.conversation.id), "status": state})


class JoinRequestsView(APIView):
    @extend_schema(
        tags=["invites"], parameters=PAGE_PARAMETERS, responses={200: JoinRequestOut(many=True), **errors(400, 401, 403, 404)},
        description="Who asks to join the group, oldest first (the owner and admins).",
    )
    def get(self, request, conversation_id):
        paginator = OldestFirst()
        requests = join_request_list(conversation_id=conversation_id, user=request.user)
        page = paginator.paginate_queryset(requests, request, self)
        return paginator.get_paginated_response([join_request_data(item) for item in page])


class JoinRequestApproveView(APIView):
    @extend_schema(
        tags=["invites"], request=None, responses={200: ConversationOut, **errors(400, 401, 403, 404)},
        description="Let a requester in (the owner and admins): a system message and `conversation.updated`.",
    )
    def post(self, request, conversation_id, user_id):
        conversation = join_request_decide(
            conversation_id=conversation_id, user=request.user, requester_id=user_id, approve=True
        )
        return Response(with_presence(conversation))


class JoinRequestView(APIView):
    @extend_schema(
        tags=["invites"], responses={204: None, **errors(400, 401, 403, 404)},
        description="Turn a requester away (the owner and admins); they may ask again with a link that works.",
    )
    def delete(self, request, conversation_id, user_id):
        join_request_decide(conversation_id=conversation_id, user=request.user, requester_id=user_id, approve=False)
        return Response(status=status.HTTP_204_NO_CONTENT)
