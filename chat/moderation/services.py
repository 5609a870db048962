"""
Reports and moderation: members report messages, anyone reports users
(one open report per reporter and thing); moderators hide messages,
deactivate users and resolve reports, each action logged once.
"""


from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.models import (
    REPORT_DETAILS_MAX_LENGTH,
    ConversationMessage,
    ModerationAction,
    Report,
)
from chat.messages.services import pin_drop
from chat.realtime import events
from chat.realtime.groups import conversation_group
from core.errors import Forbidden, InvalidInput, NotFound
from core.outbox import Outbox, with_outbox
from core.validation import storable_text, uuid_or_none
from useraccount.models import User



def report_create(*, reporter: User, reason, details="", message_id=None, user_id=None) -> tuple[Report, bool]:
    """
    ``reporter`` reports a message of a conversation they are in, or a user,
    for a reason of Report.REASONS with up to REPORT_DETAILS_MAX_LENGTH
    characters of details. Returns ``(report, created)``: while a report of
    theirs about the same message (or user) is open, reporting again returns it.
    A message's body is kept on the report as it is now, since its author may
    edit or delete it before a moderator looks.
    """
    if (message_id is None) == (user_id is None):
        raise InvalidInput("Name either message_id or user_id.", code="invalid_report")
    if reason not in {value for value, _ in Report.REASONS}:
        raise InvalidInput(
            "reason must be one of: " + ", ".join(value for value, _ in Report.REASONS) + ".",
            code="invalid_reason", field="reason",
        )
    details = details or ""
    if not isinstance(details, str) or len(details) > REPORT_DETAILS_MAX_LENGTH or not storable_text(details):
        raise InvalidInput(
            f"details must be text of at most {REPORT_DETAILS_MAX_LENGTH} characters.",
            code="invalid_details", field="details",
        )
    if message_id is not None:
        parsed = uuid_or_none(message_id)
        message = (
            ConversationMessage.objects.filter(
                id=parsed, conversation__members__user=reporter, kind=ConversationMessage.TEXT
            ).select_related("created_by").first()
            if parsed else None
        )
        if message is None:
            raise NotFound("No such message.")
        if message.created_by_id == reporter.id:
            raise InvalidInput("You cannot report your own message.", code="invalid_report", field="message_id")
        reported, open_reports = message.created_by, Report.objects.filter(message=message)
    else:
        parsed = uuid_or_none(user_id)
        reported = User.objects.filter(id=parsed).first() if parsed else None
        if reported is None:
            raise NotFound("No such user.")
        if reported.id == reporter.id:
            raise InvalidInput("You cannot report yourself.", code="invalid_report", field="user_id")
        message, open_reports = None, Report.objects.filter(user=reported, message__isnull=True)
    open_reports = open_reports.filter(reporter=reporter, status=Report.OPEN)
    if existing := open_reports.first():
        return existing, False
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reporter=reporter, user=reported, message=message, reason=reason, details=details.strip(),
                message_body=message.body if message is not None else None,
            )
    except IntegrityError:
        # The same report twice at once: the partial unique constraint decides.
        if existing := open_reports.first():
            return existing, False
        raise
    return report, True


def _log(action: str, *, moderator: User, report: Report | None = None, message=None, user=None) -> None:
    ModerationAction.objects.create(action=action, moderator=moderator, report=report, message=message, user=user)


def report_resolve(*, report: Report, moderator: User) -> tuple[Report, bool]:
    """
    A moderator closes a report; logged. Returns ``(report, resolved)``: a
    report resolved already (by anyone, even a moment ago) is left as it
    is, unlogged, with ``resolved`` False.
    """
    with transaction.atomic():
        current = Report.objects.select_for_update(of=("self",)).select_related("message", "user").get(id=report.id)
        if current.status != Report.OPEN:
            return current, False
        current.status, current.resolved_at, current.resolved_by = Report.RESOLVED, timezone.now(), moderator
        current.save(update_fields=["status", "resolved_at", "resolved_by"])
        _log(ModerationAction.RESOLVE_REPORT, moderator=moderator, report=current, message=current.message,
             user=current.user)
    return current, True


@with_outbox
def message_hide(
    *, message_id, moderator: User, report: Report | None = None, outbox: Outbox
) -> tuple[ConversationMessage, bool]:
    """
    A moderator hides a message: members see it as a tombstone marked
    ``moderated`` (no body, reactions or attachments), in history, catch-up
    and search alike, and the room gets ``chat.message.updated``; the body is
    kept for staff. Logged. Returns ``(message, hidden)``: a message hidden
    already is left as it is, unlogged, with ``hidden`` False.
    """
    parsed = uuid_or_none(message_id)
    with transaction.atomic():
        message = (
            ConversationMessage.objects.for_display().select_for_update(of=("self",)).filter(id=parsed).first()
            if parsed else None
        )
        if message is None:
            raise NotFound("No such message.")
        if message.kind != ConversationMessage.TEXT:
            raise Forbidden("A system message cannot be hidden.")
        if message.is_moderated:
            return message, False
        pin_drop(message, outbox=outbox)
        message.moderated_at, message.moderated_by = timezone.now(), moderator
        message.save(update_fields=["moderated_at", "moderated_by"])
        outbox.emit(conversation_group(message.conversation_id), events.message_changed(message))
        _log(ModerationAction.HIDE_MESSAGE, moderator=moderator, report=report, message=message,
             user=message.created_by)
    return message, True


def user_deactivate_for_moderation(
    *, user: User, moderator: User, report: Report | None = None
) -> tuple[User, bool]:
    """
    A moderator deactivates a user (useraccount.services.user_deactivate: no
    more logins, tokens refused, every open socket closed on every process);
    logged. Returns ``(user, deactivated)``: a user inactive already
    (deactivated, or their account deleted) is left as they are, unlogged,
    with ``deactivated`` False.
    """
    from useraccount.services import user_deactivate

    with transaction.atomic():
        active = User.objects.select_for_update().filter(id=user.id).values_list("is_active", flat=True).first()
        if not active:
            return user, False
        user_deactivate(user=user)
        _log(ModerationAction.DEACTIVATE_USER, moderator=moderator, report=report, user=user)
    return user, True
