"""
Conversation endpoints under /api/chat/, and the REST error mapping.

    GET  /api/chat/?limit=                  -> [conversation...]   (Link: <...>; rel="next")
    POST /api/chat/         {user_ids, title?}             -> 201 conversation
    GET|POST /api/chat/start/<user_id>/     -> {success, conversation_id}
    GET  /api/chat/<id>/                    -> {conversation, messages (the latest CHAT_HISTORY_MESSAGES)}
    GET  /api/chat/<id>/messages/?before=&after=&limit=    -> [message...]
    POST /api/chat/<id>/messages/ {body, client_id?}       -> 201 message (200 on a resend)
    PATCH|DELETE /api/chat/<id>/messages/<message_id>/     -> the message (author only)
    POST /api/chat/<id>/read/     {seq}                    -> {conversation_id, last_read_seq, unread_count}
    GET  /api/chat/unread/                  -> {total, conversations: {id: count}}
    GET  /api/chat/presence/                -> {online: [ids of contacts online]}

Views parse, call a selector or service, and serialise; nothing here writes
to the database or publishes by itself. Services check membership and
authorship themselves and publish their events before returning.
"""

from django.conf import settings
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound as DRFNotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from core.schema import errors
from core.throttling import MessageSendThrottle, UserThrottle
from core.validation import uuid_or_none

from . import selectors, services
from .realtime.presence import Unknown, online_among
from .serializers import (
    ConversationCreateInput,
    ConversationDetailOut,
    ConversationListItemOut,
    ConversationStartOut,
    MessageCreateInput,
    MessageEditInput,
    MessageOut,
    MessageRangeInput,
    PresenceOut,
    ReadInput,
    ReadOut,
    UnreadOut,
    conversation_data,
    conversation_list_item,
    message_data,
)


def _members_conversation(request, conversation_id):
    """The conversation if the caller is a member; NotFound (404) otherwise."""
    return selectors.conversation_get_for_user(conversation_id=conversation_id, user=request.user)


