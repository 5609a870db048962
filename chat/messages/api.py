"""
Message endpoints under /api/chat/<id>/:

    GET  messages/?before=&after=&limit=    -> [message...]
    GET  messages/?q=&limit=                -> [message...] matching, best first (Link)
    POST messages/ {body, client_id?, reply_to?, attachment_ids?, thread_id?} -> 201 message (200 on a resend)
    PATCH|DELETE messages/<message_id>/     -> the message (author only)
    POST messages/<message_id>/reactions/ {emoji}   -> the message
    DELETE messages/<message_id>/reactions/<emoji>/ -> the message
    POST|DELETE messages/<message_id>/pin/          -> the message (pinned or not)
    GET  pins/?limit=&cursor=                       -> [{message, pinned_by, pinned_at}...] newest pin first (Link)
    POST messages/<message_id>/forward/ {conversation_ids, comment?} -> {results: [per target]}

and, across conversations, ``GET /api/chat/mentions/?limit=&cursor=`` -> [message...]
(the messages that mention you, newest first; Link).
"""


from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.conversations.api import members_conversation
from chat.messages.forward import message_forward
from chat.messages.metadata import metadata_filters
from chat.messages.pins import message_pin, message_unpin
from chat.messages.reactions import reaction_add, reaction_remove
from chat.messages.selectors import mention_list, message_list, pinned_messages
from chat.messages.send import message_send
from chat.messages.serializers import (
    METADATA_FILTER,
    ForwardInput,
    ForwardOut,
    MessageCreateInput,
    MessageEditInput,
    MessageOut,
    MessageRangeInput,
    PinOut,
    ReactionInput,
    message_data,
    timestamp,
)
from chat.messages.services import UNCHANGED, message_delete, message_edit
from chat.search.api import search_response
from chat.search.serializers import SearchInput
from core.errors import InvalidInput
from useraccount.serializers import user_public
from core.pagination import LINK_HEADER, LinkHeaderCursorPagination, cursor_page_parameters
from core.schema import errors
from core.throttling import (
    MessageSearchThrottle,
    MessageSendThrottle,
    UserThrottle,
)



