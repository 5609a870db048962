"""
Starting conversations: the one direct conversation between two people
(``conversation_start_direct``, made on first use, safe when both start it at
once) and groups (``conversation_create_group``, idempotent by
``client_id``). Nobody is put in a group by someone they blocked. Every
service checks for itself that the caller may do what it asks, and emits its
events into an ``outbox`` (core.outbox) inside its transaction.
"""

from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction

from chat.conversations.selectors import conversation_with_users
from chat.models import (
    TITLE_MAX_LENGTH,
    Conversation,
    ConversationMember,
    direct_conversation_key,
)
from chat.realtime import events
from chat.realtime.groups import user_group
from chat.rules import blocked_error, validate_client_id
from core.errors import Forbidden, InvalidInput, NotFound
from core.outbox import Outbox, with_outbox
from core.validation import storable_text
from useraccount.models import Block, User
from useraccount.selectors import active_users, blocked_between



def _create_conversation(
    *, users: list[User], outbox: Outbox, title: str = "", direct_key: str | None = None,
    created_by: User | None = None, client_id: str = "",
):
    conversation = Conversation.objects.create(
        title=title, direct_key=direct_key, created_by=created_by, client_id=client_id,
        owner=None if direct_key else created_by,
    )
    ConversationMember.objects.bulk_create(
        [ConversationMember(conversation=conversation, user=user) for user in users]
    )
    conversation = conversation_with_users(conversation_id=conversation.id)
    event = events.conversation_created(conversation)
    for user in users:
        outbox.emit(user_group(user.id), event)
    return conversation


def refuse_users_who_blocked(*, user: User, others) -> None:
    """Forbidden ``blocked`` if any of ``others`` has blocked ``user``: nobody is put in a group by someone they blocked."""
    if Block.objects.filter(blocker__in=others, blocked=user).exists():
        raise Forbidden("Someone you named has blocked you: they cannot be added to a group by you.", code="blocked")


@with_outbox
def conversation_start_direct(*, user: User, other_user_id: UUID, outbox: Outbox) -> tuple[Conversation, bool]:
    """
    The one direct conversation between ``user`` and another user, created on
    first use. Returns ``(conversation, created)``.

    The unique ``direct_key`` makes this safe when both users (or several
    processes) start it at once: the loser of the race gets the winner's row.
    """
    if other_user_id == user.id:
        raise InvalidInput("You cannot start a conversation with yourself.", field="user_id")
    other = active_users().filter(id=other_user_id).first()
    if other is None:
        raise NotFound("No such user.")
    if user.is_bot or other.is_bot:
        # Bots talk in the groups they were added to (docs/integrations.md).
        raise Forbidden("Bots have no direct conversations: add the bot to a group instead.", code="bot_direct")
    if blocked_between(first_id=user.id, second_id=other.id):
        raise blocked_error()
    key = direct_conversation_key(user.id, other.id)
    existing = Conversation.objects.filter(direct_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return _create_conversation(users=[user, other], direct_key=key, outbox=outbox), True
    except IntegrityError:
        return Conversation.objects.get(direct_key=key), False


@with_outbox
def conversation_create_group(
    *, creator: User, user_ids: list[UUID], title: str = "", client_id: str | None = "", outbox: Outbox
) -> tuple[Conversation, bool]:
    """
    A group conversation of ``creator`` and the given users. Returns
    ``(conversation, created)``: with a ``client_id`` the creator used before,
    the group made then (a retry must not make a second group).
    """
    client_id = validate_client_id(client_id)
    if client_id and (earlier := _group_by_client_id(creator=creator, client_id=client_id)):
        return earlier, False
    wanted = {user_id for user_id in user_ids if user_id != creator.id}
    if not wanted:
        raise InvalidInput("Name at least one other user.", field="user_ids")
    limit = settings.CHAT_GROUP_MAX_MEMBERS
    if len(wanted) + 1 > limit:
        raise InvalidInput(f"A group has at most {limit} members.", code="too_many_members", field="user_ids")
    others = list(active_users().filter(id__in=wanted))
    missing = wanted - {user.id for user in others}
    if missing:
        raise InvalidInput(
            "No such user: " + ", ".join(sorted(str(user_id) for user_id in missing)),
            field="user_ids",
        )
    refuse_users_who_blocked(user=creator, others=others)
    try:
        with transaction.atomic():
            conversation = _create_conversation(
                users=[creator, *others], title=validate_title(title), outbox=outbox,
                created_by=creator, client_id=client_id,
            )
    except IntegrityError:
        # The same request twice at once: the unique client_id decides, the loser gets the winner's group.
        earlier = client_id and _group_by_client_id(creator=creator, client_id=client_id)
        if not earlier:
            raise
        return earlier, False
    return conversation, True


def _group_by_client_id(*, creator: User, client_id: str) -> Conversation | None:
    found = Conversation.objects.filter(created_by=creator, client_id=client_id).values_list("id", flat=True).first()
    return conversation_with_users(conversation_id=found) if found else None


def validate_title(title) -> str:
    if not isinstance(title, str) or not storable_text(title) or len(title.strip()) > TITLE_MAX_LENGTH:
        raise InvalidInput(
            f"title must be text of at most {TITLE_MAX_LENGTH} characters.", code="invalid_title", field="title"
        )
    return title.strip()
