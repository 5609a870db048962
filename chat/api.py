"""
Conversation endpoints under /api/chat/, and the REST error mapping.

    GET  /api/chat/?limit=                  -> [conversation...]   (Link: <...>; rel="next")
    POST /api/chat/         {user_ids, title?}             -> 201 conversation
    GET|POST /api/chat/start/<user_id>/     -> {success, conversation_id}
    GET  /api/chat/search/?q=&limit=        -> [message...] across your conversations, best first (Link)
    GET  /api/chat/<id>/                    -> {conversation, messages (the latest CHAT_HISTORY_MESSAGES)}
    PATCH /api/chat/<id>/   {title}         -> conversation (the group's owner)
    POST /api/chat/<id>/members/ {user_ids} -> conversation (the group's owner)
    DELETE /api/chat/<id>/members/<user_id>/ -> 204 (the owner removes; anyone leaves)
    GET  /api/chat/<id>/messages/?before=&after=&limit=    -> [message...]
    GET  /api/chat/<id>/messages/?q=&limit=                -> [message...] matching, best first (Link)
    POST /api/chat/<id>/messages/ {body, client_id?, reply_to?, attachment_ids?} -> 201 message (200 on a resend)
    PATCH|DELETE /api/chat/<id>/messages/<message_id>/     -> the message (author only)
    POST /api/chat/<id>/messages/<message_id>/reactions/ {emoji}   -> the message
    DELETE /api/chat/<id>/messages/<message_id>/reactions/<emoji>/ -> the message
    POST /api/chat/<id>/attachments/  multipart file       -> 201 attachment
    GET  /api/chat/<id>/attachments/<attachment_id>/       -> the file (members only)
    POST /api/chat/<id>/read/     {seq}                    -> {conversation_id, last_read_seq, unread_count}
    PUT  /api/chat/<id>/mute/     {until?}                 -> {muted, muted_until}
    DELETE /api/chat/<id>/mute/                            -> 204
    POST /api/reports/  {message_id | user_id, reason, details?} -> 201 report (200: your open report of it)
    GET  /api/chat/unread/                  -> {total, conversations: {id: count}}
    GET  /api/chat/presence/                -> {online: [ids of contacts online]}

Views parse, call a selector or service, and serialise; nothing here writes
to the database or publishes by itself. Services check membership and
authorship themselves and publish their events before returning.
"""

import base64
import binascii
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, HttpResponseRedirect
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound as DRFNotFound
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from core.errors import InvalidInput, NotFound, TooLarge
from core.schema import errors
from core.throttling import (
    AttachmentUploadThrottle,
    MessageSearchThrottle,
    MessageSendThrottle,
    ReportThrottle,
    UserThrottle,
)
from core.validation import uuid_or_none

from . import selectors, services
from .models import direct_peer_id
from .realtime.presence import Unknown, online_among
from .serializers import (
    AttachmentOut,
    AttachmentUploadInput,
    ConversationCreateInput,
    ConversationOut,
    ConversationUpdateInput,
    MembersAddInput,
    ReactionInput,
    SearchInput,
    ConversationDetailOut,
    ConversationListItemOut,
    ConversationStartOut,
    MessageCreateInput,
    MessageEditInput,
    MessageOut,
    MessageRangeInput,
    MuteInput,
    MuteOut,
    PresenceOut,
    ReportInput,
    ReportOut,
    ReadInput,
    ReadOut,
    UnreadOut,
    attachment_data,
    attachment_summary,
    conversation_data,
    conversation_list_item,
    message_data,
    mute_data,
    report_data,
)


def _with_presence(conversation) -> dict:
    return conversation_data(conversation, online_among(user.id for user in conversation.users.all()))


def _online_in(conversation, online, *, user, closed_by_block: bool):
    """
    ``online`` as shown to ``user`` in ``conversation``: in a direct
    conversation a block closes, the other member shows offline.
    """
    if not closed_by_block or isinstance(online, Unknown):
        return online
    return online - {str(direct_peer_id(conversation.direct_key, user.id))}


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
        return _linked_page(data, next_url=self.get_next_link(), prev_url=self.get_previous_link())


def _linked_page(data: list, *, next_url: str | None, prev_url: str | None) -> Response:
    """A page as a plain array, its neighbours in the ``Link`` header (every list the API pages)."""
    links = [f'<{url}>; rel="{rel}"' for rel, url in (("next", next_url), ("prev", prev_url)) if url is not None]
    return Response(data, headers={"Link": ", ".join(links)} if links else {})


