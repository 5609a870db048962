"""The test suite; fixtures come from the plugins in tests/plugins/ (see tests/conftest.py)."""

from pathlib import Path

# The project's folder: server processes run there, and tests read its files.
ROOT = Path(__file__).resolve().parent.parent