class LinkHeaderCursorPagination(CursorPagination):
    """
    Cursor pages whose body stays a plain array; the cursors go in ``Link``.
    CHAT_CONVERSATION_PAGE_SIZE conversations unless ``?limit=`` asks for
    fewer or more (up to CHAT_CONVERSATION_PAGE_MAX).
    """

    page_size_query_param = "limit"
    ordering = "-modified_at"

    def __init__(self):
        self.page_size = settings.CHAT_CONVERSATION_PAGE_SIZE
        self.max_page_size = settings.CHAT_CONVERSATION_PAGE_MAX

    def decode_cursor(self, request):
        """DRF's, plus: a cursor whose position is not a time is invalid (404), not a 500."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                valid = parse_datetime(cursor.position) is not None
            except ValueError:  # well formed but impossible, e.g. month 13
                valid = False
            if not valid:
                raise DRFNotFound(self.invalid_cursor_message)
        return cursor

    def get_paginated_response(self, data):
        links = []
        if (url := self.get_next_link()) is not None:
            links.append(f'<{url}>; rel="next"')
        if (url := self.get_previous_link()) is not None:
            links.append(f'<{url}>; rel="prev"')
        headers = {"Link": ", ".join(links)} if links else {}
        return Response(data, headers=headers)


LINK_HEADER = OpenApiParameter(
    "Link", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200],
    description='Cursor links to the next and previous pages: `<url>; rel="next", <url>; rel="prev"`.',
)


class ConversationListView(APIView):
    @extend_schema(
        tags=["conversations"],
        parameters=[
            OpenApiParameter("limit", int, description="Page size (default CHAT_CONVERSATION_PAGE_SIZE, 100; at most CHAT_CONVERSATION_PAGE_MAX, 200)."),
            OpenApiParameter("cursor", str, description="From a `Link` header; opaque."),
            LINK_HEADER,
        ],
        responses={200: ConversationListItemOut(many=True), **errors(401, 404)},
        description="Your conversations, most recently active first, with unread counts.",
    )
    def get(self, request):
        paginator = LinkHeaderCursorPagination()
        page = paginator.paginate_queryset(selectors.conversation_list(user=request.user), request, self)
        selectors.attach_last_messages(page)
        online = online_among({user.id for c in page for user in c.users.all()})
        return paginator.get_paginated_response([conversation_list_item(c, online) for c in page])

    @extend_schema(
        tags=["conversations"], request=ConversationCreateInput,
        responses={201: ConversationListItemOut, 200: ConversationListItemOut, **errors(400, 401, 415)},
        description="Create a group of you and `user_ids`; a repeated `client_id` answers 200 with the group it made.",
    )
    def post(self, request):
        data = ConversationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        conversation, created = services.conversation_create_group(
            creator=request.user,
            user_ids=data.validated_data["user_ids"],
            title=data.validated_data["title"],
            client_id=request.data.get("client_id"),
        )
        selectors.attach_last_messages([conversation])
        online = online_among(user.id for user in conversation.users.all())
        return Response(
            conversation_list_item(conversation, online),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ConversationStartView(APIView):
    @extend_schema(tags=["conversations"], responses={200: ConversationStartOut, **errors(400, 401, 404)})
    def get(self, request, user_id):
        return self.post(request, user_id)

    @extend_schema(
        tags=["conversations"], request=None, responses={200: ConversationStartOut, **errors(400, 401, 404)},
        description="The one direct conversation between you and the user (made on first use).",
    )
    def post(self, request, user_id):
        other_id = uuid_or_none(user_id)
        if other_id is None:
            raise NotFound("No such user.")
        conversation, created = services.conversation_start_direct(
            user=request.user, other_user_id=other_id
        )
        return Response(
            {"success": True, "conversation_id": str(conversation.id), "created": created}
        )


class ConversationDetailView(APIView):
    @extend_schema(
        tags=["conversations"], responses={200: ConversationDetailOut, **errors(401, 404)},
        description="The conversation and its latest CHAT_HISTORY_MESSAGES (200) messages, oldest first.",
    )
    def get(self, request, conversation_id):
        conversation = _members_conversation(request, conversation_id)
        conversation = selectors.conversation_with_users(conversation_id=conversation.id)
        messages = selectors.message_list(conversation=conversation, limit=settings.CHAT_HISTORY_MESSAGES)
        online = online_among(user.id for user in conversation.users.all())
        return Response(
            {
                "conversation": conversation_data(conversation, online),
                "messages": [message_data(m) for m in messages],
            }
        )


class MessageListView(APIView):
    throttle_classes = [UserThrottle, MessageSendThrottle]  # sends (POST) only

    @extend_schema(
        tags=["messages"], parameters=[MessageRangeInput],
        responses={200: MessageOut(many=True), **errors(400, 401, 404)},
        description="Messages in seq order: the latest `limit`, those `before` a seq, or those `after` one.",
    )
    def get(self, request, conversation_id):
        conversation = _members_conversation(request, conversation_id)
        params = MessageRangeInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        messages = selectors.message_list(conversation=conversation, **params.validated_data)
        return Response([message_data(m) for m in messages])

    @extend_schema(
        tags=["messages"], request=MessageCreateInput,
        responses={201: MessageOut, 200: MessageOut, **errors(400, 401, 404, 415)},
        description="Send a message (broadcast as if sent on a socket); a repeated `client_id` answers 200 with the original.",
    )
    def post(self, request, conversation_id):
        data = MessageCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        message, created = services.message_send(
            conversation_id=conversation_id,
            sender=request.user,
            body=data.validated_data["body"],
            client_id=data.validated_data["client_id"],
        )
        return Response(
            message_data(message), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class MessageDetailView(APIView):
    @extend_schema(tags=["messages"], request=MessageEditInput, responses={200: MessageOut, **errors(400, 401, 403, 404, 415)})
    def patch(self, request, conversation_id, message_id):
        data = MessageEditInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_edit(
            conversation_id=conversation_id, user=request.user, message_id=message_id,
            body=data.validated_data["body"],
        )
        return Response(message_data(message))

    @extend_schema(
        tags=["messages"], responses={200: MessageOut, **errors(401, 403, 404)},
        description="Delete your message: a tombstone keeps its seq.",
    )
    def delete(self, request, conversation_id, message_id):
        message = services.message_delete(
            conversation_id=conversation_id, user=request.user, message_id=message_id
        )
        return Response(message_data(message))


class ReadView(APIView):
    @extend_schema(tags=["messages"], request=ReadInput, responses={200: ReadOut, **errors(400, 401, 404, 415)})
    def post(self, request, conversation_id):
        data = ReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        state = services.conversation_mark_read(
            conversation_id=conversation_id, user=request.user, seq=data.validated_data["seq"]
        )
        return Response(
            {
                "conversation_id": str(state.conversation_id),
                "last_read_seq": state.last_read_seq,
                "unread_count": state.unread_count,
            }
        )


class UnreadView(APIView):
    @extend_schema(tags=["conversations"], responses={200: UnreadOut, **errors(401)})
    def get(self, request):
        counts = selectors.unread_counts(user=request.user)
        return Response({"total": sum(counts.values()), "conversations": counts})


class PresenceView(APIView):
    @extend_schema(tags=["conversations"], responses={200: PresenceOut, **errors(401)})
    def get(self, request):
        online = online_among(selectors.contact_ids(user=request.user))
        # null: presence is unknown just now (docs/protocol.md, "When Redis is down").
        return Response({"online": None if isinstance(online, Unknown) else sorted(online)})
