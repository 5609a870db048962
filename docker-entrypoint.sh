#!/bin/sh
# Container entrypoint: check the settings, wait for the database, apply
# migrations, then run the given command (by default the server, see the
# Dockerfile's CMD).
#
# A bad setting (a missing secret key, a malformed variable, a database name
# or password the server refuses) stops the container at once with the
# reason; only a database that is still starting is waited for, up to
# DATABASE_WAIT seconds (default 60).
#
# RUN_MIGRATIONS=0 skips the migrate step, e.g. for extra replicas when one
# container (or a release job) already migrates.
set -eu

python manage.py check --fail-level ERROR >/dev/null
python manage.py wait_for_database --timeout "${DATABASE_WAIT:-60}"

if [ "${RUN_MIGRATIONS:-1}" != "0" ]; then
    python manage.py migrate --noinput
fi

exec "$@"
