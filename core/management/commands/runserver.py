"""``runserver``: daphne's development server, with the per-connection limits of production (core.runtime.server)."""

from daphne.management.commands.runserver import Command as DaphneRunserver

from core.runtime.server import BoundedServer


class Command(DaphneRunserver):
    server_cls = BoundedServer
