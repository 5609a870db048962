"""
``manage.py send_scheduled``: send the scheduled messages whose time has come
(chat.messages.scheduled_runner).

Once by default (cron); with ``--loop`` it sends what is due, then sleeps
until the next pending message falls due but never longer than
CHAT_SCHEDULED_MAX_SLEEP_SECONDS (so one scheduled meanwhile is picked up),
until SIGTERM or SIGINT; the compose file's ``scheduler`` service runs it
(docs/operations.md, "Scheduled messages"). Several may run at once: each
row is sent by one of them. The messages' frames reach sockets through the
channel layer, so the command must share the servers' Redis (REDIS_URL).
"""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError

from chat.messages.scheduled_runner import scheduled_send_due, scheduled_wait_seconds


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
            self._pass()
            return
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        self.stderr.write(f"Sending scheduled messages as they fall due (looking at least every {max_sleep} s).")
        while not stop.is_set():
            try:
                self._pass()
                pause = scheduled_wait_seconds(cap=max_sleep)
            except DatabaseError as error:
                # The database is away (restarting, failing over): the next pass catches up.
                self.stderr.write(f"The scheduled pass failed, trying again in {max_sleep} s: {error}")
                pause = max_sleep
            stop.wait(pause)
        self.stderr.write("Stopped sending scheduled messages.")

    def _pass(self):
        sent = scheduled_send_due()
        self.stdout.write(f"Sent {sent} scheduled message(s).")
