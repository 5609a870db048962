"""
Reads of webhook subscriptions: those a user may manage, one of them, its recent deliveries.

    webhooks_managed_list(user=user, conversation_id=None)
    webhook_managed(user=user, webhook_id=sid)
    webhook_deliveries(user=user, webhook_id=sid)   # newest first, at most WEBHOOK_LOG_ROWS
    webhooks_delivering()                            # those that deliver now (the jobs ask this)
"""

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from chat.conversations.roles import ADMIN, Action, member_may
from chat.models import ConversationMember, WebhookDelivery, WebhookSubscription
from core.errors import NotFound
from core.validation import uuid_or_none
from useraccount.models import User


def _may_manage(user: User) -> Q:
    """Subscriptions of groups ``user`` owns or administers, and (staff) those following a user."""
    administered = ConversationMember.objects.filter(user=user, role=ADMIN).values("conversation_id")
    managed = Q(conversation__owner=user) | Q(conversation_id__in=administered)
    if user.is_staff:
        managed |= Q(member_of__isnull=False)
    return managed


def webhooks_delivering() -> QuerySet:
    """
    The active subscriptions whose creator may still make them: a group's
    while its creator is an owner or admin of it (a demoted, departed or
    deactivated admin's receiver hears nothing more of the group), one
    following a user while its creator is active staff. Such a subscription
    stays, listed to those who manage it, until one of them deletes it.
    """
    manages = ConversationMember.objects.filter(
        conversation_id=OuterRef("conversation_id"), user_id=OuterRef("created_by_id"),
    ).filter(Q(role=ADMIN) | Q(conversation__owner_id=OuterRef("created_by_id")))
    creator_may = Q(conversation__isnull=False) & Exists(manages) | Q(member_of__isnull=False, created_by__is_staff=True)
    return WebhookSubscription.objects.filter(creator_may, active=True, created_by__is_active=True)


def webhooks_managed_list(*, user: User, conversation_id=None) -> QuerySet:
    subscriptions = WebhookSubscription.objects.filter(_may_manage(user))
    if conversation_id is not None:
        subscriptions = subscriptions.filter(conversation_id=uuid_or_none(conversation_id))
    return subscriptions.order_by("created_at")


def webhook_managed(*, user: User, webhook_id, lock: bool = False) -> WebhookSubscription:
    """The subscription, if ``user`` may manage it now; NotFound (``webhook_not_found``) otherwise."""
    parsed = uuid_or_none(webhook_id)
    subscriptions = WebhookSubscription.objects.select_for_update() if lock else WebhookSubscription.objects
    subscription = subscriptions.filter(id=parsed).first() if parsed else None
    if subscription is None:
        raise NotFound("No such webhook.", code="webhook_not_found")
    if subscription.conversation_id is not None:
        allowed = member_may(conversation_id=subscription.conversation_id, user=user, action=Action.MANAGE_WEBHOOKS)
    else:
        allowed = user.is_staff
    if not allowed:
        raise NotFound("No such webhook.", code="webhook_not_found")
    return subscription


def webhook_deliveries(*, user: User, webhook_id) -> list[WebhookDelivery]:
    subscription = webhook_managed(user=user, webhook_id=webhook_id)
    return list(WebhookDelivery.objects.filter(subscription=subscription).order_by("-id")[: settings.WEBHOOK_LOG_ROWS])
