"""
``manage.py send_scheduled``: send the scheduled messages whose time has come
(chat.messages.scheduled_runner).

Once by default (cron); with ``--loop`` until SIGTERM or SIGINT, waking when
the next pending message falls due and at least every
CHAT_SCHEDULED_MAX_SLEEP_SECONDS for ones scheduled meanwhile (core.timed),
which the compose file's ``scheduled`` service runs (docs/operations.md,
"Scheduled messages"). Several may run at once: each row is sent by one of
them. The messages' frames reach sockets through the channel layer, so the
command must share the servers' Redis (REDIS_URL); the embedded default's
server does this work itself (TIMED_WORK_IN_SERVER).
"""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from chat.messages.scheduled_runner import scheduled_next_due, scheduled_send_due
from core.timed import run_until_stopped


class Command(BaseCommand):
    help = "Send scheduled messages whose time has come."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep sending as messages fall due, until stopped.")
        parser.add_argument(
            "--max-sleep", type=float, default=settings.CHAT_SCHEDULED_MAX_SLEEP_SECONDS,
            help="The longest sleep between passes with --loop (default CHAT_SCHEDULED_MAX_SLEEP_SECONDS).",
        )

    def handle(self, *args, loop, max_sleep, **options):
        if not loop:
            self.stdout.write(f"Sent {scheduled_send_due()} scheduled message(s).")
            return
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        self.stderr.write(f"Sending scheduled messages as they fall due (looking at least every {max_sleep} s).")
        run_until_stopped(self._pass, interval=max_sleep, stop=stop, log=self.stderr.write)
        self.stderr.write("Stopped sending scheduled messages.")

    def _pass(self, now):
        sent = scheduled_send_due(now=now)
        if sent:
            self.stdout.write(f"Sent {sent} scheduled message(s).")
        return scheduled_next_due()