LINK_HEADER = OpenApiParameter(
    "Link", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200],
    description='Cursor links to the next and previous pages: `<url>; rel="next", <url>; rel="prev"`.',
)


class SearchPage:
    """
    Pages of ranked search results: ``?limit=`` (CHAT_SEARCH_PAGE_SIZE, at
    most CHAT_SEARCH_PAGE_MAX) and an opaque ``cursor`` in the ``Link``
    header, as the other lists; no deeper than CHAT_SEARCH_MAX_RESULTS.
    """

    def __init__(self, request, params: dict):
        self.request = request
        self.limit = params.get("limit") or settings.CHAT_SEARCH_PAGE_SIZE
        self.offset = self._offset(params.get("cursor"))

    @staticmethod
    def _offset(cursor: str | None) -> int:
        if not cursor:
            return 0
        try:
            text = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii")
        except (binascii.Error, UnicodeError, ValueError):
            text = ""
        if not text.startswith("o") or not text[1:].isdigit():
            raise NotFound("Invalid cursor.")
        return int(text[1:])

    def results(self, queryset) -> list:
        end = min(self.offset + self.limit, settings.CHAT_SEARCH_MAX_RESULTS)
        rows = list(queryset[self.offset : end + 1]) if end > self.offset else []
        self.has_next = len(rows) > end - self.offset and end < settings.CHAT_SEARCH_MAX_RESULTS
        return rows[: end - self.offset]

    @staticmethod
    def _cursor(offset: int) -> str:
        return base64.urlsafe_b64encode(f"o{offset}".encode("ascii")).decode("ascii").rstrip("=")

    def response(self, data: list) -> Response:
        url = self.request.build_absolute_uri()
        return _linked_page(
            data,
            next_url=replace_query_param(url, "cursor", self._cursor(self.offset + self.limit)) if self.has_next else None,
            prev_url=replace_query_param(url, "cursor", self._cursor(max(0, self.offset - self.limit)))
            if self.offset else None,
        )


def _search(request, conversation=None) -> Response:
    """A page of the caller's messages matching ``?q=`` (in ``conversation``, if given), best first."""
    params = SearchInput(data=request.query_params)
    params.is_valid(raise_exception=True)
    page = SearchPage(request, params.validated_data)
    found = page.results(
        selectors.message_search(user=request.user, query=params.validated_data["q"], conversation=conversation)
    )
    return page.response([message_data(m) for m in found])


