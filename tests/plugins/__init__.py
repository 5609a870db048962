"""
Fixture plugins, loaded for every test by ``pytest_plugins`` in
tests/conftest.py, one concern each:

- ``database``: the test database (its own SQLite file per run) and its URL for server processes
- ``frames``: every frame checked against the AsyncAPI document
- ``isolation``: what one test must not leave to the next (rate limits, Redis state, files)
- ``users``: Alice, Bob, Carol, ``make_user``, access tokens and REST clients
- ``conversations``: ``direct``, ``group`` and messages in them
- ``sockets``: communicators on the real application and the helpers that read frames
- ``clocks``: a fake clock for the code that takes one
- ``servers``: real server processes, free ports, HTTP requests, the timed-work and queue processes beside them
- ``browsers``: headless Chromium through playwright (``browser``), for the demo's tests
- ``faults``: a port that never answers, a Redis of a test's own to kill
- ``receivers``: a real HTTPS server on 127.0.0.1 with a test CA (webhooks, link previews), the queue's worker

``workers`` is loaded earlier, with ``-p`` in pytest.ini: each pytest-xdist
worker its own Redis database, and the slow tests first.

Helpers (``send``, ``room``, ``http_request``...) are imported from the
plugin that defines them: ``from tests.plugins.sockets import receive, room``.
"""
