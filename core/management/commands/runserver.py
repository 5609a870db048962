"""``runserver``: daphne's development server, with the per-connection limits of production (backend.server)."""

from daphne.management.commands.runserver import Command as DaphneRunserver

from backend.server import BoundedServer


class Command(DaphneRunserver):
    server_cls = BoundedServer
