from django.apps import AppConfig


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"

    def ready(self):
        """CORS follows the sockets' origin rule; account changes do the chat's part (chat.accounts); chat's settings are checked by ``manage.py check`` (chat.checks)."""
        from corsheaders.signals import check_request_enabled

        from core import hooks

        from . import accounts, checks  # noqa: F401 (checks registers the system checks)
        from .sockets.origins import cors_request_allowed

        check_request_enabled.connect(cors_request_allowed, dispatch_uid="chat.sockets.origins")
        hooks.account_deleting.connect(accounts.account_deleting)
        hooks.block_changed.connect(accounts.block_changed)
        hooks.status_changed.connect(accounts.status_changed)
        # Delivered positions still in memory are written as the server stops (chat.realtime.delivery_flush).
        from .realtime.delivery_flush import flush_at_shutdown

        hooks.server_stopping.connect(flush_at_shutdown)
        # Without Redis the server process does the timed work itself (core.timed): it expires
        # disappearing messages (chat.messages.expiry) and sends scheduled ones (chat.messages.scheduled_runner).
        from .messages.expiry import expire_in_server

        hooks.server_started.connect(expire_in_server)
        from .messages.scheduled_runner import send_scheduled_in_server

        hooks.server_started.connect(send_scheduled_in_server)
