"""Pilot tests of the findings screen: filter as you type, toggles, sort, detail pane, jumps."""

from __future__ import annotations

from tuikit import drive, session, settle

from offhost_audit.tui.widgets.finding_detail import FindingDetail
from offhost_audit.tui.widgets.findings_list import FindingsList


def _rules(app):
    return [app.index.findings[i]["rule_id"] for i in app.screen.view_rows]


def _detail_text(app) -> str:
    return str(app.screen.query_one("#detail-body").render())


def test_filter_syntax_typed_after_slash():
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        assert app.current_mode == "findings"
        seen["default"] = _rules(app)  # passes hidden by default
        await pilot.press("slash", *"sev:critical")
        await settle(app, pilot)
        seen["critical"] = _rules(app)
        await pilot.press(*(["backspace"] * len("sev:critical")), *"rule:OHP-013 host:HV02")
        await settle(app, pilot)
        seen["combined"] = _rules(app)
        await pilot.press("ctrl+a", "ctrl+k", *"status:fail,pass dedup")
        await settle(app, pilot)
        seen["text"] = _rules(app)
        app.screen.query_one("#filter").value = "sev:hihg"  # one change: the last good view is the one above
        await settle(app, pilot)
        seen["error"] = str(app.screen.query_one("#findings-status").render())
        seen["after_error"] = _rules(app)

    drive(session("csv-cluster-problems.json"), body)
    assert seen["default"] == ["OHP-010", "OHP-011", "OHP-012", "OHP-013", "OHP-013", "OHP-013"]
    assert seen["critical"] == ["OHP-010"]
    assert seen["combined"] == ["OHP-013"]
    assert seen["text"] == ["OHP-012"]
    assert "unknown severity 'hihg'" in seen["error"]
    assert seen["after_error"] == ["OHP-012"]  # a bad filter keeps the last good view


def test_toggle_passes_and_sort_by_column():
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("p")
        await settle(app, pilot)
        seen["all"] = len(app.screen.view_rows)
        await pilot.press("s", "s")  # status -> severity -> rule
        await settle(app, pilot)
        lst = app.screen.query_one(FindingsList)
        seen["column"] = lst.sort_column
        seen["by_rule"] = _rules(app)
        await pilot.press("S")
        await settle(app, pilot)
        seen["reversed"] = _rules(app)
        await pilot.click(FindingsList, offset=(lst._widths(lst.size.width)[0] + 2, 0))  # the severity header
        await settle(app, pilot)
        seen["clicked"] = lst.sort_column

    drive(session("csv-cluster-problems.json"), body)
    assert seen["all"] == 33
    assert seen["column"] == "rule"
    assert seen["by_rule"] == sorted(seen["by_rule"])
    assert seen["reversed"] == sorted(seen["by_rule"], reverse=True)
    assert seen["clicked"] == "severity"


def test_detail_pane_follows_the_selection():
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        seen["first"] = _detail_text(app)
        await pilot.press("down")
        await settle(app, pilot)
        seen["second"] = _detail_text(app)
        await pilot.press("enter")
        await settle(app, pilot)
        seen["focus"] = type(app.focused).__name__
        await pilot.press("z")
        await settle(app, pilot)
        seen["maximized"] = app.screen.maximized is not None
        await pilot.press("escape")
        await settle(app, pilot)
        seen["minimized"] = app.screen.maximized is None

    drive(session("csv-cluster-problems.json"), body)
    first = seen["first"]
    assert "OHP-010 FAIL critical" in first and "Off-host proxy is not a node of the CSV cluster" in first
    assert "PROXY01 is a node of Hyper-V cluster HVCL02" in first  # the message with the actual values
    assert "clusters[HVCL02].nodes" in first and '["PROXY01", "HV03"]' in first  # evidence: path and value
    assert "Do not evict PROXY01 from HVCL02" in first  # remediation in full, with the real names
    assert "https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html" in first
    assert "About this rule" in first
    assert seen["second"].startswith("OHP-011 FAIL high")
    assert seen["focus"] == "FindingDetail"
    assert seen["maximized"] and seen["minimized"]


def test_remediation_wraps_at_80_columns_without_sideways_scrolling():
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        detail = app.screen.query_one(FindingDetail)
        seen["virtual"] = detail.virtual_size.width
        seen["width"] = detail.size.width
        seen["max_scroll_x"] = detail.max_scroll_x

    drive(session("csv-cluster-problems.json"), body, size=(80, 24))
    assert seen["max_scroll_x"] == 0 and seen["virtual"] <= seen["width"]


def test_e_jumps_to_the_facts_that_decided_it_and_escape_comes_back():
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("down")  # OHP-011: the LUN behind CSV Cluster Disk 2
        await pilot.press("e")
        await settle(app, pilot)
        seen["mode"] = app.current_mode
        tree = app.screen.query_one("#facts-tree")
        seen["node"] = tree.cursor_node.data
        seen["status"] = str(app.screen.query_one("#facts-status").render())
        await pilot.press("n")
        await settle(app, pilot)
        seen["next"] = tree.cursor_node.data
        await pilot.press("escape")
        await settle(app, pilot)
        seen["back"] = app.current_mode

    drive(session("csv-cluster-problems.json"), body)
    assert seen["mode"] == "facts"
    assert seen["node"] == ("clusters", 0, "csvs", 1, "disk_unique_ids")  # HVCL01 / Cluster Disk 2
    assert "evidence 1/" in seen["status"] and "clusters[HVCL01].csvs[Cluster Disk 2].disk_unique_ids" in seen["status"]
    assert seen["next"] == ("hosts", 0, "storage", "disks")
    assert seen["back"] == "findings"


def test_doc_link_is_copied_when_there_is_no_graphical_browser(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        seen["clip"] = app.clipboard
        seen["notes"] = [n.message for n in app._notifications]

    drive(session("csv-cluster-problems.json"), body)
    assert seen["clip"] == "https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html"
    assert any("copied" in m for m in seen["notes"])


def test_smb_rules_show_the_deciding_ace_and_jump_to_it():
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        app.screen.query_one("#filter").value = "rule:OHP-021 status:fail"
        await settle(app, pilot)
        seen["detail"] = _detail_text(app)
        await pilot.press("e")
        await settle(app, pilot)
        seen["paths"] = app.screen.matches

    drive(session("smb-estate.json"), body)
    d = seen["detail"]
    assert (
        "▶ shares[\\\\FS01\\VMS2].ntfs_acl[0] = deny CORP\\No-VM-Storage (S-1-5-21-1004336348-1177238915-682003330-1121) "
        "mask 0x120089 flags 0x3" in d
    )  # the deny ACE that decided it, as an admin reads it
    acl = [p for p in seen["paths"] if "ntfs_acl" in p]
    assert acl and isinstance(acl[0][-1], int)  # the ACE itself, by position
