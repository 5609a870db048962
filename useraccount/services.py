"""
Writes of user accounts: registration, login and logout, deactivation,
password changes and resets, deleting an account, blocking and unblocking. Whatever ends sessions
(logout, deactivation, a new password, deletion) also closes their open
sockets on every server process: a ``session.revoked`` event to the user's
group, which every socket of theirs follows (chat.sockets).

Passwords and reset tokens are never logged: log lines name users by id.
"""

import logging

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core import exceptions as django_exceptions
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from core import hooks
from core.groups import user_group
from core.outbox import Outbox, with_outbox

from core.errors import InvalidInput, NotFound
from core.validation import uuid_or_none

from . import events, mail
from .sessions import session_forget, sessions_forget
from .models import Block, User
from .selectors import active_users
from .tokens import SESSION_CLAIM

logger = logging.getLogger(__name__)


def user_register(*, email: str, password: str, name: str = "") -> User:
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=email, password=password, name=name.strip(), last_login=timezone.now()
            )
    except IntegrityError:
        # Two registrations of one email at once: the unique column decides.
        raise InvalidInput("A user with this email address already exists.", field="email")


def user_login(*, email: str, password: str) -> User:
    user = authenticate(username=email.strip().lower(), password=password)
    if user is None or user.is_bot:  # a bot has no usable password anyway: never a session
        raise InvalidInput("Unable to log in with provided credentials.", field="non_field_errors")
    _logged_in(user)
    return user


def _logged_in(user: User) -> None:
    """
    Record a login with a password (not a token refresh: clients refresh on
    their own every hour, and last_login is part of what a reset link signs,
    so a refresh would void a link the user just asked for).
    """
    user.last_login = timezone.now()
    User.objects.filter(id=user.id).update(last_login=user.last_login)


@with_outbox
def user_update_profile(*, user: User, outbox: Outbox, **changes) -> User:
    """
    Change the name, avatar (None removes it) and/or ``read_receipts``; a
    replaced avatar's file is deleted once saved. A change of
    ``read_receipts`` reaches every socket of the user's (``read_receipts.changed``).
    """
    fields, replaced = [], None
    if "read_receipts" in changes and changes["read_receipts"] != user.read_receipts:
        user.read_receipts = changes["read_receipts"]
        fields.append("read_receipts")
        outbox.emit(user_group(user.id), events.read_receipts_changed(user_id=user.id, enabled=user.read_receipts))
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
        raise InvalidInput(str(error), field="refresh")
    user_id = token.payload.get("user_id")
    if session := token.payload.get(SESSION_CLAIM):
        session_forget(sid=session)
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
    The sessions are no longer listed (useraccount.sessions).
    """
    sessions_forget(user=user)
    outbox.emit(user_group(user.id), events.session_revoked(user_id=user.id, session=None))


# --- Passwords


def user_check_password(*, user: User, password, field: str = "password") -> None:
    """InvalidInput ``wrong_password`` on ``field`` unless ``password`` is the user's password."""
    if not isinstance(password, str) or not user.check_password(password):
        raise InvalidInput("The password is wrong.", code="wrong_password", field=field)


def _validated_new_password(password: str, *, user: User, field: str = "new_password") -> str:
    """The password if AUTH_PASSWORD_VALIDATORS accept it for ``user``; else a 400 on ``field``."""
    try:
        password_validation.validate_password(password, user=user)
    except django_exceptions.ValidationError as error:
        raise InvalidInput(error.messages[0], field=field, messages=error.messages)
    return password


def user_change_password(*, user: User, current_password: str, new_password: str) -> User:
    """
    The user, proving the current password, picks a new one. Every session
    ends, the caller's included (tokens carry the password's hash); the
    caller answers with a new session for the client that asked.
    """
    user_check_password(user=user, password=current_password, field="current_password")
    _validated_new_password(new_password, user=user)
    user = user_set_password(user=user, password=new_password)
    logger.info("User %s changed their password", user.id)
    return user


