from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"

    def ready(self):
        """A malformed socket rate fails at startup, not at a user's first frame."""
        from django.conf import settings

        from .realtime.ratelimit import Rate

        for action, text in settings.SOCKET_RATE_LIMITS.items():
            try:
                Rate.parse(text)
            except ValueError as error:
                raise ImproperlyConfigured(f"SOCKET_RATE_LIMITS[{action!r}]: {error}") from error
