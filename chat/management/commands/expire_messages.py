"""
``manage.py expire_messages``: the expiry pass (chat.messages.expiry).

Messages whose disappearing timer ran out, and with
CHAT_MESSAGE_RETENTION_DAYS those older than that, become tombstones marked
``expired``; rooms get ``chat.message.deleted``. Once by default (cron);
with ``--loop`` until SIGTERM or SIGINT, waking when the next message is due
and at least every CHAT_EXPIRY_INTERVAL_SECONDS (core.timed), which the
compose file's ``expiry`` service runs (docs/operations.md, "Expiring
messages"). The frames reach sockets through the channel layer, so the
command must share the servers' Redis (REDIS_URL); the embedded default's
server does this work itself (TIMED_WORK_IN_SERVER).
"""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from chat.messages.expiry import messages_expire, next_expiry
from core.timed import run_until_stopped


class Command(BaseCommand):
    help = "Turn expired messages (disappearing timers, CHAT_MESSAGE_RETENTION_DAYS) into tombstones."

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop", action="store_true",
            help="Keep running: a pass whenever a message is due, and at least every --interval seconds.",
        )
        parser.add_argument(
            "--interval", type=int, default=settings.CHAT_EXPIRY_INTERVAL_SECONDS,
            help="The longest wait between passes with --loop (default CHAT_EXPIRY_INTERVAL_SECONDS).",
        )

    def handle(self, *args, loop, interval, **options):
        if not loop:
            self.stdout.write(f"Expired {messages_expire()} message(s).")
            return
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        self.stderr.write(f"Expiring messages as they fall due, looking at least every {interval} s.")
        run_until_stopped(self._pass, interval=interval, stop=stop, log=self.stderr.write)
        self.stderr.write("Stopped expiring messages.")

    def _pass(self, now):
        expired = messages_expire(now=now)
        if expired:
            self.stdout.write(f"Expired {expired} message(s).")
        return next_expiry()
