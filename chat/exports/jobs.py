"""
The data export's job on the queue the project runs (chat.push.queue's
Dramatiq broker: Redis in production, worked by ``manage.py push_worker``;
in memory and worked by threads of the server on the embedded default).

    export_enqueue(export_id=export.id)   # after the request commits

One attempt per job: a build that fails is marked ``failed`` and the user
may ask again at once. A worker that dies mid-build leaves the job in Redis
for another worker, which builds the archive again. A build that runs past
DATA_EXPORT_TIME_LIMIT is stopped and marked failed.
"""

import logging

from django.conf import settings
from django.db import close_old_connections
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import DramatiqError
from dramatiq.middleware import TimeLimitExceeded

from chat.push.queue import broker, local_worker_start
from core.outages import REDIS, REDIS_ERRORS

QUEUE = "exports"
ACTOR = "export_build"
logger = logging.getLogger(__name__)


def export_actor_options() -> dict:
    """How the broker declares the job (chat.push.queue.broker)."""
    return {"actor_name": ACTOR, "queue_name": QUEUE, "max_retries": 0,
            "time_limit": settings.DATA_EXPORT_TIME_LIMIT * 1000}


def export_enqueue(*, export_id) -> None:
    """Queue the build; a queue that cannot be reached fails the export at once (the user may ask again)."""
    from chat.exports.services import export_fail

    queue_broker = broker()
    if isinstance(queue_broker, StubBroker):
        local_worker_start()
    try:
        queue_broker.get_actor(ACTOR).send(str(export_id))
    except (*REDIS_ERRORS, DramatiqError) as error:
        REDIS.failed(error)
        logger.error("Data export %s not queued: %s", export_id, type(error).__name__)
        export_fail(export_id=export_id, reason="The queue could not be reached.")


def export_build_job(export_id: str) -> None:
    """The job: build one export's archive (chat.exports.services.export_build)."""
    from chat.exports.services import export_build, export_fail

    close_old_connections()
    try:
        export_build(export_id=export_id)
    except TimeLimitExceeded:
        logger.error("Data export %s took over DATA_EXPORT_TIME_LIMIT", export_id)
        export_fail(export_id=export_id, reason="Took longer than DATA_EXPORT_TIME_LIMIT.")
    finally:
        close_old_connections()
