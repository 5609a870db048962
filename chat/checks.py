"""
System checks of chat's settings, run by ``manage.py check`` (and so by the
container's entrypoint before it migrates): rules over settings once they are
all read, so that a bad combination stops the deploy with its reason instead
of failing at a user's first frame or first push. Registered in
``ChatConfig.ready``.

    python manage.py check   # chat.E002: PUSH_VAPID_SUBJECT must be a mailto: or https:// address ...
"""

import re

from django.conf import settings
from django.core.checks import Error, register

from core.checks import rate_errors

# The kinds of frame a socket counts against a limit (chat.realtime.commands' rate_limit).
SOCKET_RATE_ACTIONS = ("message", "typing", "frame")


@register()
def socket_rate_limits_check(app_configs, **kwargs) -> list[Error]:
    """SOCKET_RATE_LIMITS has a rate in core.rates' syntax, or off, for every kind of frame."""
    errors = []
    for action in SOCKET_RATE_ACTIONS:
        if action not in settings.SOCKET_RATE_LIMITS:
            errors.append(Error(
                f"SOCKET_RATE_LIMITS has no rate for {action!r} frames",
                hint="Give it a rate such as 20/10s, or off.",
                id="chat.E001",
            ))
    return errors + rate_errors(
        settings.SOCKET_RATE_LIMITS, name="SOCKET_RATE_LIMITS", variables="SOCKET_RATE_*", example="20/10s",
        id="chat.E001",
    )


@register()
def push_vapid_check(app_configs, **kwargs) -> list[Error]:
    """With a VAPID key, PUSH_VAPID_SUBJECT is where push services can reach the sender."""
    if settings.PUSH_VAPID_PRIVATE_KEY and not re.match(r"(mailto:|https://)\S+$", settings.PUSH_VAPID_SUBJECT):
        return [Error(
            "PUSH_VAPID_SUBJECT must be a mailto: or https:// address when PUSH_VAPID_PRIVATE_KEY is set",
            hint="Push services contact it about the pushes this server sends, e.g. mailto:ops@example.com.",
            id="chat.E002",
        )]
    return []
