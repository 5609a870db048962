"""The production server command tunes the interpreter; importing the application does not."""

import gc
import sys

import backend.asgi  # noqa: F401  (imported for its side effects, or their absence)
from core.runtime import serve


def test_importing_the_application_leaves_the_switch_interval_alone():
    assert sys.getswitchinterval() == 0.005


def test_server_command_sets_the_switch_interval_then_runs_daphne(monkeypatch):
    from twisted.internet import reactor

    calls = []
    monkeypatch.setenv("GIL_SWITCH_INTERVAL", "0.002")
    monkeypatch.setenv("GC_GEN0_THRESHOLD", "5000")
    monkeypatch.setattr(sys, "setswitchinterval", lambda value: calls.append(("interval", value)))
    monkeypatch.setattr(reactor, "callWhenRunning", lambda *call: calls.append(call))
    monkeypatch.setattr(serve.CommandLineInterface, "entrypoint", classmethod(lambda cls: calls.append("daphne")))
    serve.main()
    assert calls == [("interval", 0.002), (serve.tune_collector, 5000), "daphne"]


def test_the_collector_keeps_startup_objects_out_and_collects_young_ones_less_often():
    before = gc.get_threshold()
    try:
        serve.tune_collector(7000)
        assert gc.get_freeze_count() > 10_000, "what startup made is frozen"
        assert gc.get_threshold() == (7000, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
