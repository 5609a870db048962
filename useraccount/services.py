"""
Writes of user accounts: registration, login and logout, deactivation and
password changes, blocking and unblocking. Whatever ends sessions (logout, deactivation, a new
password) also closes their open sockets on every server process: a
``session.revoked`` event to the user's group, which every socket of theirs
follows (chat.consumers).
"""

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from chat.realtime import events
from chat.realtime.groups import user_group
from chat.realtime.outbox import Outbox, with_outbox

from core.errors import InvalidInput, NotFound
from core.validation import uuid_or_none

from .models import Block, User
from .selectors import active_users
from .tokens import SESSION_CLAIM


def user_register(*, email: str, password: str, name: str = "") -> User:
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, name=name.strip())
    except IntegrityError:
        # Two registrations of one email at once: the unique column decides.
        raise serializers.ValidationError(
            {"email": ["A user with this email address already exists."]}
        )


def user_login(*, email: str, password: str) -> User:
    user = authenticate(username=email.strip().lower(), password=password)
    if user is None:
        raise serializers.ValidationError(
            {"non_field_errors": ["Unable to log in with provided credentials."]}
        )
    return user


def user_update_profile(*, user: User, **changes) -> User:
    """Change the name and/or avatar (None removes it); a replaced avatar's file is deleted once saved."""
    fields, replaced = [], None
    if "name" in changes:
        user.name = changes["name"].strip()
        fields.append("name")
    if "avatar" in changes:
        replaced = user.avatar.name or None
        user.avatar = changes["avatar"]
        fields.append("avatar")
    if fields:
        user.save(update_fields=fields)
    if replaced and replaced != user.avatar.name:
        storage = user.avatar.storage
        transaction.on_commit(lambda: storage.delete(replaced))
    return user


@with_outbox
def session_logout(*, refresh: str, outbox: Outbox) -> None:
    """
    Blacklist the refresh token: it can no longer be refreshed, the access
    tokens of its session are refused, and the session's sockets close.
    """
    try:
        token = RefreshToken(refresh)
        token.blacklist()
    except TokenError as error:
        raise serializers.ValidationError({"refresh": [str(error)]})
    user_id = token.payload.get("user_id")
    if user_id:
        event = events.session_revoked(user_id=user_id, session=token.payload.get(SESSION_CLAIM))
        outbox.emit(user_group(user_id), event)


@with_outbox
def user_deactivate(*, user: User, outbox: Outbox) -> User:
    """The user can no longer log in; their tokens are refused and their sockets close."""
    with transaction.atomic():
        User.objects.filter(id=user.id).update(is_active=False)
        user.is_active = False
        user_sessions_end(user=user, outbox=outbox)
    return user


@with_outbox
def user_set_password(*, user: User, password: str, outbox: Outbox) -> User:
    """A new password; tokens issued before it are refused and open sockets close."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        user_sessions_end(user=user, outbox=outbox)
    return user


@with_outbox
def user_sessions_end(*, user: User, outbox: Outbox) -> None:
    """
    Close every open socket of ``user``, on every process, once the current
    transaction commits. Tokens stop working by themselves: an inactive user's
    and those issued before a password change are refused (useraccount.tokens).
    """
    outbox.emit(user_group(user.id), events.session_revoked(user_id=user.id, session=None))


@with_outbox
def user_block(*, blocker: User, user_id, outbox: Outbox) -> tuple[Block, bool]:
    """
    ``blocker`` blocks an active user: no direct conversation between them
    either way, and none of their messages announced to ``blocker``'s
    notifications sockets (docs/protocol.md, "Blocking"). Returns ``(block,
    created)``; blocking again changes nothing. At most USER_MAX_BLOCKS.
    """
    parsed = uuid_or_none(user_id)
    if parsed == blocker.id:
        raise InvalidInput("You cannot block yourself.", field="user_id")
    blocked = active_users().filter(id=parsed).first() if parsed else None
    if blocked is None:
        raise NotFound("No such user.")
    with transaction.atomic():
        # The blocker's row, locked: two blocks at once cannot both take the last place.
        User.objects.select_for_update().filter(id=blocker.id).first()
        existing = Block.objects.filter(blocker=blocker, blocked=blocked).first()
        if existing is not None:
            return existing, False
        limit = settings.USER_MAX_BLOCKS
        if Block.objects.filter(blocker=blocker).count() >= limit:
            raise InvalidInput(f"You can block at most {limit} users.", code="too_many_blocks", field="user_id")
        block = Block.objects.create(blocker=blocker, blocked=blocked)
        outbox.emit(user_group(blocker.id), events.block_updated(user_id=blocked.id, blocked=True))
    return block, True


@with_outbox
def user_unblock(*, blocker: User, user_id, outbox: Outbox) -> None:
    """``blocker`` unblocks a user (one not blocked changes nothing)."""
    parsed = uuid_or_none(user_id)
    if parsed is None:
        raise NotFound("No such user.")
    with transaction.atomic():
        removed, _ = Block.objects.filter(blocker=blocker, blocked_id=parsed).delete()
        if removed:
            outbox.emit(user_group(blocker.id), events.block_updated(user_id=parsed, blocked=False))
