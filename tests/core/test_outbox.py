"""The outbox: events leave after commit, through one publish function, never after a rollback."""

import pytest
from django.db import transaction

from core import outbox as outbox_module
from core.outbox import Outbox, carry_out, with_outbox

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published(monkeypatch) -> list:
    """Every (group, event) that reaches the channel layer, in order."""
    seen = []

    async def publish(group, event):
        seen.append((group, event["type"]))

    monkeypatch.setattr(outbox_module, "publish", publish)
    return seen


def emit_in_transaction(*, outbox: Outbox, fail: bool = False):
    with transaction.atomic():
        outbox.emit("g", {"type": "one"})
        outbox.emit("g", {"type": "two"})
        if fail:
            raise RuntimeError("rolled back")
    return "done"


def test_events_wait_for_the_flush_and_keep_their_order(published):
    box = Outbox()
    emit_in_transaction(outbox=box)
    assert published == [], "nothing leaves before the flush"
    box.flush_sync()
    assert published == [("g", "one"), ("g", "two")]
    box.flush_sync()
    assert len(published) == 2, "a flush empties the outbox"


def test_rolled_back_events_are_never_published(published):
    with pytest.raises(RuntimeError):
        with_outbox(emit_in_transaction)(fail=True)
    assert published == []


def test_committed_events_are_published_even_when_the_service_fails_later(published):
    def commit_then_fail(*, outbox):
        with transaction.atomic():
            outbox.emit("g", {"type": "saved"})
        raise RuntimeError("after the commit")

    with pytest.raises(RuntimeError):
        with_outbox(commit_then_fail)()
    assert published == [("g", "saved")]


def test_inside_an_outer_transaction_events_wait_for_its_commit(published):
    with transaction.atomic():
        with_outbox(emit_in_transaction)()
        assert published == []
    assert published == [("g", "one"), ("g", "two")]


def test_a_service_called_without_an_outbox_publishes_before_returning(published):
    service = with_outbox(emit_in_transaction)
    assert service() == "done"
    assert published == [("g", "one"), ("g", "two")]


def test_a_service_given_an_outbox_leaves_publishing_to_the_caller(published):
    box = Outbox()
    with_outbox(emit_in_transaction)(outbox=box)
    assert published == []
    assert [event["type"] for _, event in box.take()] == ["one", "two"]


async def test_carry_out_publishes_from_the_event_loop_after_the_worker_thread_commits(published):
    result, box = await carry_out(with_outbox(emit_in_transaction))
    assert result == "done" and box.failed == []
    assert published == [("g", "one"), ("g", "two")]


async def test_carry_out_awaits_a_coroutine_service_and_keeps_what_it_emits_outside_a_transaction(published):
    async def committed_already(*, outbox):
        outbox.emit("g", {"type": "saved"})  # on the event loop: no Django transaction, kept at once
        assert published == [], "still nothing leaves before the flush"
        return "sent"

    assert (await carry_out(committed_already))[0] == "sent"
    assert published == [("g", "saved")]


async def test_events_of_a_failed_coroutine_service_that_committed_are_still_published(published):
    async def commit_then_fail(*, outbox):
        outbox.emit("g", {"type": "saved"})
        raise RuntimeError("after the commit")

    with pytest.raises(RuntimeError):
        await carry_out(commit_then_fail)
    assert published == [("g", "saved")]


async def test_a_failed_publish_is_kept_logged_once_and_the_rest_still_go(monkeypatch, caplog):
    seen = []

    async def flaky(group, event):
        if event["type"] == "one":
            raise ConnectionError("redis went away")
        seen.append(event["type"])

    monkeypatch.setattr(outbox_module, "publish", flaky)
    _, box = await carry_out(with_outbox(emit_in_transaction))
    assert seen == ["two"]
    assert [event["type"] for _, event in box.failed] == ["one"]
    assert "Redis is unreachable (ConnectionError: redis went away)" in caplog.text
    assert "Redis is back" in caplog.text  # "two" went through
    assert "Traceback" not in caplog.text


async def test_a_publish_failing_for_another_reason_is_logged_with_its_traceback(monkeypatch, caplog):
    async def broken(group, event):
        raise ValueError("not serialisable")

    monkeypatch.setattr(outbox_module, "publish", broken)
    _, box = await carry_out(with_outbox(emit_in_transaction))
    assert len(box.failed) == 2
    assert "Could not publish one to g" in caplog.text and "ValueError" in caplog.text
