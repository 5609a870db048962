"""
Thread endpoints (docs/protocol.md, "Threads"); replying in a thread is
``POST /api/chat/<id>/messages/ {body, thread_id}`` (chat.messages.api):

    GET    /api/chat/<id>/messages/<root_id>/thread/?before=&after=&limit=  -> {root, replies, following, last_read_seq, unread_count, ...}
    POST   /api/chat/<id>/messages/<root_id>/thread/read/ {seq}             -> thread state
    PUT    /api/chat/<id>/messages/<root_id>/thread/follow/                 -> thread state
    DELETE /api/chat/<id>/messages/<root_id>/thread/follow/                 -> thread state
    GET    /api/chat/threads/?unread=&limit=&cursor=                        -> [thread...] (Link)

Reading a thread and following or unfollowing it tell the user's other
sockets (``thread.state``); chat.threads.services does it.
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.conversations.serializers import ReadInput
from chat.threads.selectors import thread_list, thread_page
from chat.threads.serializers import (
    ThreadItemOut,
    ThreadListInput,
    ThreadPageOut,
    ThreadRangeInput,
    ThreadStateOut,
    thread_list_item,
    thread_page_data,
    thread_state_data,
)
from chat.threads.services import thread_follow, thread_mark_read
from core.pagination import LinkHeaderCursorPagination, cursor_page_parameters
from core.schema import errors


class ThreadPagination(LinkHeaderCursorPagination):
    """The user's threads, most recently replied to first: CHAT_THREAD_LIST_PAGE_SIZE, ``?limit=`` up to CHAT_THREAD_LIST_PAGE_MAX."""

    ordering = ("-last_activity", "-id")

    def __init__(self):
        self.page_size = settings.CHAT_THREAD_LIST_PAGE_SIZE
        self.max_page_size = settings.CHAT_THREAD_LIST_PAGE_MAX


class ThreadView(APIView):
    @extend_schema(
        tags=["threads"], parameters=[ThreadRangeInput], responses={200: ThreadPageOut, **errors(400, 401, 404)},
        description=(
            "A thread: its root, a page of its replies in seq order (the latest `limit`, those `before` a seq, or "
            "those `after` one, as the conversation's messages) and your state of it. 400 `not_a_thread_root` "
            "for a reply's id, `invalid_thread` for a system message."
        ),
    )
    def get(self, request, conversation_id, message_id):
        params = ThreadRangeInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = thread_page(
            conversation_id=conversation_id, user=request.user, root_id=message_id, **params.validated_data
        )
        return Response(thread_page_data(page))


class ThreadReadView(APIView):
    @extend_schema(
        tags=["threads"], request=ReadInput, responses={200: ThreadStateOut, **errors(400, 401, 404, 415)},
        description="You have read the thread up to `seq` (capped at its newest reply; never backwards).",
    )
    def post(self, request, conversation_id, message_id):
        data = ReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        state = thread_mark_read(
            conversation_id=conversation_id, user=request.user, root_id=message_id, seq=data.validated_data["seq"]
        )
        return Response(thread_state_data(state))


class ThreadFollowView(APIView):
    @extend_schema(
        tags=["threads"], request=None, responses={200: ThreadStateOut, **errors(400, 401, 404)},
        description="Follow a message's thread: its replies notify you (notification frames, pushes).",
    )
    def put(self, request, conversation_id, message_id):
        state = thread_follow(conversation_id=conversation_id, user=request.user, root_id=message_id, following=True)
        return Response(thread_state_data(state))

    @extend_schema(
        tags=["threads"], responses={200: ThreadStateOut, **errors(400, 401, 404)},
        description="Stop following a thread (a reply of yours follows it again); your read position stays.",
    )
    def delete(self, request, conversation_id, message_id):
        state = thread_follow(conversation_id=conversation_id, user=request.user, root_id=message_id, following=False)
        return Response(thread_state_data(state))


class ThreadListView(APIView):
    @extend_schema(
        tags=["threads"],
        parameters=[
            ThreadListInput,
            *cursor_page_parameters("CHAT_THREAD_LIST_PAGE_SIZE, 20; at most CHAT_THREAD_LIST_PAGE_MAX, 100"),
        ],
        responses={200: ThreadItemOut(many=True), **errors(400, 401, 404)},
        description=(
            "The threads you follow in your conversations, most recently replied to first, with unread counts; "
            "with `unread=true`, only those with replies you have not read."
        ),
    )
    def get(self, request):
        params = ThreadListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        threads = thread_list(user=request.user, unread_only=params.validated_data["unread"])
        paginator = ThreadPagination()
        page = paginator.paginate_queryset(threads, request, self)
        return paginator.get_paginated_response([thread_list_item(thread) for thread in page])
