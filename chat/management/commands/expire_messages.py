"""
``manage.py expire_messages``: the expiry pass (chat.messages.expiry).

Messages whose disappearing timer ran out, and with
CHAT_MESSAGE_RETENTION_DAYS those older than that, become tombstones marked
``expired``; rooms get ``chat.message.deleted``. Once by default (cron);
with ``--loop`` a pass every CHAT_EXPIRY_INTERVAL_SECONDS until SIGTERM or
SIGINT, which the compose file's ``expiry`` service runs
(docs/operations.md, "Expiring messages"). The frames reach sockets through
the channel layer, so the command must share the servers' Redis (REDIS_URL).
"""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError

from chat.messages.expiry import messages_expire


class Command(BaseCommand):
    help = "Turn expired messages (disappearing timers, CHAT_MESSAGE_RETENTION_DAYS) into tombstones."

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop", action="store_true", help="Run a pass every --interval seconds until stopped."
        )
        parser.add_argument(
            "--interval", type=int, default=settings.CHAT_EXPIRY_INTERVAL_SECONDS,
            help="Seconds between passes with --loop (default CHAT_EXPIRY_INTERVAL_SECONDS).",
        )

    def handle(self, *args, loop, interval, **options):
        if not loop:
            self._pass()
            return
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        self.stderr.write(f"Expiring messages every {interval} s.")
        while not stop.is_set():
            try:
                self._pass()
            except DatabaseError as error:
                # The database is away (restarting, failing over): the next pass catches up.
                self.stderr.write(f"The expiry pass failed, trying again in {interval} s: {error}")
            stop.wait(interval)
        self.stderr.write("Stopped expiring messages.")

    def _pass(self):
        expired = messages_expire()
        self.stdout.write(f"Expired {expired} message(s).")
