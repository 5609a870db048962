"""
core.outages: one log line when a service goes away, one when it is back;
an unreachable database told from a failed query, and answered 503 by REST
(DRF's views and the others) without a traceback per request.
"""

import logging
import sys

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, OperationalError
from django.urls import path
from prometheus_client import REGISTRY
from psycopg_pool import PoolTimeout
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core.outages import DATABASE, Dependency, OncePerOutage, database_unreachable
from tests.plugins.clocks import FakeClock


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(caplog):
    clock = FakeClock()
    redis = Dependency("Redis", clock=clock)
    for _ in range(500):
        redis.failed(ConnectionError("Connection refused"))
    assert redis.down
    clock.advance(12.5)
    redis.succeeded()
    redis.succeeded()
    assert not redis.down
    assert caplog.messages == [
        "Redis is unreachable (ConnectionError: Connection refused); carrying on without it until it is back",
        "Redis is back after 12.5 s (500 calls failed meanwhile)",
    ]
    assert all(record.exc_info is None for record in caplog.records)


def test_a_second_outage_is_logged_again(caplog):
    redis = Dependency("Redis", clock=FakeClock())
    for _ in range(2):
        redis.failed(TimeoutError("timed out"))
        redis.succeeded()
    assert len(caplog.messages) == 4


def record_with_traceback(message: str) -> logging.LogRecord:
    try:
        raise ConnectionError("Connection refused")
    except ConnectionError:
        exc_info = sys.exc_info()
    return logging.LogRecord("channels_redis.pubsub", logging.ERROR, __file__, 1, message, None, exc_info)


def test_a_library_retrying_every_second_is_let_through_once_a_minute_in_one_line():
    clock = FakeClock()
    once = OncePerOutage(interval=60, clock=clock)
    passed = []
    for _ in range(120):
        record = record_with_traceback("Unexpected exception in receive task")
        if once.filter(record):
            passed.append(record)
        clock.advance(1)
    assert len(passed) == 2
    assert passed[0].getMessage() == "Unexpected exception in receive task: ConnectionError: Connection refused"
    assert passed[0].exc_info is None


# --- The database ------------------------------------------------------------------


def raised_from(error: BaseException, cause: BaseException) -> BaseException:
    """``error`` as Django raises it: ``raise error from cause``."""
    try:
        raise error from cause
    except BaseException as raised:
        return raised


@pytest.mark.parametrize("error, unreachable", [
    (psycopg.OperationalError("connection failed: Connection refused"), True),
    (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), True),
    (psycopg.errors.CannotConnectNow("the database system is starting up"), True),
    (psycopg.errors.ConnectionFailure("connection failure"), True),
    (PoolTimeout("couldn't get a connection after 10.00 sec"), True),
    (psycopg.InterfaceError("the connection is closed"), True),
    (raised_from(OperationalError("connection failed"), psycopg.OperationalError("connection failed")), True),
    (raised_from(DatabaseError("terminating"), psycopg.errors.AdminShutdown("terminating")), True),  # asyncdb's
    (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), False),
    (psycopg.errors.DeadlockDetected("deadlock detected"), False),
    (psycopg.errors.SerializationFailure("could not serialize access"), False),
    (raised_from(IntegrityError("duplicate key"), psycopg.errors.UniqueViolation("duplicate key")), False),
    (OperationalError("database is locked"), False),  # SQLite's: busy, not away
    (ValueError("no"), False),
])
def test_an_unreachable_database_is_told_from_a_failed_query(error, unreachable):
    assert database_unreachable(error) is unreachable


def test_an_outage_calls_its_hooks_once_when_it_starts_and_once_when_it_ends():
    calls = []
    database = Dependency("PostgreSQL", clock=FakeClock(), on_down=lambda: calls.append("down"),
                          on_back=lambda: calls.append("back"))
    for _ in range(3):
        database.failed(psycopg.OperationalError("connection failed"))
    database.succeeded()
    database.succeeded()
    assert calls == ["down", "back"] and database.outages == 1


def database_errors() -> float:
    return REGISTRY.get_sample_value("chat_database_errors_total") or 0.0


def unreachable_database() -> OperationalError:
    return raised_from(OperationalError("connection failed: Connection refused"),
                       psycopg.OperationalError("connection failed: Connection refused"))


class FailingView(APIView):
    authentication_classes, permission_classes = [], []
    error: Exception | None = None

    def get(self, request):
        raise self.error


def failing_page(request):
    raise unreachable_database()


urlpatterns = [path("api/failing/", failing_page), path("failing/", failing_page)]


def test_rest_answers_503_with_retry_after_when_the_database_is_unreachable(caplog):
    counted = database_errors()
    for _ in range(3):
        response = FailingView.as_view(error=unreachable_database())(APIRequestFactory().get("/api/anything/"))
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        assert response.data == {
            "code": "database_unavailable",
            "detail": "The database cannot be reached just now; try again in 5 seconds.",
            "retry_after": 5,
        }
    assert database_errors() == counted + 3
    assert [record.getMessage().split(" (")[0] for record in caplog.records] == ["PostgreSQL is unreachable"]
    assert DATABASE.down


def test_any_other_database_error_is_still_a_500_with_its_traceback(caplog):
    counted = database_errors()
    error = raised_from(IntegrityError("duplicate key"), psycopg.errors.UniqueViolation("duplicate key"))
    response = FailingView.as_view(error=error)(APIRequestFactory().get("/api/anything/"))
    assert response.status_code == 500 and response.data["code"] == "server_error"
    assert database_errors() == counted + 1
    assert [record.exc_info is not None for record in caplog.records if record.levelno >= logging.ERROR] == [True]
    assert not DATABASE.down


@pytest.mark.urls("tests.core.test_outages")
@pytest.mark.parametrize("path, content_type", [("/api/failing/", "application/json"), ("/failing/", "text/plain")])
def test_views_outside_drf_answer_503_too(client, caplog, path, content_type):
    counted = database_errors()
    response = client.get(path)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response["Content-Type"].startswith(content_type)
    if content_type == "application/json":
        assert response.json()["code"] == "database_unavailable"
    assert database_errors() == counted + 1
    assert not [record for record in caplog.records if record.exc_info or record.name == "django.request"]


@pytest.mark.django_db(transaction=True)
async def test_a_socket_frame_failing_on_an_unreachable_database_logs_no_traceback(alice, direct, caplog, monkeypatch):
    from chat.sockets.rooms import RoomConsumer
    from tests.plugins.sockets import receive, room

    async def fail(self, command):
        raise unreachable_database()

    monkeypatch.setattr(RoomConsumer, "on_ping", fail)
    counted = database_errors()
    async with room(direct, alice) as ws:
        for _ in range(3):
            await ws.send_to(text_data='{"type": "ping"}')
            assert (await receive(ws))["code"] == "server_error"
    assert database_errors() == counted + 3
    assert not [record for record in caplog.records if record.exc_info]
    # (Then the database, which is up, answers the socket's goodbye: "PostgreSQL is back".)
    assert [record.getMessage() for record in caplog.records if "unreachable" in record.getMessage()] == [
        "PostgreSQL is unreachable (OperationalError: connection failed: Connection refused); "
        "answering 503 and closing new sockets with 4503 until it is back"
    ]