def password_reset_request(*, email: str) -> None:
    """
    Email a single-use reset link to the active account with this address, if
    there is one. The caller answers the same either way, and sending happens
    off the request path (useraccount.mail), so neither the answer nor its
    timing says whether the address has an account.
    """
    user = active_users().filter(email=email.strip().lower()).first()
    if user is None or not user.has_usable_password():
        return
    link = settings.PASSWORD_RESET_URL.format(
        uid=urlsafe_base64_encode(force_bytes(user.pk)), token=default_token_generator.make_token(user)
    )
    context = {"user": user, "link": link, "hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600)}
    message = EmailMessage(
        subject=render_to_string("useraccount/password_reset_subject.txt", context).strip(),
        body=render_to_string("useraccount/password_reset_email.txt", context),
        to=[user.email],
    )
    if settings.EMAIL_BACKEND.endswith(".dummy.EmailBackend"):
        logger.warning("Password reset email for user %s not sent: EMAIL_HOST is not set", user.id)
        return
    mail.send_later(message, user_id=user.id)
    logger.info("Password reset email for user %s queued", user.id)


INVALID_RESET_LINK = "The reset link is invalid, used or expired; ask for a new one."


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """
    A new password from a reset link: the link's token must be valid (made for
    this user's current password and last login, within PASSWORD_RESET_TIMEOUT),
    so it works once. Every session of the user ends.
    """
    try:
        user_id = uuid_or_none(urlsafe_base64_decode(uid).decode())
    except (ValueError, TypeError, UnicodeDecodeError):
        user_id = None
    user = active_users().filter(id=user_id).first() if user_id else None
    if user is None or not default_token_generator.check_token(user, token):
        raise InvalidInput(INVALID_RESET_LINK, code="invalid_reset_link")
    _validated_new_password(new_password, user=user)
    user = user_set_password(user=user, password=new_password)
    logger.info("User %s reset their password", user.id)
    return user


# --- Deleting an account


def deleted_email(user: User) -> str:
    """What a deleted account's email becomes: unique, never a mailbox (.invalid), so the address is free again."""
    return f"deleted-{user.id.hex}@deleted.invalid"


@with_outbox
def user_delete(*, user: User, outbox: Outbox) -> User:
    """
    Delete ``user``'s account (the caller has checked their password). The
    row stays, anonymised, because their messages stay in other people's
    histories (ConversationMessage.created_by is PROTECT) and show them as
    "Deleted user": email replaced (the address can register again), name,
    avatar and password gone, inactive, ``deleted_at`` set. They leave every
    group (a "left" system message; an owned group passes to the member who
    joined earliest, as when an owner leaves), their blocks either way, their push devices and
    their unsent uploads are deleted, and every session and socket ends.
    Direct conversations stay, so the other person keeps the history. Their
    reactions stay on other people's messages, as their id.
    """
    with transaction.atomic():
        user = User.objects.select_for_update().get(id=user.id)
        if user.deleted_at is not None:
            return user
        avatar = user.avatar.name or None
        user.deleted_at = timezone.now()
        user.email = deleted_email(user)
        user.name = ""
        user.avatar = None
        user.is_active = False
        user.last_login = None
        user.set_unusable_password()
        user.save(update_fields=["deleted_at", "email", "name", "avatar", "is_active", "last_login", "password"])
        # The chat app's part (chat.accounts): leave groups, drop push devices and unsent uploads.
        hooks.account_deleting(user=user, outbox=outbox)
        Block.objects.filter(Q(blocker=user) | Q(blocked=user)).delete()
        user_sessions_end(user=user, outbox=outbox)
        if avatar:
            storage = user.avatar.storage
            transaction.on_commit(lambda: storage.delete(avatar))
    logger.info("User %s deleted their account", user.id)
    return user


@with_outbox
def user_block(*, blocker: User, user_id, outbox: Outbox) -> tuple[Block, bool]:
    """
    ``blocker`` blocks an active user: no direct conversation between them
    either way (nor typing or presence in it, both ways), and none of their
    messages announced to ``blocker``'s notifications sockets
    (docs/protocol.md, "Blocking"). Returns ``(block,
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
        hooks.block_changed(blocker_id=blocker.id, blocked_id=blocked.id, outbox=outbox)
    return block, True


@with_outbox
def user_unblock(*, blocker: User, user_id, outbox: Outbox) -> None:
    """
    ``blocker`` unblocks a user. Idempotent: unblocking someone not blocked,
    or an id that is no user's (not even a UUID), changes nothing, so the
    caller answers the same whatever the id.
    """
    parsed = uuid_or_none(user_id)
    if parsed is None:
        return  # no block can name it
    with transaction.atomic():
        removed, _ = Block.objects.filter(blocker=blocker, blocked_id=parsed).delete()
        if removed:
            outbox.emit(user_group(blocker.id), events.block_updated(user_id=parsed, blocked=False))
            hooks.block_changed(blocker_id=blocker.id, blocked_id=parsed, outbox=outbox)
