from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        """Registers core's system checks (core.checks); every query that works tells core.outages the database is up."""
        from django.db.backends.signals import connection_created

        from core.outages import watch_queries

        from . import checks  # noqa: F401

        connection_created.connect(watch_queries, dispatch_uid="core.outages.watch_queries")
