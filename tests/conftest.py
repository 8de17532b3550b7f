"""Suite-wide: runs that the CLI stores in the history go to a temporary data directory, never the
user's (offhost_audit.store.history.default_db_path follows XDG_DATA_HOME through platformdirs), and the
policy cache (offhost_audit.engine.policy_cache, XDG_CACHE_HOME) to a temporary cache directory."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.getbasetemp() / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


def pytest_runtest_makereport(item, call):
    """In CI (CI=true) a skipped test is a failure: CI installs every server and package the suite
    needs (scripts/test-deps, make venv), so a skip there means a missing install step."""
    import os

    if not os.environ.get("CI") or call.excinfo is None or not call.excinfo.errisinstance(pytest.skip.Exception):
        return None
    from _pytest.reports import TestReport

    report = TestReport.from_item_and_call(item, call)
    report.outcome = "failed"
    report.longrepr = f"skipped in CI, which must install what this test needs: {call.excinfo.value}"
    return report


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The same for a whole module skipped at collection (``pytest.importorskip``)."""
    import os

    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"{collector.nodeid}: skipped in CI, which must install what it needs: {report.longrepr}"


# --- real findings from the real engine, for the report and run-store tests ---------------------------
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "facts"


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
