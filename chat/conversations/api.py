"""
Conversation endpoints under /api/chat/ (docs/protocol.md has them all):

    GET  /api/chat/?limit=                  -> [conversation...]   (Link: <...>; rel="next")
    POST /api/chat/         {user_ids, title?}             -> 201 conversation
    GET|POST /api/chat/start/<user_id>/     -> {success, conversation_id}
    GET  /api/chat/<id>/                    -> {conversation, messages (the latest CHAT_HISTORY_MESSAGES)}
    PATCH /api/chat/<id>/   {title}         -> conversation (the group's owner and admins)
    POST /api/chat/<id>/members/ {user_ids} -> conversation (the group's owner and admins)
    PATCH /api/chat/<id>/members/<user_id>/ {role} -> conversation (the group's owner)
    DELETE /api/chat/<id>/members/<user_id>/ -> 204 (the owner and admins remove; anyone leaves)
    POST /api/chat/<id>/read/     {seq}     -> {conversation_id, last_read_seq, unread_count}
    PUT  /api/chat/<id>/mute/     {until?}  -> {muted, muted_until}
    PUT  /api/chat/<id>/disappearing/ {seconds} -> conversation (a group's owner and admins; either member of a direct one)
    DELETE /api/chat/<id>/mute/             -> 204
    PUT  /api/chat/<id>/notifications/ {level} -> {conversation_id, level}
    GET  /api/chat/unread/                  -> {total, conversations: {id: count}}
    GET  /api/chat/presence/                -> {online: [ids of contacts online]}

Views parse, call a selector or service, and serialise; services check
membership themselves and publish their events before returning.
"""


from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.conversations.groups import (
    conversation_add_members,
    conversation_remove_member,
    conversation_rename,
    conversation_set_disappearing,
    conversation_set_role,
)
from chat.conversations.membership import (
    conversation_mark_read,
    conversation_mute,
    conversation_set_notification_level,
    conversation_unmute,
)
from chat.conversations.selectors import (
    attach_last_messages,
    contact_ids,
    conversation_get_for_user,
    conversation_list,
    conversation_with_users,
    direct_closed_by_block,
    unread_counts,
)
from chat.conversations.serializers import (
    ConversationCreateInput,
    ConversationDetailOut,
    ConversationListItemOut,
    ConversationOut,
    ConversationStartOut,
    ConversationUpdateInput,
    DisappearingInput,
    MembersAddInput,
    MemberRoleInput,
    MuteInput,
    MuteOut,
    NotificationLevelInput,
    NotificationLevelOut,
    PresenceOut,
    ReadInput,
    ReadOut,
    UnreadOut,
    conversation_data,
    conversation_list_item,
    mute_data,
)
from chat.conversations.services import (
    conversation_create_group,
    conversation_start_direct,
)
from chat.messages.selectors import message_list
from chat.messages.serializers import message_data
from chat.models import (
    direct_peer_id,
)
from chat.realtime.presence import Unknown, online_among
from core.errors import NotFound
from core.pagination import LinkHeaderCursorPagination, cursor_page_parameters
from core.schema import errors
from core.validation import uuid_or_none



def with_presence(conversation) -> dict:
    return conversation_data(conversation, online_among(user.id for user in conversation.users.all()))


def _online_in(conversation, online, *, user, closed_by_block: bool):
    """
    ``online`` as shown to ``user`` in ``conversation``: in a direct
    conversation a block closes, the other member shows offline.
    """
    if not closed_by_block or isinstance(online, Unknown):
        return online
    return online - {str(direct_peer_id(conversation.direct_key, user.id))}


def members_conversation(request, conversation_id):
    """The conversation if the caller is a member; NotFound (404) otherwise."""
    return conversation_get_for_user(conversation_id=conversation_id, user=request.user)


class ConversationListView(APIView):
    @extend_schema(
        tags=["conversations"],
        parameters=cursor_page_parameters("CHAT_CONVERSATION_PAGE_SIZE, 100; at most CHAT_CONVERSATION_PAGE_MAX, 200"),
        responses={200: ConversationListItemOut(many=True), **errors(401, 404)},
        description="Your conversations, most recently active first, with unread counts.",
    )
    def get(self, request):
        paginator = LinkHeaderCursorPagination()
        page = paginator.paginate_queryset(conversation_list(user=request.user), request, self)
        attach_last_messages(page)
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
        conversation, created = conversation_create_group(
            creator=request.user,
            user_ids=data.validated_data["user_ids"],
            title=data.validated_data["title"],
            client_id=request.data.get("client_id"),
        )
        attach_last_messages([conversation])
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
        conversation, created = conversation_start_direct(
            user=request.user, other_user_id=other_id
        )
        return Response(
            {"success": True, "conversation_id": str(conversation.id), "created": created}
        )