class MessageListView(APIView):
    throttle_classes = [UserThrottle, MessageSendThrottle]  # sends (POST) only

    def get_throttles(self):
        if self.request.method == "GET" and "q" in self.request.query_params:
            return [UserThrottle(), MessageSearchThrottle()]
        return super().get_throttles()

    @extend_schema(
        tags=["messages"], parameters=[MessageRangeInput, SearchInput.optional(), METADATA_FILTER, LINK_HEADER],
        responses={200: MessageOut(many=True), **errors(400, 401, 404)},
        description=(
            "Messages in seq order: the latest `limit`, those `before` a seq, or those `after` one; with "
            "`metadata.<key>=<value>` (at most CHAT_MESSAGE_METADATA_MAX_FILTERS, 4) only those whose metadata has "
            "each key equal to the value as text (docs/protocol.md, \"Message metadata\"). "
            "With `q`: the messages that match it, best first, paged by `cursor` (as /api/chat/search/)."
        ),
    )
    def get(self, request, conversation_id):
        conversation = members_conversation(request, conversation_id)
        if "q" in request.query_params:
            if {"before", "after"} & set(request.query_params):
                raise InvalidInput("q cannot be combined with before or after.", code="invalid_query", field="q")
            return search_response(request, conversation)
        params = MessageRangeInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        messages = message_list(
            conversation=conversation, metadata=metadata_filters(request.query_params), **params.validated_data
        )
        return Response([message_data(m) for m in messages])

    @extend_schema(
        tags=["messages"], request=MessageCreateInput,
        responses={201: MessageOut, 200: MessageOut, **errors(400, 401, 403, 404, 415)},
        description=(
            "Send a message (broadcast as if sent on a socket); a repeated `client_id` answers 200 with the original. "
            "In a direct conversation: 403 `blocked` while either member blocks the other, `recipient_deleted` once "
            "the other deleted their account."
        ),
    )
    def post(self, request, conversation_id):
        data = MessageCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        message, created = message_send(
            conversation_id=conversation_id,
            sender=request.user,
            body=data.validated_data["body"],
            client_id=data.validated_data["client_id"],
            reply_to=data.validated_data.get("reply_to"),
            attachment_ids=data.validated_data.get("attachment_ids"),
            thread_id=data.validated_data.get("thread_id"),
            metadata=data.validated_data.get("metadata"),
        )
        return Response(
            message_data(message), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class MessageDetailView(APIView):
    @extend_schema(
        tags=["messages"], request=MessageEditInput, responses={200: MessageOut, **errors(400, 401, 403, 404, 415)},
        description=(
            "Edit your message's body and/or metadata (absent: unchanged). 403 `forbidden` for someone else's; in a direct conversation, `blocked` or "
            "`recipient_deleted` as for sending."
        ),
    )
    def patch(self, request, conversation_id, message_id):
        data = MessageEditInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = message_edit(
            conversation_id=conversation_id, user=request.user, message_id=message_id,
            body=data.validated_data.get("body", UNCHANGED), metadata=data.validated_data.get("metadata", UNCHANGED),
        )
        return Response(message_data(message))

    @extend_schema(
        tags=["messages"], responses={200: MessageOut, **errors(401, 403, 404)},
        description="Delete your message, or in a group you own or are an admin of anyone's: a tombstone keeps its seq.",
    )
    def delete(self, request, conversation_id, message_id):
        message = message_delete(
            conversation_id=conversation_id, user=request.user, message_id=message_id
        )
        return Response(message_data(message))


class ReactionsView(APIView):
    @extend_schema(
        tags=["messages"], request=ReactionInput, responses={200: MessageOut, **errors(400, 401, 403, 404, 415)},
        description=(
            "React to a message with one emoji (again: no change); the room gets `chat.reaction`. In a direct "
            "conversation: 403 `blocked` or `recipient_deleted` as for sending."
        ),
    )
    def post(self, request, conversation_id, message_id):
        data = ReactionInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = reaction_add(
            conversation_id=conversation_id, user=request.user, message_id=message_id, emoji=data.validated_data["emoji"]
        )
        return Response(message_data(message))


class ReactionView(APIView):
    @extend_schema(
        tags=["messages"], responses={200: MessageOut, **errors(400, 401, 404)},
        description="Take your reaction back (the emoji percent-encoded in the path).",
    )
    def delete(self, request, conversation_id, message_id, emoji):
        message = reaction_remove(
            conversation_id=conversation_id, user=request.user, message_id=message_id, emoji=emoji
        )
        return Response(message_data(message))


class PinView(APIView):
    @extend_schema(
        tags=["messages"], request=None, responses={200: MessageOut, **errors(400, 401, 403, 404)},
        description=(
            "Pin a message (again: no change). A group's owner and admins (else 403 `not_admin`), either member of "
            "a direct conversation (403 `blocked` or `recipient_deleted` while it is closed). 400 `too_many_pins` "
            "past CHAT_PINS_PER_CONVERSATION; `message_deleted`, `message_moderated`, `system_message`. Posts a "
            "system message (`message_pinned`); the room gets `chat.pinned`."
        ),
    )
    def post(self, request, conversation_id, message_id):
        message = message_pin(conversation_id=conversation_id, user=request.user, message_id=message_id)
        return Response(message_data(message))

    @extend_schema(
        tags=["messages"], responses={200: MessageOut, **errors(401, 403, 404)},
        description="Unpin a message (not pinned: no change); the same right as pinning. The room gets `chat.unpinned`.",
    )
    def delete(self, request, conversation_id, message_id):
        message = message_unpin(conversation_id=conversation_id, user=request.user, message_id=message_id)
        return Response(message_data(message))


class PinPage(LinkHeaderCursorPagination):
    """Pins newest first, paged as the conversations are (?limit=, cursors in Link)."""

    ordering = "-pinned_at"


class PinsView(APIView):
    @extend_schema(
        tags=["messages"],
        parameters=cursor_page_parameters("CHAT_CONVERSATION_PAGE_SIZE, 100; at most CHAT_CONVERSATION_PAGE_MAX, 200"),
        responses={200: PinOut(many=True), **errors(401, 404)},
        description="The conversation's pinned messages, newest pin first, with who pinned each and when.",
    )
    def get(self, request, conversation_id):
        conversation = members_conversation(request, conversation_id)
        paginator = PinPage()
        page = paginator.paginate_queryset(pinned_messages(conversation=conversation), request, view=self)
        return paginator.get_paginated_response([
            {
                "message": message_data(message),
                "pinned_by": user_public(message.pinned_by) if message.pinned_by is not None else None,
                "pinned_at": timestamp(message.pinned_at),
            }
            for message in page
        ])


class ForwardView(APIView):
    throttle_classes = [UserThrottle, MessageSendThrottle]

    @extend_schema(
        tags=["messages"], request=ForwardInput, responses={200: ForwardOut, **errors(400, 401, 404, 415)},
        description=(
            "Forward a message of this conversation to conversations of yours (at most CHAT_FORWARD_MAX_TARGETS, "
            "else 400 `too_many_targets`), each copy sent as any message is and saying whose it was, never from "
            "where; then `comment`, if any. One result per target: a target you may not post in (404 `not_found`, "
            "403 `blocked`, `recipient_deleted`) fails alone, the others are sent. The whole request fails for a "
            "message you cannot see (404) or that cannot be forwarded (400 `message_deleted`, `message_moderated`, "
            "`system_message`). Files are shared with the copies, not copied."
        ),
    )
    def post(self, request, conversation_id, message_id):
        data = ForwardInput(data=request.data)
        data.is_valid(raise_exception=True)
        results = message_forward(
            conversation_id=conversation_id, user=request.user, message_id=message_id,
            conversation_ids=data.validated_data["conversation_ids"], comment=data.validated_data["comment"],
        )
        return Response({"results": [
            {
                "conversation_id": result.conversation_id,
                "ok": result.error is None,
                "message": message_data(result.message) if result.message is not None else None,
                "comment": message_data(result.comment) if result.comment is not None else None,
                "error": result.error.as_dict() if result.error is not None else None,
            }
            for result in results
        ]})
class MentionPagination(LinkHeaderCursorPagination):
    """Mentions newest first, CHAT_MENTIONS_PAGE_SIZE a page unless ``?limit=`` asks (up to CHAT_MENTIONS_PAGE_MAX)."""

    ordering = "-created_at"

    def __init__(self):
        self.page_size = settings.CHAT_MENTIONS_PAGE_SIZE
        self.max_page_size = settings.CHAT_MENTIONS_PAGE_MAX


class MentionListView(APIView):
    @extend_schema(
        tags=["messages"],
        parameters=cursor_page_parameters("CHAT_MENTIONS_PAGE_SIZE, 20; at most CHAT_MENTIONS_PAGE_MAX, 50"),
        responses={200: MessageOut(many=True), **errors(401, 404)},
        description=(
            "The messages that mention you (`<@your-id>` or `@all`), newest first, in the conversations you are "
            "still a member of; deleted and moderated ones are left out."
        ),
    )
    def get(self, request):
        paginator = MentionPagination()
        page = paginator.paginate_queryset(mention_list(user=request.user), request, self)
        return paginator.get_paginated_response([message_data(m) for m in page])
