"""
``manage.py push_worker``: work the queue (chat.push.queue) until stopped:
pushes, and the data exports' builds (chat.exports.jobs), which share its
broker. Production runs one or more next to the web servers (the compose
file's ``push-worker`` service); on SIGTERM or SIGINT it finishes the jobs in
hand and hands the ones it had fetched back to the queue.

PUSH_WORKER_THREADS jobs at a time (pushes wait on the network, not the CPU);
with PUSH_WORKER_METRICS_PORT, its Prometheus counters (chat_push_*) are
served on that port.
"""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Send push notifications from the queue (needs REDIS_URL; the embedded default sends from the server)."

    def handle(self, *args, **options):
        import dramatiq

        from chat.push.queue import broker

        if not settings.REDIS_URL:
            raise CommandError("The push queue is in Redis: set REDIS_URL. Without it the server sends pushes itself.")
        if settings.PUSH_WORKER_METRICS_PORT:
            from prometheus_client import start_http_server

            start_http_server(settings.PUSH_WORKER_METRICS_PORT)
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        worker = dramatiq.Worker(broker(), worker_threads=settings.PUSH_WORKER_THREADS)
        worker.start()
        self.stderr.write(f"Push worker started: {settings.PUSH_WORKER_THREADS} threads.")
        stop.wait()
        worker.stop()
        from chat.realtime.delivery_flush import push_deliveries

        push_deliveries().flush()  # the delivered positions of the last pushes (chat.realtime.delivery_flush)
        self.stderr.write("Push worker stopped.")
