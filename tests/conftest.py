"""
Every test's fixtures, from small plugins in tests/plugins/ (listed there
with what each holds); factories for rows are in tests/factories.py.
"""

pytest_plugins = [
    "tests.plugins.database",
    "tests.plugins.frames",
    "tests.plugins.isolation",
    "tests.plugins.users",
    "tests.plugins.conversations",
    "tests.plugins.sockets",
    "tests.plugins.clocks",
    "tests.plugins.servers",
    "tests.plugins.browsers",
    "tests.plugins.faults",
    "tests.plugins.receivers",
]
