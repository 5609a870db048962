from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"

    def ready(self):
        """CORS follows the sockets' origin rule; account changes do the chat's part (chat.accounts); a malformed socket rate fails at startup, not at a user's first frame."""
        from corsheaders.signals import check_request_enabled
        from django.conf import settings

        from core import hooks

        from . import accounts
        from .realtime.ratelimit import Rate
        from .sockets.origins import cors_request_allowed

        check_request_enabled.connect(cors_request_allowed, dispatch_uid="chat.sockets.origins")
        hooks.account_deleting.connect(accounts.account_deleting)
        hooks.block_changed.connect(accounts.block_changed)

        for action, text in settings.SOCKET_RATE_LIMITS.items():
            try:
                Rate.parse(text)
            except ValueError as error:
                raise ImproperlyConfigured(f"SOCKET_RATE_LIMITS[{action!r}]: {error}") from error
