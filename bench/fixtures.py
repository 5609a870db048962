"""
Database side of the benchmark: preparing the database and the rooms.

``bench/run.py`` calls, in its own process and before any server starts:

    prepare_database(database_url)          # create (PostgreSQL) and migrate
    database_vacuum()                        # before each target: no dead rows of earlier runs
    plan = rooms_create(tag="a1", rooms=50, members=20, senders=1)
    ...                                      # run the load
    bench_data_delete(tag="a1")

Rooms are created straight through the ORM with ``bulk_create`` (no password
hashing, no signals, no events) and every member gets an access token minted
with simplejwt's ``AccessToken.for_user``, which writes nothing. Everything
made here is recognisable (emails ``@bench.invalid``, titles ``bench-``) so
it can be deleted afterwards, and what a crashed run left can be deleted
later without touching a run that is still going.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

BENCH_EMAIL_DOMAIN = "bench.invalid"
BENCH_TITLE_PREFIX = "bench-"


@dataclass
class Member:
    user_id: str
    name: str
    token: str


@dataclass
class Room:
    conversation_id: str
    members: list[Member]
    senders: int


@dataclass
class Plan:
    rooms: list[Room] = field(default_factory=list)

    @property
    def sockets(self) -> int:
        return sum(len(room.members) for room in self.rooms)


def prepare_database(database_url: str) -> None:
    """Create the PostgreSQL database if it is missing, then migrate."""
    if database_url.startswith(("postgres://", "postgresql://")):
        _create_postgres_database(database_url)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _create_postgres_database(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=10) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def rooms_create(*, tag: str, rooms: int, members: int, senders: int) -> Plan:
    """``rooms`` group conversations of ``members`` users each, with tokens."""
    from django.db import transaction
    from rest_framework_simplejwt.tokens import AccessToken

    from chat.models import Conversation, ConversationMember
    from useraccount.models import User

    users = [
        User(
            email=f"{tag}-{index}@{BENCH_EMAIL_DOMAIN}",
            name=f"Bench {tag} {index}",
            password="!bench",  # unusable: nobody logs in with a password
        )
        for index in range(rooms * members)
    ]
    conversations = [
        Conversation(title=f"{BENCH_TITLE_PREFIX}{tag}-{index}") for index in range(rooms)
    ]
    with transaction.atomic():
        User.objects.bulk_create(users, batch_size=1000)
        Conversation.objects.bulk_create(conversations, batch_size=1000)
        ConversationMember.objects.bulk_create(
            [
                ConversationMember(conversation=conversation, user=user)
                for room_index, conversation in enumerate(conversations)
                for user in users[room_index * members : (room_index + 1) * members]
            ],
            batch_size=2000,
        )
    plan = Plan()
    for room_index, conversation in enumerate(conversations):
        room_users = users[room_index * members : (room_index + 1) * members]
        plan.rooms.append(
            Room(
                conversation_id=str(conversation.id),
                members=[
                    Member(user_id=str(user.id), name=user.name, token=str(AccessToken.for_user(user)))
                    for user in room_users
                ],
                senders=senders,
            )
        )
    return plan


def bench_data_delete(*, tag: str | None = None, stale_after: timedelta | None = None) -> None:
    """
    Delete conversations, messages and users a benchmark made: those of one
    run (``tag``), or those left by runs that started more than
    ``stale_after`` ago (a crashed run), never those of a run still going.
    """
    from django.db import connection
    from django.utils import timezone

    from chat.models import Conversation, ConversationMember, ConversationMessage
    from useraccount.models import User

    bench_conversations = Conversation.objects.filter(title__startswith=BENCH_TITLE_PREFIX)
    bench_users = User.objects.filter(email__endswith="@" + BENCH_EMAIL_DOMAIN)
    if tag is not None:
        bench_conversations = bench_conversations.filter(title__startswith=f"{BENCH_TITLE_PREFIX}{tag}")
        bench_users = bench_users.filter(email__startswith=f"{tag}")
    if stale_after is not None:
        cutoff = timezone.now() - stale_after
        bench_conversations = bench_conversations.filter(created_at__lt=cutoff)
        bench_users = bench_users.filter(date_joined__lt=cutoff)
    # Raw deletes (no collector): the rows have no dependants outside these tables.
    for queryset in (
        ConversationMessage.objects.filter(conversation__in=bench_conversations),
        ConversationMessage.objects.filter(created_by__in=bench_users),
        ConversationMember.objects.filter(conversation__in=bench_conversations),
        ConversationMember.objects.filter(user__in=bench_users),
        bench_conversations,
    ):
        queryset._raw_delete(queryset.db)
    bench_users.delete()
    connection.close()


def database_vacuum() -> float:
    """
    ``VACUUM ANALYZE`` the benchmark's database (PostgreSQL), so that every
    target starts on the same database: without it each run measures one
    with more dead rows than the run before. Every run leaves them behind (its
    messages, members and users deleted, each message's update of its
    conversation's last seq), and a PostgreSQL with autovacuum off, as a
    CI-tuned one is, never removes them (docs/benchmarks.md, "The two
    harnesses", measured what they cost). Not ``VACUUM FULL``: it locks each
    table while it rewrites it and made no difference that runs could show.
    Returns the seconds it took.
    """
    import time

    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    started = time.perf_counter()
    with connection.cursor() as cursor:  # autocommit: VACUUM cannot run in a transaction
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    return time.perf_counter() - started


def server_environment(*, database_url: str, redis_url: str | None, secret_key: str) -> dict:
    """The environment for both the runner's Django and the server processes."""
    environment = {
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "0",  # plain HTTP on loopback, no TLS proxy
        "DJANGO_SECRET_KEY": secret_key,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # The load is synthetic senders far above a person's pace: the per-user
        # socket limits would measure themselves, not the server's capacity.
        "SOCKET_RATE_MESSAGES": "off",
        "SOCKET_RATE_TYPING": "off",
        "SOCKET_RATE_FRAMES": "off",
    }
    if redis_url:
        environment["REDIS_URL"] = redis_url
    return environment


def django_setup(environment: dict) -> None:
    """Configure this process's Django with the servers' environment."""
    os.environ.pop("REDIS_URL", None)
    os.environ.update(environment)
    import django

    django.setup()
