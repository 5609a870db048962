"""
Hooks: how a lower app has the apps above it do their part of a change
without importing them (the layers are ``core`` <- ``useraccount`` <-
``chat``, checked by import-linter).

A hook is called by the app that makes the change, inside its transaction
and with its outbox, and carried out by every receiver an app above
connected in its ``AppConfig.ready``:

    # useraccount.services.user_delete
    hooks.account_deleting(user=user, outbox=outbox)
    # chat.apps.ChatConfig.ready
    hooks.account_deleting.connect(chat.accounts.account_deleting)

Unlike a Django signal, a hook is called only where a service says so, with
keyword arguments its docstring names, and a receiver's error is not
swallowed: it rolls the whole change back.
"""

import asyncio
import logging

logger = logging.getLogger(__name__)


class Hook:
    """One point where the apps above take part in a change; receivers run in the order they connected."""

    def __init__(self, name: str, doc: str):
        self.name, self.__doc__ = name, doc
        self._receivers: list = []

    def connect(self, receiver) -> None:
        """Call ``receiver(**arguments)`` whenever the hook is called (once, however often connected)."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)

    def disconnect(self, receiver) -> None:
        """Stop calling ``receiver`` (tests that connect their own)."""
        if receiver in self._receivers:
            self._receivers.remove(receiver)

    def __call__(self, **arguments) -> None:
        for receiver in self._receivers:
            receiver(**arguments)


account_deleting = Hook(
    "account_deleting",
    "``user`` (anonymised already), ``outbox``: inside the deletion's transaction, before the sessions end.",
)
block_changed = Hook(
    "block_changed",
    "``blocker_id``, ``blocked_id``, ``outbox``: inside the transaction that made or lifted a block.",
)
server_started = Hook(
    "server_started",
    "``tasks`` (a list): the server is serving; a receiver appends a coroutine to run for the server's life "
    "(timed work in the embedded configuration, core.timed), cancelled as the server stops.",
)
status_changed = Hook(
    "status_changed",
    "``user``, ``event`` (its ``user.status`` event), ``outbox``: inside the transaction that set or cleared "
    "the status; the receiver announces it to whoever sees the user's presence.",
)
server_stopping = Hook(
    "server_stopping",
    "``tasks`` (a list): the server is stopping, its applications ended; a receiver appends a coroutine to await "
    "before the process exits (writing what a process holds in memory, such as delivered positions).",
)


# At most this long for the apps' work at stop: a stop must not hang on a
# database that does not answer (what was not written is lost, as in a crash).
STOPPING_TIMEOUT = 5.0


def start_server_tasks() -> list[asyncio.Task]:
    """The apps' ``server_started`` coroutines, each started as a task on the running loop."""
    coroutines: list = []
    server_started(tasks=coroutines)
    return [asyncio.ensure_future(coroutine) for coroutine in coroutines]


async def run_server_stopping(timeout: float = STOPPING_TIMEOUT) -> None:
    """Await what the apps' ``server_stopping`` receivers asked for, each failure logged, none raised."""
    tasks: list = []
    server_stopping(tasks=tasks)
    if not tasks:
        return
    try:
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
    except asyncio.TimeoutError:
        logger.error("Work at server stop took over %s s; the server stopped without it", timeout)
        return
    for result in results:
        if isinstance(result, BaseException):
            logger.error("Work at server stop failed", exc_info=result)
