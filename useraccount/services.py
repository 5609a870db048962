"""
Writes of user accounts: registration, login and logout, deactivation and
password changes. Whatever ends sessions (logout, deactivation, a new
password) also closes their open sockets on every server process: a
``session.revoked`` event to the user's group, which every socket of theirs
follows (chat.consumers).
"""

from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from chat.realtime import events
from chat.realtime.groups import user_group
from chat.realtime.outbox import Outbox, with_outbox

from .models import User
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
