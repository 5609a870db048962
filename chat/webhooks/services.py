"""
Managing webhook subscriptions; called by chat.webhooks.api.

    subscription = webhook_create(user=user, url="https://receiver.example/hook", conversation_id=cid)
    subscription = webhook_create(user=staff, url=..., member_of_id=bot.id, events=["message.created"])
    webhook_update(user=user, webhook_id=sid, url=..., events=[...], active=False)
    subscription = webhook_rotate_secret(user=user, webhook_id=sid)   # subscription.secret: the new one
    webhook_delete(user=user, webhook_id=sid)

A conversation's subscriptions are managed by the group's owner and admins
(chat.conversations.roles, ``manage_webhooks``); a subscription following
the conversations a bot belongs to (``member_of``), by staff. The URL must
pass core.outbound's rules now (and is checked again at every delivery);
at most WEBHOOK_MAX_PER_TARGET subscriptions per conversation or followed user.
"""

import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat.conversations.roles import Action, group_for
from chat.models import WebhookSubscription
from chat.models.webhooks import WEBHOOK_EVENTS
from core.errors import Forbidden, InvalidInput
from core.outbound import outbound_url_check
from core.validation import uuid_or_none
from useraccount.models import User
from useraccount.selectors import active_users

from .emit import webhook_index_forget
from .selectors import webhook_managed


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def validate_events(events) -> list[str]:
    if events is None:
        return list(WEBHOOK_EVENTS)
    if not isinstance(events, list) or not events or any(event not in WEBHOOK_EVENTS for event in events):
        raise InvalidInput(
            "events must be a non-empty list of: " + ", ".join(WEBHOOK_EVENTS) + ".", code="invalid_events",
            field="events",
        )
    return [event for event in WEBHOOK_EVENTS if event in events]


def _refuse_over_limit(**target) -> None:
    limit = settings.WEBHOOK_MAX_PER_TARGET
    if WebhookSubscription.objects.filter(**target).count() >= limit:
        raise InvalidInput(
            f"A conversation (or a followed user) has at most {limit} webhooks.", code="too_many_webhooks"
        )


def webhook_create(
    *, user: User, url, events=None, conversation_id=None, member_of_id=None,
) -> WebhookSubscription:
    """A new subscription; its ``secret`` is shown to the caller this once (and on each rotation)."""
    if (conversation_id is None) == (member_of_id is None):
        raise InvalidInput("Give exactly one of conversation_id and member_of_id.", code="invalid_target")
    url = outbound_url_check(url)
    events = validate_events(events)
    with transaction.atomic():
        if conversation_id is not None:
            conversation = group_for(conversation_id=conversation_id, user=user, action=Action.MANAGE_WEBHOOKS)
            target = {"conversation": conversation}
        else:
            if not user.is_staff:
                raise Forbidden("Only staff can follow a user's conversations.", code="not_staff")
            # A bot's only: following a person would hand staff their direct messages as they are written.
            followed_id = uuid_or_none(member_of_id)
            followed = active_users().filter(id=followed_id, is_bot=True).first() if followed_id else None
            if followed is None:
                raise InvalidInput("member_of_id must be a bot's id.", code="invalid_target", field="member_of_id")
            # Serialises creations for one followed user, as the conversation's row lock does for a conversation.
            User.objects.select_for_update().filter(id=followed.id).first()
            target = {"member_of": followed}
        _refuse_over_limit(**target)
        subscription = WebhookSubscription.objects.create(
            url=url, events=events, secret=new_secret(), created_by=user, **target
        )
        transaction.on_commit(webhook_index_forget)
    return subscription


def webhook_update(*, user: User, webhook_id, url=None, events=None, active=None) -> WebhookSubscription:
    """Change the URL, the events, or pause (``active`` false) and resume; what is not given stays."""
    fields = []
    if url is not None:
        url = outbound_url_check(url)
        fields.append("url")
    if events is not None:
        events = validate_events(events)
        fields.append("events")
    if active is not None:
        if not isinstance(active, bool):
            raise InvalidInput("active must be true or false.", field="active")
        fields.append("active")
    with transaction.atomic():
        subscription = webhook_managed(user=user, webhook_id=webhook_id, lock=True)
        for name in fields:
            setattr(subscription, name, {"url": url, "events": events, "active": active}[name])
        if fields:
            subscription.save(update_fields=fields)
            transaction.on_commit(webhook_index_forget)
    return subscription


def webhook_rotate_secret(*, user: User, webhook_id) -> WebhookSubscription:
    """A new secret at once (the old one signs nothing more; deliveries already queued are signed with the new one)."""
    with transaction.atomic():
        subscription = webhook_managed(user=user, webhook_id=webhook_id, lock=True)
        subscription.secret, subscription.secret_rotated_at = new_secret(), timezone.now()
        subscription.save(update_fields=["secret", "secret_rotated_at"])
    return subscription


def webhook_delete(*, user: User, webhook_id) -> None:
    with transaction.atomic():
        subscription = webhook_managed(user=user, webhook_id=webhook_id, lock=True)
        subscription.delete()
        transaction.on_commit(webhook_index_forget)

