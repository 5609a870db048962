"""The production server command tunes the interpreter; importing the application does not."""

import sys

import backend.asgi  # noqa: F401  (imported for its side effects, or their absence)
from core.runtime import serve


def test_importing_the_application_leaves_the_switch_interval_alone():
    assert sys.getswitchinterval() == 0.005


def test_server_command_sets_the_switch_interval_then_runs_daphne(monkeypatch):
    calls = []
    monkeypatch.setenv("GIL_SWITCH_INTERVAL", "0.002")
    monkeypatch.setattr(sys, "setswitchinterval", lambda value: calls.append(("interval", value)))
    monkeypatch.setattr(serve.CommandLineInterface, "entrypoint", classmethod(lambda cls: calls.append("daphne")))
    serve.main()
    assert calls == [("interval", 0.002), "daphne"]
