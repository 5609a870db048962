"""
The production server command: daphne, with the interpreter tuned for a
server process (the tuning is here, not in backend.asgi, so that importing the
application, as tests and management commands do, changes nothing).

    python -m core.runtime.serve -e tcp:port=8000:interface=0.0.0.0:backlog=1024 backend.asgi:application

Every argument goes to daphne, which runs as core.runtime.server.BoundedServer:
every per-connection resource bounded (docs/protocol.md, "Limits"). ``GIL_SWITCH_INTERVAL`` (seconds, default
0.0005): database work runs on worker threads while the event loop thread
delivers frames; with Python's default 5 ms a worker waiting for the GIL
behind a busy loop waits up to 5 ms at each of a query's I/O returns, which
stretched every message save under load (docs/benchmarks.md).

Once the application is loaded, the objects made so far (Django, the
models, the URL patterns: hundreds of thousands) are frozen out of the
garbage collector's reach: every collection of the older generations walked
the whole startup heap again, and a connect burst makes many. Its first
generation collects after ``GC_GEN0_THRESHOLD`` allocations (default 700,
Python's); a higher one spends less CPU on collections and keeps more
garbage between them (docs/benchmarks.md, "Connects": 7000 was about 1 KB a
socket more at 1,000 sockets, for connects within the machine's noise).
"""

import atexit
import gc
import os
import sys

from daphne.cli import CommandLineInterface


def main() -> None:
    sys.setswitchinterval(float(os.environ.get("GIL_SWITCH_INTERVAL", "0.0005")))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # This process's open-socket gauges stop counting once it exits (core.metrics).
        from prometheus_client import multiprocess

        atexit.register(multiprocess.mark_process_dead, os.getpid())
    from core.runtime.server import BoundedServer

    from twisted.internet import reactor

    CommandLineInterface.server_class = BoundedServer
    reactor.callWhenRunning(tune_collector, int(os.environ.get("GC_GEN0_THRESHOLD", "700")))
    CommandLineInterface.entrypoint()


def tune_collector(gen0_threshold: int) -> None:
    """With the application loaded: keep what startup made out of collections, and collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(gen0_threshold, *gc.get_threshold()[1:])


if __name__ == "__main__":
    main()
