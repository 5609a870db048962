from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        """Registers core's system checks (core.checks)."""
        from . import checks  # noqa: F401
