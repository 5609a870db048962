from django.apps import AppConfig


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"

    def ready(self):
        """CORS follows the sockets' origin rule; chat's settings are checked by ``manage.py check`` (chat.checks)."""
        from corsheaders.signals import check_request_enabled

        from . import checks  # noqa: F401 (registers the system checks)
        from .origins import cors_request_allowed

        check_request_enabled.connect(cors_request_allowed, dispatch_uid="chat.origins")
