"""Fixtures of the report tests (the shipped examples' findings, ``evaluated``, are in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "facts"


@pytest.fixture(scope="module")
def chrome():
    """Headless Debian chromium through chromedriver (see browser.py); one per test module."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "support"))  # sample.py, browser.py (no conftest there)
    import browser

    browser.require()
    drv = browser.driver()
    yield drv
    drv.quit()
