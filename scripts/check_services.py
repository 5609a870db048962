"""
Check that PostgreSQL and Redis answer, and create the PostgreSQL database
when it is missing (the test database is made beside it).

    python scripts/check_services.py postgres://postgres@127.0.0.1:5432/chat redis://127.0.0.1:6379/1

Exits 1, saying which one failed, when either is unreachable.
"""

import sys

import dj_database_url
import psycopg
import redis
from psycopg import sql


def check_postgres(url: str) -> None:
    config = dj_database_url.parse(url)
    params = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"] or None,
        "password": config["PASSWORD"] or None,
        "connect_timeout": 5,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
            print(f"created database {config['NAME']}")


def main(postgres_url: str, redis_url: str) -> int:
    failed = False
    try:
        check_postgres(postgres_url)
        print("PostgreSQL: ok")
    except Exception as error:
        print(f"PostgreSQL at {postgres_url} is unreachable: {error}", file=sys.stderr)
        failed = True
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
        print("Redis: ok")
    except Exception as error:
        print(f"Redis at {redis_url} is unreachable: {error}", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
