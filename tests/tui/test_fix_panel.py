"""`F` shows the fix: for the highlighted finding (findings view) and for the highlighted proxy
(dashboard). Read-only: the panel writes nothing, and names the command that writes the folder."""

from __future__ import annotations

from tuikit import drive, hostile_facts, session, settle

from offhost_audit.tui.screens.fix import FixScreen
from offhost_audit.tui.session import Session


def _panel(app) -> str:
    assert isinstance(app.screen, FixScreen)
    return str(app.screen.query_one("#fix-text").render())


def test_fix_for_a_finding_and_for_a_proxy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seen = {}

    async def body(app, pilot):
        await pilot.press("F")  # dashboard, proxies table focused: the proxy's fixes
        await settle(app, pilot)
        seen["host"] = _panel(app)
        await pilot.press("escape")
        await pilot.press("2")
        await settle(app, pilot)
        f = app.screen.current
        seen["finding"] = (f["rule_id"], f["status"])
        await pilot.press("F")
        await settle(app, pilot)
        seen["panel"] = _panel(app)
        await pilot.press("escape")
        seen["closed"] = not isinstance(app.screen, FixScreen)

    drive(session("csv-cluster-problems.json"), body)
    assert "Fixes on PROXY01" in seen["host"]
    assert "Install-ProxyFeature.ps1" in seen["host"] and "never evict the node" in seen["host"]
    assert "offhost-audit fix -o DIR" in seen["host"]
    assert f"Fix for {seen['finding'][0]}" in seen["panel"]
    assert seen["closed"]
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_host_text_in_the_panel_is_never_markup(tmp_path):
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("F")
        await settle(app, pilot)
        seen["panel"] = _panel(app)

    drive(Session.from_facts_file(str(hostile_facts(tmp_path))), body)
    assert "\x1b" not in seen["panel"]
