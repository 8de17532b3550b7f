"""Pilot tests of the dashboard, the matrix, the facts explorer, help, the palette and the profile switch."""

from __future__ import annotations

import json

from textual.command import CommandPalette
from textual.widgets import DataTable
from tuikit import drive, session, settle

from offhost_audit.tui.app import build_app
from offhost_audit.tui.session import Session


def _faults(tmp_path):
    """A facts file of the lab's faults scenario (collected once per test session by the live-audit test's helper)."""
    from offhost_audit.lab import demo

    r = demo.run_scenario("faults")
    p = tmp_path / "faults.json"
    p.write_text(json.dumps(r["facts"]), encoding="utf-8")
    return p


def _cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def test_dashboard_counts_and_proxy_verdicts():
    seen = {}

    async def body(app, pilot):
        seen["counts"] = str(app.screen.query_one("#counts").render())
        seen["proxies"] = _cells(app.screen.query_one("#proxies", DataTable))
        seen["titles"] = str(app.screen.query_one("#rule-titles").render())
        await pilot.press("enter")  # the first proxy: its failures and unknowns
        await settle(app, pilot)
        seen["mode"] = app.current_mode
        seen["rows"] = [app.index.findings[i]["rule_id"] for i in app.screen.view_rows]
        await pilot.press("escape")  # clears the restriction
        await settle(app, pilot)
        await pilot.press("escape")  # back to the dashboard
        await settle(app, pilot)
        seen["back"] = app.current_mode

    drive(session("csv-cluster-problems.json"), body)
    assert "33 findings" in seen["counts"] and "fail 6" in seen["counts"] and "critical 1" in seen["counts"]
    assert seen["proxies"] == [
        [
            "PROXY01",
            "not ready",
            "not ready for cluster HVCL01 (OHP-011, OHP-012, OHP-013), cluster HVCL02 (OHP-010, OHP-013)",
        ]
    ]
    assert "OHP-010 Off-host proxy is not a node of the CSV cluster\n" in seen["titles"]  # rule titles beside IDs
    assert seen["mode"] == "findings"
    assert seen["rows"] == ["OHP-010", "OHP-011", "OHP-012", "OHP-013", "OHP-013", "OHP-013"]
    assert seen["back"] == "dashboard"


def test_manifest_failure_jumps_to_the_findings_it_made_unknown(tmp_path):
    s = Session.from_facts_file(str(_faults(tmp_path)))
    seen = {}

    async def body(app, pilot):
        table = app.screen.query_one("#failures", DataTable)
        seen["failures"] = _cells(table)
        seen["verdicts"] = _cells(app.screen.query_one("#proxies", DataTable))
        table.focus()
        row = next(i for i, r in enumerate(seen["failures"]) if r[0] == "PROXY71" and r[1] == "winrm.storage")
        table.move_cursor(row=row)
        await pilot.press("enter")
        await settle(app, pilot)
        seen["mode"] = app.current_mode
        seen["rows"] = [
            (app.index.findings[i]["rule_id"], app.index.findings[i]["status"]) for i in app.screen.view_rows
        ]
        seen["detail"] = app.screen.query_one("#detail-body").render().plain

    drive(s, body)
    assert any(
        r[:3] == ["PROXY71", "winrm.storage", "error"] and "Get-Disk : Access denied" in r[3] for r in seen["failures"]
    )
    assert any(r[0] == "HV73" and r[2] == "error" and "cannot connect" in r[3] for r in seen["failures"])
    assert {r[0]: r[1] for r in seen["verdicts"]} == {"PROXY71": "unknown", "PROXY72": "unknown"}
    assert seen["mode"] == "findings"
    assert seen["rows"] == [("OHP-011", "unknown")]  # PROXY71's disks were not read: only the LUN rule is undecided
    # its remediation: how to get the fact (the collector was denied), not how to zone LUNs
    assert "The audit account may not read this on PROXY71" in " ".join(seen["detail"].split())
    assert "Zone or map the CSV LUNs" not in seen["detail"]


def test_matrix_cells_and_a_cell_opens_its_findings():
    seen = {}

    async def body(app, pilot):
        await pilot.press("4")
        await settle(app, pilot)
        table = app.screen.query_one("#matrix-table", DataTable)
        seen["header"] = [str(c.label) for c in table.columns.values()]
        seen["cells"] = _cells(table)
        col = seen["header"].index("cluster HVCL02")
        table.move_cursor(row=0, column=col)
        await settle(app, pilot)
        seen["cell_line"] = str(app.screen.query_one("#matrix-cell").render())
        await pilot.press("enter")
        await settle(app, pilot)
        seen["mode"] = app.current_mode
        seen["rows"] = sorted({app.index.findings[i]["rule_id"] for i in app.screen.view_rows})
        seen["subjects"] = {
            (
                app.index.findings[i]["subject"]["kind"],
                app.index.findings[i]["subject"].get("cluster") or app.index.findings[i]["subject"].get("host"),
            )
            for i in app.screen.view_rows
        }
        seen["status"] = str(app.screen.query_one("#findings-status").render())

    drive(session("csv-cluster-problems.json"), body)
    h = seen["header"]
    assert h == ["proxy \\ source", "cluster HVCL01", "cluster HVCL02"]  # the nodes' findings count in their cluster
    row = dict(zip(h, seen["cells"][0]))
    assert row["proxy \\ source"] == "PROXY01"
    assert row["cluster HVCL01"] == "✘ 011,012,013"  # OHP-013 fails on node HV01
    assert row["cluster HVCL02"] == "✘ 010,013"
    assert "PROXY01 × cluster HVCL02: not ready: OHP-010, OHP-013" in seen["cell_line"]
    assert seen["mode"] == "findings"
    assert "OHP-010" in seen["rows"] and "OHP-001" in seen["rows"]  # the cell's own and the proxy-wide rules
    # the proxy's own findings, the cluster's, and those of its nodes (PROXY01 and HV03) and their VMs
    assert {k for k, _ in seen["subjects"]} >= {"proxy", "proxy_cluster", "vm"}
    assert {n for _, n in seen["subjects"]} <= {None, "HVCL02", "PROXY01", "HV03"}
    assert "PROXY01 × cluster HVCL02" in seen["status"]


