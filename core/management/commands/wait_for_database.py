"""
``manage.py wait_for_database``: return once the database answers; the
container entrypoint runs it before migrating.

It waits only for a database that is still coming up (connection refused,
host not resolvable yet, "the database system is starting up"), for at most
``--timeout`` seconds. A database that answers with a refusal that waiting
cannot fix (no such database, wrong password, no such role) fails at once
with PostgreSQL's own words. Connections are made directly, not through the
pool, so each attempt is one quick try with one line of output.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connections

# SQLSTATEs of refusals that waiting cannot fix.
_FINAL = {"3D000": "no such database", "28P01": "wrong password", "28000": "not allowed to connect"}
_FINAL_WORDS = ("does not exist", "password authentication failed", "no pg_hba.conf entry")


def _final(error: OperationalError) -> bool:
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) in _FINAL:
        return True
    return any(words in str(error) for words in _FINAL_WORDS)


class Command(BaseCommand):
    help = "Wait until the database answers; fail at once on a setting waiting cannot fix."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait at most (default 60)")

    def handle(self, *args, timeout: float, **options):
        settings = connections["default"].settings_dict
        settings.get("OPTIONS", {}).pop("pool", None)  # one direct try per attempt
        deadline = time.monotonic() + timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                connections["default"].ensure_connection()
            except OperationalError as error:
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                if _final(error):
                    raise CommandError(f"The database refused the connection: {reason}. Check DATABASE_URL.")
                if time.monotonic() >= deadline:
                    raise CommandError(f"The database is still unavailable after {timeout:g} s: {reason}")
                self.stderr.write(f"Waiting for the database ({reason})")
                time.sleep(min(1.0 * attempt, 3.0))
            else:
                connections["default"].close()
                self.stdout.write("The database answers.")
                return
