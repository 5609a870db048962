"""
A real browser for the tests of what a person sees: headless Chromium
(Debian's, at CHROMIUM) driven by playwright. The ``browser`` fixture skips
a test without either, and fails it on CI, which must run them.
"""

import os

import pytest

try:
    from playwright.async_api import async_playwright, expect
except ImportError:  # checked by the fixture, which says what is missing
    async_playwright = expect = None

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def require(condition: bool, reason: str):
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
async def browser():
    """Headless Chromium, closed after the test (skipped without playwright or Chromium, failed on CI)."""
    require(async_playwright is not None, "the playwright package is not installed (requirements-dev.txt)")
    require(os.path.exists(CHROMIUM), f"no Chromium at {CHROMIUM} (set CHROMIUM to its path)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()
