"""Shared fixtures for the reports/history/waivers/diff tests: real findings from the real engine."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "facts"


@pytest.fixture(scope="session")
def evaluated():
    """{example name: (facts, findings)} for the shipped example facts, evaluated once."""
    from offhost_audit import audit

    out = {}
    for p in sorted(EXAMPLES.glob("*.json")):
        found, _ = audit.evaluate_file(p)
        out[p.stem] = (json.loads(p.read_text()), found)
    return out


@pytest.fixture
def problems(evaluated):
    facts, found = evaluated["csv-cluster-problems"]
    return copy.deepcopy(facts), copy.deepcopy(found)


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
