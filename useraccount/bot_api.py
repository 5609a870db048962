"""
Bots and their API keys, for staff (``is_staff``; everyone else gets a 403),
as in the admin (useraccount.admin).

    GET  /api/bots/?limit=&cursor=           -> [{id, name, avatar_url, is_bot, is_active, created_at}] (Link)
    POST /api/bots/ {name}                   -> 201 the bot
    GET  /api/bots/<id>/keys/                -> [{id, name, prefix, scopes, created_at, last_used_at, revoked_at}]
    POST /api/bots/<id>/keys/ {name?, scopes} -> 201 the key with `key`, shown this once
    DELETE /api/bots/<id>/keys/<key_id>/     -> 204: the key is refused from now on
"""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import LinkHeaderCursorPagination, cursor_page_parameters
from core.schema import errors

from . import bots
from .serializers import (
    ApiKeyCreatedOut,
    ApiKeyInput,
    ApiKeyOut,
    BotInput,
    BotOut,
    api_key_data,
    bot_data,
)


class BotPagination(LinkHeaderCursorPagination):
    """Newest bot first, sized as the conversation list."""

    ordering = "-date_joined"


class StaffView(APIView):
    permission_classes = [IsAdminUser]


class BotsView(StaffView):
    @extend_schema(
        tags=["bots"],
        parameters=cursor_page_parameters("CHAT_CONVERSATION_PAGE_SIZE, 100; at most CHAT_CONVERSATION_PAGE_MAX, 200"),
        responses={200: BotOut(many=True), **errors(401, 403, 404)},
        description="Every bot account, newest first (staff only).",
    )
    def get(self, request):
        paginator = BotPagination()
        page = paginator.paginate_queryset(bots.bots(), request, self)
        return paginator.get_paginated_response([bot_data(bot) for bot in page])

    @extend_schema(
        tags=["bots"], request=BotInput, responses={201: BotOut, **errors(400, 401, 403, 415)},
        description=(
            "Make a bot account (staff only): no password, it cannot sign in; give it API keys, and add it to "
            "groups by its id. People cannot start a direct conversation with it, nor it with them."
        ),
    )
    def post(self, request):
        data = BotInput(data=request.data)
        data.is_valid(raise_exception=True)
        bot = bots.bot_create(name=data.validated_data["name"], created_by=request.user)
        return Response(bot_data(bot), status=status.HTTP_201_CREATED)


class BotKeysView(StaffView):
    @extend_schema(
        tags=["bots"], responses={200: ApiKeyOut(many=True), **errors(401, 403, 404)},
        description="The bot's API keys, newest first, revoked ones included; never the keys themselves.",
    )
    def get(self, request, bot_id):
        bot = bots.bot_get(bot_id=bot_id)
        return Response([api_key_data(key) for key in bots.api_key_list(bot=bot)])

    @extend_schema(
        tags=["bots"], request=ApiKeyInput, responses={201: ApiKeyCreatedOut, **errors(400, 401, 403, 404, 415)},
        description=(
            "A new API key for the bot, with its scopes. The answer's `key` is the only time it is shown: only "
            "a hash is kept. At most API_KEYS_PER_BOT (10) working keys a bot (`too_many_keys`)."
        ),
    )
    def post(self, request, bot_id):
        bot = bots.bot_get(bot_id=bot_id)
        data = ApiKeyInput(data=request.data)
        data.is_valid(raise_exception=True)
        key, secret = bots.api_key_create(bot=bot, created_by=request.user, **data.validated_data)
        return Response(api_key_data(key, secret=secret), status=status.HTTP_201_CREATED)


class BotKeyView(StaffView):
    @extend_schema(
        tags=["bots"], responses={204: None, **errors(401, 403, 404)},
        description="Revoke the key: its next request is a 401. Revoking again answers 204 too.",
    )
    def delete(self, request, bot_id, key_id):
        bots.api_key_revoke(bot=bots.bot_get(bot_id=bot_id), key_id=key_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