class SearchView(APIView):
    throttle_classes = [UserThrottle, MessageSearchThrottle]

    @extend_schema(
        tags=["messages"], parameters=[SearchInput, LINK_HEADER],
        responses={200: MessageOut(many=True), **errors(400, 401, 404)},
        description=(
            "Messages of your conversations that match `q`, best first: ranked full-text search on "
            "PostgreSQL (words, \"phrases\", -exclusions, OR), every word as a substring on SQLite. "
            "Deleted and system messages never match. docs/search.md."
        ),
    )
    def get(self, request):
        return _search(request)


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
        return paginator.get_paginated_response([
            conversation_list_item(c, _online_in(c, online, user=request.user, closed_by_block=c.closed_by_block))
            for c in page
        ])

    @extend_schema(
        tags=["conversations"], request=ConversationCreateInput,
        responses={201: ConversationListItemOut, 200: ConversationListItemOut, **errors(400, 401, 403, 415)},
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
    @extend_schema(tags=["conversations"], responses={200: ConversationStartOut, **errors(400, 401, 403, 404)})
    def get(self, request, user_id):
        return self.post(request, user_id)

    @extend_schema(
        tags=["conversations"], request=None, responses={200: ConversationStartOut, **errors(400, 401, 403, 404)},
        description=(
            "The one direct conversation between you and the user (made on first use). 403 `blocked` while either "
            "of you blocks the other; 404 for a user who cannot be found (deactivated or deleted ones included)."
        ),
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
        tags=["conversations"], request=ConversationUpdateInput, responses={200: ConversationOut, **errors(400, 401, 403, 404, 415)},
        description="Rename a group (its owner only): a system message and `conversation.updated` tell the members.",
    )
    def patch(self, request, conversation_id):
        data = ConversationUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.conversation_rename(
            conversation_id=conversation_id, user=request.user, title=data.validated_data["title"]
        )
        return Response(_with_presence(conversation))

    @extend_schema(
        tags=["conversations"], responses={200: ConversationDetailOut, **errors(401, 404)},
        description="The conversation and its latest CHAT_HISTORY_MESSAGES (200) messages, oldest first.",
    )
    def get(self, request, conversation_id):
        conversation = _members_conversation(request, conversation_id)
        conversation = selectors.conversation_with_users(conversation_id=conversation.id)
        messages = selectors.message_list(conversation=conversation, limit=settings.CHAT_HISTORY_MESSAGES)
        online = online_among(user.id for user in conversation.users.all())
        closed = selectors.direct_closed_by_block(conversation=conversation, user=request.user)
        online = _online_in(conversation, online, user=request.user, closed_by_block=closed)
        return Response(
            {
                "conversation": conversation_data(conversation, online),
                "messages": [message_data(m) for m in messages],
            }
        )


class MessageListView(APIView):
    throttle_classes = [UserThrottle, MessageSendThrottle]  # sends (POST) only

    def get_throttles(self):
        if self.request.method == "GET" and "q" in self.request.query_params:
            return [UserThrottle(), MessageSearchThrottle()]
        return super().get_throttles()

    @extend_schema(
        tags=["messages"], parameters=[MessageRangeInput, SearchInput.optional(), LINK_HEADER],
        responses={200: MessageOut(many=True), **errors(400, 401, 404)},
        description=(
            "Messages in seq order: the latest `limit`, those `before` a seq, or those `after` one. "
            "With `q`: the messages that match it, best first, paged by `cursor` (as /api/chat/search/)."
        ),
    )
    def get(self, request, conversation_id):
        conversation = _members_conversation(request, conversation_id)
        if "q" in request.query_params:
            if {"before", "after"} & set(request.query_params):
                raise InvalidInput("q cannot be combined with before or after.", code="invalid_query", field="q")
            return _search(request, conversation)
        params = MessageRangeInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        messages = selectors.message_list(conversation=conversation, **params.validated_data)
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
        message, created = services.message_send(
            conversation_id=conversation_id,
            sender=request.user,
            body=data.validated_data["body"],
            client_id=data.validated_data["client_id"],
            reply_to=data.validated_data.get("reply_to"),
            attachment_ids=data.validated_data.get("attachment_ids"),
        )
        return Response(
            message_data(message), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class MessageDetailView(APIView):
    @extend_schema(
        tags=["messages"], request=MessageEditInput, responses={200: MessageOut, **errors(400, 401, 403, 404, 415)},
        description=(
            "Edit your message. 403 `forbidden` for someone else's; in a direct conversation, `blocked` or "
            "`recipient_deleted` as for sending."
        ),
    )
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


class MembersView(APIView):
    @extend_schema(
        tags=["conversations"], request=MembersAddInput, responses={200: ConversationOut, **errors(400, 401, 403, 404, 415)},
        description=(
            "Add users to a group (its owner only; members already in it are skipped). They see its history, "
            "start with nothing unread, and their notifications sockets follow it at once."
        ),
    )
    def post(self, request, conversation_id):
        data = MembersAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.conversation_add_members(
            conversation_id=conversation_id, user=request.user, user_ids=data.validated_data["user_ids"]
        )
        return Response(_with_presence(conversation))


class MemberView(APIView):
    @extend_schema(
        tags=["conversations"], responses={204: None, **errors(400, 401, 403, 404)},
        description=(
            "Remove a member (the group's owner), or leave (your own id; anyone). Their room sockets close "
            "with 4403 and their notifications sockets stop following the group."
        ),
    )
    def delete(self, request, conversation_id, user_id):
        services.conversation_remove_member(conversation_id=conversation_id, user=request.user, member_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


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
        message = services.reaction_add(
            conversation_id=conversation_id, user=request.user, message_id=message_id, emoji=data.validated_data["emoji"]
        )
        return Response(message_data(message))


class ReactionView(APIView):
    @extend_schema(
        tags=["messages"], responses={200: MessageOut, **errors(400, 401, 404)},
        description="Take your reaction back (the emoji percent-encoded in the path).",
    )
    def delete(self, request, conversation_id, message_id, emoji):
        message = services.reaction_remove(
            conversation_id=conversation_id, user=request.user, message_id=message_id, emoji=emoji
        )
        return Response(message_data(message))


class AttachmentsView(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [UserThrottle, AttachmentUploadThrottle]

    @extend_schema(
        tags=["messages"], request={"multipart/form-data": AttachmentUploadInput},
        responses={201: AttachmentOut, **errors(400, 401, 404, 413, 415)},
        description=(
            "Upload a file (multipart `file`) for a message of yours to carry (`attachment_ids`). At most "
            "CHAT_ATTACHMENT_MAX_BYTES (10 MB, else 413), of a type in CHAT_ATTACHMENT_TYPES read from its "
            "bytes (else 415). Unsent uploads are deleted after CHAT_ATTACHMENT_ORPHAN_HOURS."
        ),
    )
    def post(self, request, conversation_id):
        # Refused before the body is read when it says it is too large.
        limit = settings.CHAT_ATTACHMENT_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
            raise TooLarge(f"The file is larger than {limit} bytes.", field="file")
        _members_conversation(request, conversation_id)
        data = AttachmentUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = services.attachment_upload(
            conversation_id=conversation_id, user=request.user, file=data.validated_data["file"]
        )
        return Response(
            attachment_data(attachment.conversation_id, attachment_summary(attachment)), status=status.HTTP_201_CREATED
        )


# Room for the multipart framing and the other form fields around the file.
MULTIPART_OVERHEAD = 64 * 1024


class AttachmentView(APIView):
    @extend_schema(
        tags=["messages"], responses={(200, "*/*"): OpenApiTypes.BINARY, 302: None, **errors(401, 404)},
        description=(
            "The file, to members of the conversation only (an upload not sent yet: to its uploader only). "
            "From the filesystem: the bytes. From object storage: a redirect to a signed URL valid "
            "ATTACHMENTS_URL_EXPIRE seconds."
        ),
    )
    def get(self, request, conversation_id, attachment_id):
        attachment = selectors.attachment_for_user(
            conversation_id=conversation_id, attachment_id=attachment_id, user=request.user
        )
        storage = attachment.file.storage
        inline = attachment.content_type.startswith(("image/", "audio/", "video/")) or attachment.content_type == "application/pdf"
        disposition = "inline" if inline else "attachment"
        filename = f"{disposition}; filename*=UTF-8''{quote(attachment.name)}"
        if not isinstance(storage, FileSystemStorage):
            url = storage.url(
                attachment.file.name,
                parameters={"ResponseContentType": attachment.content_type, "ResponseContentDisposition": filename},
            )
            response = HttpResponseRedirect(url)
        else:
            response = FileResponse(storage.open(attachment.file.name, "rb"), content_type=attachment.content_type)
            response["Content-Disposition"] = filename
            response["Content-Length"] = str(attachment.size)
        response["Cache-Control"] = "private, max-age=300"
        response["X-Content-Type-Options"] = "nosniff"
        # Nothing in a file may run or load anything, even opened directly.
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
        return response


class MuteView(APIView):
    @extend_schema(
        tags=["conversations"], request=MuteInput, responses={200: MuteOut, **errors(400, 401, 404, 415)},
        description=(
            "Mute a conversation of yours until `until`, or until you unmute (null): no `notification` frames "
            "(nor pushes) for it; unread counts still move. Your sockets get `conversation.muted`."
        ),
    )
    def put(self, request, conversation_id):
        data = MuteInput(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.conversation_mute(
            conversation_id=conversation_id, user=request.user, until=data.validated_data["until"]
        )
        return Response(mute_data(member.muted, member.muted_until))

    @extend_schema(
        tags=["conversations"], responses={204: None, **errors(401, 404)},
        description="Unmute a conversation of yours; your sockets get `conversation.muted`.",
    )
    def delete(self, request, conversation_id):
        services.conversation_unmute(conversation_id=conversation_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReportView(APIView):
    throttle_classes = [UserThrottle, ReportThrottle]

    @extend_schema(
        tags=["moderation"], request=ReportInput, responses={201: ReportOut, 200: ReportOut, **errors(400, 401, 404, 415)},
        description=(
            "Report a message of a conversation you are in (`message_id`), or a user (`user_id`), to the "
            "moderators. While your report of the same message or user is open, reporting it again answers 200 "
            "with that report. At most THROTTLE_REPORT (20/hour) reports made: refused attempts and repeats of "
            "an open report do not count."
        ),
    )
    def post(self, request):
        data = ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        report, created = services.report_create(
            reporter=request.user, reason=data.validated_data["reason"], details=data.validated_data["details"],
            message_id=data.validated_data.get("message_id"), user_id=data.validated_data.get("user_id"),
        )
        if created:
            ReportThrottle().record(request, self)
        return Response(report_data(report), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
