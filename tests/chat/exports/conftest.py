"""Fixtures of the data export tests: builds run when the test says (``built``), not on the queue."""

import pytest


@pytest.fixture
def queued(monkeypatch):
    """The export ids queued for building; nothing is built until the test calls ``export_build``."""
    ids: list = []
    monkeypatch.setattr("chat.exports.services.export_enqueue", lambda *, export_id: ids.append(export_id))
    return ids


@pytest.fixture
def built(queued):
    """``built(export)``: build it now, as the worker would; the export as it is then."""
    from chat.exports.services import export_build
    from chat.models import DataExport

    def build(export):
        export_build(export_id=export.id)
        return DataExport.objects.get(id=export.id)

    return build