def test_matrix_healthy_estate_is_ready():
    seen = {}

    async def body(app, pilot):
        await pilot.press("4")
        await settle(app, pilot)
        seen["cells"] = _cells(app.screen.query_one("#matrix-table", DataTable))

    drive(session("csv-cluster-healthy.json"), body)
    assert seen["cells"] and all(c in ("✔ ready", "·") for c in seen["cells"][0][1:])


def test_facts_explorer_is_lazy_and_searchable():
    seen = {}

    async def body(app, pilot):
        await pilot.press("3")
        await settle(app, pilot)
        tree = app.screen.query_one("#facts-tree")
        hosts = next(n for n in tree.root.children if n.data == ("hosts",))
        seen["lazy"] = len(hosts.children)  # not built until opened
        await pilot.press("slash", *"dedup_enabled", "enter")
        await settle(app, pilot)
        seen["node"] = tree.cursor_node.data
        seen["status"] = str(app.screen.query_one("#facts-status").render())
        seen["built"] = len(hosts.children)
        await pilot.press("n")
        await settle(app, pilot)
        seen["next"] = tree.cursor_node.data

    drive(session("csv-cluster-problems.json"), body)
    assert seen["lazy"] == 0
    assert seen["node"][0] == "clusters" and seen["node"][-1] == "dedup_enabled"
    assert "match 1/" in seen["status"]
    assert seen["next"] != seen["node"] and seen["next"][-1] == "dedup_enabled"


def test_help_palette_and_profile_switch():
    seen = {}

    async def body(app, pilot):
        await pilot.press("question_mark")
        await settle(app, pilot)
        seen["help"] = type(app.screen).__name__
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        seen["palette"] = isinstance(app.screen, CommandPalette)
        await pilot.press(*"proxy eligibility")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        seen["mode"] = app.current_mode
        before = {f["rule_id"]: f["severity"] for f in app.session.findings}
        await pilot.press("P")
        await settle(app, pilot)
        seen["picker"] = type(app.screen).__name__
        await pilot.press("down", "enter")  # veeam-2025-08 -> veeam-2026-02
        await settle(app, pilot)
        after = {f["rule_id"]: f["severity"] for f in app.session.findings}
        seen["severity"] = (before["OHP-002"], after["OHP-002"])
        seen["profile"] = app.session.current_profile()
        seen["title"] = str(app.screen.query_one("#matrix-title").render())

    drive(session("csv-cluster-problems.json"), body)
    assert seen["help"] == "HelpScreen"
    assert seen["palette"]
    assert seen["mode"] == "matrix"
    assert seen["picker"] == "ProfileScreen"
    assert seen["severity"] == ("high", "info")
    assert seen["profile"] == "veeam-2026-02" and "profile veeam-2026-02" in seen["title"]


def test_every_binding_action_is_in_the_palette():
    s = session("csv-cluster-healthy.json")
    app = build_app(s)
    names = [n for n, _, _ in app.palette_commands()]
    for want in (
        "Go to dashboard",
        "Go to findings",
        "Go to facts explorer",
        "Go to proxy eligibility matrix",
        "Go to live audit",
        "Toggle hide passes",
        "Toggle hide waived",
        "Waive the selected finding",
        "Export the current view as a report",
        "Jump to the facts of the selected finding",
        "Open the doc link of the selected finding",
        "Switch profile",
        "Re-run the live audit",
        "Help: keys and filter syntax",
        "Sort findings by message",
        "Profile: veeam-2026-02",
    ):
        assert want in names


def test_a_large_estate_shows_the_matrix_as_pairs_most_urgent_first():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import estate

    from offhost_audit import audit
    from offhost_audit.tui.screens.matrix import MAX_GRID_COLUMNS

    doc = estate.generate(320)  # 64 sources: more than a grid shows
    s = Session(doc, audit.evaluate_facts(doc), source="generated")
    seen = {}

    async def body(app, pilot):
        await pilot.press("4")
        await settle(app, pilot)
        table = app.screen.query_one("#matrix-table", DataTable)
        seen["columns"] = len(app.screen.model.columns)
        seen["header"] = [str(c.label) for c in table.columns.values()]
        seen["rows"] = _cells(table)
        seen["note"] = str(app.screen.query_one("#matrix-cell").render())
        await pilot.press("enter")
        await settle(app, pilot)
        seen["mode"] = app.current_mode
        seen["opened"] = {app.index.findings[i]["status"] for i in app.screen.view_rows}

    drive(s, body)
    assert seen["columns"] > MAX_GRID_COLUMNS
    assert seen["header"] == ["proxy", "source", "state"]
    states = [r[2][0] for r in seen["rows"]]
    assert states == sorted(states, key="✘?!✔".index) and states[0] == "✘"  # not ready, unknown, warnings, ready
    assert "not ready: OHP-" in seen["note"]  # the highlighted pair, described
    assert seen["mode"] == "findings" and "fail" in seen["opened"]
