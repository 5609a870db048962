#!/bin/sh
# Container entrypoint: wait for the database, apply migrations, then run the
# given command (by default daphne, see the Dockerfile's CMD).
#
# RUN_MIGRATIONS=0 skips the migrate step, e.g. for extra replicas when one
# container (or a release job) already migrates.
set -eu

echo "Waiting for the database..."
python - <<'PYTHON'
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django.setup()

from django.db import OperationalError, connection  # noqa: E402

TIMEOUT_SECONDS = 60
deadline = time.monotonic() + TIMEOUT_SECONDS
while True:
    try:
        connection.ensure_connection()
        break
    except OperationalError as error:
        # Only connection failures are retried; a bad setting fails at once.
        if time.monotonic() >= deadline:
            sys.exit(f"The database is still unavailable after {TIMEOUT_SECONDS} s: {error}")
        time.sleep(1)
PYTHON

if [ "${RUN_MIGRATIONS:-1}" != "0" ]; then
    python manage.py migrate --noinput
fi

exec "$@"
