"""
Message search at scale on PostgreSQL: fills a database with a million
messages and prints the query plans and timings of the searches the API runs.

    .venv/bin/python bench/search_plan.py --database-url postgres://postgres@127.0.0.1:5432/chat_search

Data: USERS users, CONVERSATIONS groups of MEMBERS members drawn at random,
MESSAGES messages spread evenly over the groups; each body is eight words from a
vocabulary of 5,000 ("w0" … "w4999") drawn with a skew, so that low numbers are
common and high ones rare, as words are in real chat. The database is created
and migrated if missing and refilled when it holds a different amount of
data. The searcher is one user in about MEMBERS × CONVERSATIONS / USERS groups.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database (created if missing)")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=1_000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=7, help="runs of each query; the median and range are printed")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    _create_database(args.database_url)
    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    assert connection.vendor == "postgresql", "the full-text index is PostgreSQL's"
    _fill(connection, args)
    _measure(connection, args)


def _create_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')


def _fill(connection, args) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM chat_conversationmessage")
        if cursor.fetchone()[0] == args.messages:
            return
        print(f"Filling: {args.users} users, {args.conversations} groups, {args.messages} messages ...", flush=True)
        started = time.perf_counter()
        cursor.execute("TRUNCATE chat_reaction, chat_attachment, chat_conversationmessage, chat_conversationmember, "
                       "chat_conversation, useraccount_user CASCADE")
        cursor.execute(
            "INSERT INTO useraccount_user (id, password, email, name, is_active, is_staff, is_superuser, date_joined) "
            "SELECT gen_random_uuid(), '!', 'user' || n || '@search.invalid', 'User ' || n, true, false, false, now() "
            "FROM generate_series(1, %s) AS n",
            [args.users],
        )
        per = args.messages // args.conversations
        cursor.execute(
            "INSERT INTO chat_conversation (id, title, last_seq, created_at, modified_at, client_id) "
            "SELECT gen_random_uuid(), 'group ' || n, %s, now(), now(), '' FROM generate_series(1, %s) AS n",
            [per, args.conversations],
        )
        cursor.execute(
            """
            INSERT INTO chat_conversationmember (conversation_id, user_id, joined_at, last_read_seq)
            SELECT c.id, u.id, now(), 0
            FROM chat_conversation c
            CROSS JOIN LATERAL (
                SELECT id FROM useraccount_user WHERE c.id IS NOT NULL ORDER BY random() LIMIT %s
            ) u
            """,
            [args.members],
        )
        cursor.execute(
            """
            INSERT INTO chat_conversationmessage
                (id, conversation_id, seq, body, created_by_id, client_id, created_at, kind,
                 reaction_summary, attachment_summary)
            SELECT gen_random_uuid(), c.id, n,
                   (SELECT string_agg('w' || floor(power(random(), 3) * 5000)::int, ' ')
                    FROM generate_series(1, 8) WHERE n IS NOT NULL),
                   m.user_id, '', now() - make_interval(secs => %s - n), 'text', '[]', '[]'
            FROM chat_conversation c
            CROSS JOIN LATERAL (
                SELECT user_id FROM chat_conversationmember WHERE conversation_id = c.id LIMIT 1
            ) m
            CROSS JOIN generate_series(1, %s) AS n
            """,
            [per, per],
        )
        cursor.execute("ANALYZE")
        print(f"Filled in {time.perf_counter() - started:.0f} s.", flush=True)


def _measure(connection, args) -> None:
    from chat.models import Conversation
    from chat.search.selectors import message_search
    from useraccount.models import User

    user = User.objects.filter(email="user1@search.invalid").get()
    conversation = Conversation.objects.filter(members__user=user).first()
    groups = Conversation.objects.filter(members__user=user).count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_relation_size('message_body_search')), "
                       "pg_size_pretty(pg_relation_size('chat_conversationmessage'))")
        index_size, table_size = cursor.fetchone()
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(",")[0]
    print(f"{version}; messages table {table_size}, message_body_search index {index_size}; "
          f"the searcher is in {groups} groups.\n")
    cases = [
        ("rare word, all your conversations", {"query": "w4990"}),
        ("common word, all your conversations", {"query": "w1"}),
        ("two words, all your conversations", {"query": "w1 w4000"}),
        ("rare word, one conversation", {"query": "w4990", "conversation": conversation}),
        ("common word, one conversation", {"query": "w1", "conversation": conversation}),
    ]
    for title, kwargs in cases:
        timings = []
        for _ in range(args.repeat):
            # As the API runs it: the member lookup and the search, through the ORM.
            started = time.perf_counter()
            rows = list(message_search(user=user, **kwargs)[:20])
            timings.append((time.perf_counter() - started) * 1000)
        sql, params = message_search(user=user, **kwargs)[:20].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql, params)
            plan = "\n".join("    " + row[0] for row in cursor.fetchall())
        print(f"## {title}: q={kwargs['query']!r}, {len(rows)} results (first page)")
        print(f"median {statistics.median(timings):.1f} ms, range {min(timings):.1f}-{max(timings):.1f} ms "
              f"over {args.repeat} runs\n")
        print(plan + "\n")


if __name__ == "__main__":
    main()
