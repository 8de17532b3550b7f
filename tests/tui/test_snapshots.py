"""Snapshots (pytest-textual-snapshot) of each main screen at 120x40 and 80x24.

Deterministic: a shipped facts file, a fixed title, no cursor blink, workers awaited before the
screenshot. Update with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input
from tuikit import session, settle

from offhost_audit.tui.app import build_app

SIZES = [(120, 40), (80, 24)]


def _app():
    return build_app(session("csv-cluster-problems.json"))


def _before(*keys: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        for k in keys:
            await pilot.press(k)
            await settle(app, pilot)
        for inp in app.screen.query(Input):
            inp.cursor_blink = False
        await settle(app, pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_before())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_findings_with_detail(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_before("2", "down"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_facts_after_jump_from_a_finding(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_before("2", "e"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_proxy_matrix(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_before("4", "right", "right"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_findings_detail_zoomed_and_scrolled(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_before("2", "z", "pagedown"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_jobs_at_risk(snap_compare, size, tmp_path):
    from tuikit import jobs_at_risk_facts

    from offhost_audit.tui.session import Session

    s = Session.from_facts_file(str(jobs_at_risk_facts(tmp_path)))
    s.source = "facts jobs-at-risk.json"
    assert snap_compare(build_app(s), terminal_size=size, run_before=_before("7", "down"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_with_jobs_at_risk(snap_compare, size, tmp_path):
    from tuikit import jobs_at_risk_facts

    from offhost_audit.tui.session import Session

    s = Session.from_facts_file(str(jobs_at_risk_facts(tmp_path)))
    s.source = "facts jobs-at-risk.json"
    assert snap_compare(build_app(s), terminal_size=size, run_before=_before())
