"""
Receipt endpoints under /api/chat/<id>/ (docs/protocol.md, "Delivery and read receipts"):

    GET receipts/?limit=&cursor=              -> [{user_id, delivered_seq, last_read_seq}]  (Link)
    GET messages/<message_id>/receipts/       -> {message_id, seq, members, delivered, read, delivered_to, read_by}

``last_read_seq`` is null, and a member missing from ``read_by``, where read
receipts hide it (the member's or the caller's ``read_receipts`` setting).
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.conversations.api import members_conversation
from chat.receipts.selectors import member_receipt_data, member_receipts, message_receipts, message_receipts_data
from core.pagination import LinkHeaderCursorPagination, cursor_page_parameters
from core.schema import errors


class MemberReceiptOut(serializers.Serializer):
    user_id = serializers.UUIDField()
    delivered_seq = serializers.IntegerField(help_text="The highest seq delivered to one of their sockets or devices.")
    last_read_seq = serializers.IntegerField(
        allow_null=True, help_text="How far they read; null where read receipts are off (theirs or yours).",
    )


class MessageReceiptsOut(serializers.Serializer):
    message_id = serializers.UUIDField()
    seq = serializers.IntegerField()
    members = serializers.IntegerField(help_text="Members other than the sender.")
    delivered = serializers.IntegerField(help_text="How many of them have it delivered.")
    read = serializers.IntegerField(help_text="How many of them have read it, of those whose reads you are shown.")
    delivered_to = serializers.ListField(child=serializers.UUIDField())
    read_by = serializers.ListField(child=serializers.UUIDField())


class ReceiptsPagination(LinkHeaderCursorPagination):
    """Members in the order they joined, CHAT_RECEIPTS_PAGE_SIZE a page (``?limit=`` up to CHAT_RECEIPTS_PAGE_MAX)."""

    ordering = "joined_at"

    def __init__(self):
        self.page_size = settings.CHAT_RECEIPTS_PAGE_SIZE
        self.max_page_size = settings.CHAT_RECEIPTS_PAGE_MAX


class MemberReceiptsView(APIView):
    @extend_schema(
        tags=["conversations"],
        parameters=cursor_page_parameters("CHAT_RECEIPTS_PAGE_SIZE, 100; at most CHAT_RECEIPTS_PAGE_MAX, 500"),
        responses={200: MemberReceiptOut(many=True), **errors(401, 404)},
        description=(
            "Each member's delivered and read positions, in the order they joined: a direct conversation's ticks "
            "(sent, delivered, read) are the other member's positions against a message's seq. `chat.delivered` "
            "and `chat.read` frames keep them current."
        ),
    )
    def get(self, request, conversation_id):
        conversation = members_conversation(request, conversation_id)
        paginator = ReceiptsPagination()
        page = paginator.paginate_queryset(member_receipts(conversation=conversation, viewer=request.user), request, self)
        return paginator.get_paginated_response([member_receipt_data(row) for row in page])


class MessageReceiptsView(APIView):
    @extend_schema(
        tags=["messages"], responses={200: MessageReceiptsOut, **errors(401, 404)},
        description=(
            "Who of the other members has a message delivered and read (counts and ids; at most "
            "CHAT_GROUP_MAX_MEMBERS each). Reads follow read receipts: none of a member who turned them off, "
            "and none but your own while yours are off."
        ),
    )
    def get(self, request, conversation_id, message_id):
        conversation = members_conversation(request, conversation_id)
        receipts = message_receipts(conversation=conversation, viewer=request.user, message_id=message_id)
        return Response(message_receipts_data(receipts))