class ConversationDetailView(APIView):
    @extend_schema(
        tags=["conversations"], request=ConversationUpdateInput, responses={200: ConversationOut, **errors(400, 401, 403, 404, 415)},
        description=(
            "Rename a group (its owner and admins; others 403 `not_admin`): a system message and "
            "`conversation.updated` tell the members."
        ),
    )
    def patch(self, request, conversation_id):
        data = ConversationUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = conversation_rename(
            conversation_id=conversation_id, user=request.user, title=data.validated_data["title"]
        )
        return Response(with_presence(conversation))

    @extend_schema(
        tags=["conversations"], responses={200: ConversationDetailOut, **errors(401, 404)},
        description="The conversation and its latest CHAT_HISTORY_MESSAGES (200) messages, oldest first.",
    )
    def get(self, request, conversation_id):
        conversation = members_conversation(request, conversation_id)
        conversation = conversation_with_users(conversation_id=conversation.id)
        messages = message_list(conversation=conversation, limit=settings.CHAT_HISTORY_MESSAGES)
        online = online_among(user.id for user in conversation.users.all())
        closed = direct_closed_by_block(conversation=conversation, user=request.user)
        online = _online_in(conversation, online, user=request.user, closed_by_block=closed)
        return Response(
            {
                "conversation": conversation_data(conversation, online),
                "messages": [message_data(m) for m in messages],
            }
        )


class ReadView(APIView):
    @extend_schema(tags=["messages"], request=ReadInput, responses={200: ReadOut, **errors(400, 401, 404, 415)})
    def post(self, request, conversation_id):
        data = ReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        state = conversation_mark_read(
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
        counts = unread_counts(user=request.user)
        return Response({"total": sum(counts.values()), "conversations": counts})


class PresenceView(APIView):
    @extend_schema(tags=["conversations"], responses={200: PresenceOut, **errors(401)})
    def get(self, request):
        online = online_among(contact_ids(user=request.user))
        # null: presence is unknown just now (docs/protocol.md, "When Redis is down").
        return Response({"online": None if isinstance(online, Unknown) else sorted(online)})


class MembersView(APIView):
    @extend_schema(
        tags=["conversations"], request=MembersAddInput, responses={200: ConversationOut, **errors(400, 401, 403, 404, 415)},
        description=(
            "Add users to a group as members (its owner and admins; members already in it are skipped). They see its history, "
            "start with nothing unread, and their notifications sockets follow it at once."
        ),
    )
    def post(self, request, conversation_id):
        data = MembersAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = conversation_add_members(
            conversation_id=conversation_id, user=request.user, user_ids=data.validated_data["user_ids"]
        )
        return Response(with_presence(conversation))


class MemberView(APIView):
    @extend_schema(
        tags=["conversations"], responses={204: None, **errors(400, 401, 403, 404)},
        description=(
            "Remove a member (the owner and admins; only the owner removes an admin: 403 `not_owner`), or leave "
            "(your own id; anyone). Their room sockets close with 4403 and their notifications sockets stop "
            "following the group. When the owner leaves, the earliest admin owns the group, else the earliest member."
        ),
    )
    def delete(self, request, conversation_id, user_id):
        conversation_remove_member(conversation_id=conversation_id, user=request.user, member_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["conversations"], request=MemberRoleInput, responses={200: ConversationOut, **errors(400, 401, 403, 404, 415)},
        description=(
            "Change a member's role (the group's owner only; others 403 `not_owner`): `admin` or `member`, or "
            "`owner` to hand the group on (you become an admin). A system message and `conversation.updated` tell "
            "the members."
        ),
    )
    def patch(self, request, conversation_id, user_id):
        data = MemberRoleInput(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = conversation_set_role(
            conversation_id=conversation_id, user=request.user, member_id=user_id, role=data.validated_data["role"]
        )
        return Response(with_presence(conversation))


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
        member = conversation_mute(
            conversation_id=conversation_id, user=request.user, until=data.validated_data["until"]
        )
        return Response(mute_data(member.muted, member.muted_until))

    @extend_schema(
        tags=["conversations"], responses={204: None, **errors(401, 404)},
        description="Unmute a conversation of yours; your sockets get `conversation.muted`.",
    )
    def delete(self, request, conversation_id):
        conversation_unmute(conversation_id=conversation_id, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationLevelView(APIView):
    @extend_schema(
        tags=["conversations"], request=NotificationLevelInput,
        responses={200: NotificationLevelOut, **errors(400, 401, 404, 415)},
        description=(
            "Choose which messages of a conversation of yours you are told of (`notification` frames and pushes): "
            "`all`, `mentions` (only those mentioning you, even while muted) or `none`. Unread counts still move. "
            "Your sockets get `conversation.notifications`."
        ),
    )
    def put(self, request, conversation_id):
        data = NotificationLevelInput(data=request.data)
        data.is_valid(raise_exception=True)
        level = conversation_set_notification_level(
            conversation_id=conversation_id, user=request.user, level=data.validated_data["level"]
        )
        return Response({"conversation_id": str(uuid_or_none(conversation_id)), "level": level})


class DisappearingView(APIView):
    @extend_schema(
        tags=["conversations"], request=DisappearingInput, responses={200: ConversationOut, **errors(400, 401, 403, 404, 415)},
        description=(
            "Set the disappearing-messages timer: `seconds` 3600 (1 hour), 86400 (1 day), 604800 (7 days) or 7776000 "
            "(90 days), or null to turn it off (anything else: 400 `invalid_disappearing_timer`). A group's owner and "
            "admins (others 403 `not_admin`); either member of a direct conversation. Messages sent from then on "
            "expire that long after they were sent; earlier ones keep their timer. A system message "
            "(`disappearing_set`) and `conversation.updated` tell the members."
        ),
    )
    def put(self, request, conversation_id):
        data = DisappearingInput(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = conversation_set_disappearing(
            conversation_id=conversation_id, user=request.user, seconds=data.validated_data["seconds"]
        )
        return Response(with_presence(conversation))
