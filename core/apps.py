from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        from django.db.backends.signals import connection_created

        from core.outages import watch_queries

        # Every query that works tells core.outages the database is up.
        connection_created.connect(watch_queries, dispatch_uid="core.outages.watch_queries")
