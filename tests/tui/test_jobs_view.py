"""Pilot tests of the Jobs view (7) and the dashboard's jobs at risk: what each job does tonight,
the filter, the drill-down to the findings that block it, and an estate with no jobs read."""

from __future__ import annotations

from textual.widgets import DataTable
from tuikit import HOSTILE, drive, jobs_at_risk_facts, session, settle

from offhost_audit.tui.session import Session


def _cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _subjects(app) -> list[tuple[str, str]]:
    return sorted(
        (app.index.findings[i]["rule_id"], app.index.findings[i]["subject"]["name"]) for i in app.screen.view_rows
    )


def test_jobs_view_says_what_each_job_does_tonight_and_opens_what_blocks_it(tmp_path):
    seen = {}

    async def body(app, pilot):
        await pilot.press("7")
        await settle(app, pilot)
        seen["mode"] = app.current_mode
        seen["rows"] = _cells(app.screen.query_one("#jobs-table", DataTable))
        seen["status"] = str(app.screen.query_one("#jobs-status").render())
        await pilot.press("down")
        await settle(app, pilot)
        seen["detail"] = str(app.screen.query_one("#jobs-detail").render())
        await pilot.press("enter")
        await settle(app, pilot)
        seen["drill"] = (app.current_mode, _subjects(app))
        await pilot.press("escape", "escape")
        await settle(app, pilot)
        seen["back"] = app.current_mode

    drive(Session.from_facts_file(str(jobs_at_risk_facts(tmp_path))), body)
    assert seen["mode"] == "jobs"
    assert seen["rows"] == [
        ["SQL pinned", "vm SQL01", "fails", "PROXY01: blocked by OHP-010"],
        ["Nightly", "cluster HVCL01", "falls back to on-host", "PROXY01: blocked by OHP-010"],
    ]
    assert seen["status"] == "Jobs: 2 of 2 at risk (1 fails, 1 falls back to on-host, 0 unknown); 0 off-host"
    assert seen["detail"].splitlines() == [
        "job Nightly  falls back to on-host; proxies: automatic selection; fail-over to on-host on",
        "cluster HVCL01: runs on-host tonight, silently (fail-over to on-host is on)",
        "  PROXY01: blocked by OHP-010",
        "Enter: the 2 finding(s) behind it",
    ]
    assert seen["drill"] == ("findings", [("OHP-010", "PROXY01 -> HVCL01"), ("OHP-040", "Nightly -> cluster HVCL01")])
    assert seen["back"] == "jobs"


def test_the_jobs_filter_narrows_the_rows(tmp_path):
    seen = {}

    async def body(app, pilot):
        await pilot.press("7")
        await settle(app, pilot)
        await pilot.press("slash", *"silently")
        await settle(app, pilot)
        seen["silently"] = [r[0] for r in _cells(app.screen.query_one("#jobs-table", DataTable))]
        seen["status"] = str(app.screen.query_one("#jobs-status").render())
        app.screen.query_one("#jobs-filter").value = '"sql pinned" proxy01'
        await settle(app, pilot)
        seen["quoted"] = [r[0] for r in _cells(app.screen.query_one("#jobs-table", DataTable))]
        app.screen.query_one("#jobs-filter").value = "OHP-023"
        await settle(app, pilot)
        seen["none"] = _cells(app.screen.query_one("#jobs-table", DataTable))

    drive(Session.from_facts_file(str(jobs_at_risk_facts(tmp_path))), body)
    assert seen["silently"] == ["Nightly"]
    assert "filter: 1 of 2 rows" in seen["status"]
    assert seen["quoted"] == ["SQL pinned"]
    assert seen["none"] == [["no job matches the filter", "", "", ""]]


def test_the_dashboard_lists_the_jobs_at_risk_first(tmp_path):
    seen = {}

    async def body(app, pilot):
        seen["title"] = str(app.screen.query_one("#jobs-title").render())
        table = app.screen.query_one("#jobs-at-risk", DataTable)
        seen["rows"] = _cells(table)
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("enter")
        await settle(app, pilot)
        seen["drill"] = _subjects(app)

    drive(Session.from_facts_file(str(jobs_at_risk_facts(tmp_path))), body)
    assert seen["title"].startswith("Jobs: 2 of 2 at risk (1 fails, 1 falls back to on-host")
    assert seen["rows"] == [
        ["SQL pinned", "vm SQL01", "the job fails (fail-over to on-host is off)", "PROXY01: blocked by OHP-010"],
        [
            "Nightly",
            "cluster HVCL01",
            "runs on-host tonight, silently (fail-over to on-host is on)",
            "PROXY01: blocked by OHP-010",
        ],
    ]
    assert seen["drill"] == [("OHP-010", "PROXY01 -> HVCL01"), ("OHP-040", "Nightly -> cluster HVCL01")]


def test_the_healthy_jobs_are_off_host_and_the_dashboard_lists_none_at_risk():
    seen = {}

    async def body(app, pilot):
        seen["dash"] = (
            str(app.screen.query_one("#jobs-title").render()),
            _cells(app.screen.query_one("#jobs-at-risk", DataTable)),
        )
        await pilot.press("7")
        await settle(app, pilot)
        seen["rows"] = _cells(app.screen.query_one("#jobs-table", DataTable))

    drive(session("csv-cluster-jobs.json"), body)
    assert seen["dash"] == (
        "Jobs: 0 of 2 at risk (0 fails, 0 falls back to on-host, 0 unknown); 2 off-host  (7: every job)",
        [["none at risk", "", "", ""]],
    )
    assert seen["rows"] == [
        ["Nightly", "cluster HVCL01", "off-host", "off-host through PROXY01"],
        ["SQL pinned", "vm SQL01", "off-host", "off-host through PROXY01"],
    ]


def test_without_jobs_the_view_and_the_dashboard_say_where_jobs_come_from():
    seen = {}

    async def body(app, pilot):
        seen["dash"] = str(app.screen.query_one("#jobs-title").render())
        await pilot.press("7")
        await settle(app, pilot)
        seen["rows"] = _cells(app.screen.query_one("#jobs-table", DataTable))
        seen["status"] = str(app.screen.query_one("#jobs-status").render())

    drive(session("csv-cluster-problems.json"), body)
    no_jobs = "no jobs read from the backup server (discover/--backup-server reads them)"
    assert seen["dash"] == "Jobs: " + no_jobs
    assert seen["rows"] == [[no_jobs, "", "", ""]]
    assert seen["status"] == "Jobs: " + no_jobs


def test_a_hostile_job_name_shows_as_text(tmp_path):
    seen = {}

    async def body(app, pilot):
        await pilot.press("7")
        await settle(app, pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        seen["cell"] = table.get_row_at(1)[0]
        table.move_cursor(row=1)
        await settle(app, pilot)
        seen["detail"] = app.screen.query_one("#jobs-detail").render()

    drive(Session.from_facts_file(str(jobs_at_risk_facts(tmp_path, rename="Nightly" + HOSTILE))), body)
    shown = "Nightly[bold red]PWN[/]\ufffd]0;owned\ufffd\ufffd[2J"
    assert seen["cell"].plain == shown and not seen["cell"].spans[1:]
    assert shown in seen["detail"].plain and "\x1b" not in seen["detail"].plain
    assert not any(seen["detail"].plain[s.start : s.end] == "PWN" for s in seen["detail"].spans)


def test_an_s2d_cluster_shows_why_its_jobs_run_on_host(tmp_path):
    import json

    from tuikit import EXAMPLES

    doc = json.loads((EXAMPLES / "csv-cluster-jobs.json").read_text(encoding="utf-8"))
    doc["clusters"][0]["s2d_enabled"] = True
    p = tmp_path / "s2d.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    seen = {}

    async def body(app, pilot):
        await pilot.press("7")
        await settle(app, pilot)
        seen["rows"] = _cells(app.screen.query_one("#jobs-table", DataTable))
        seen["detail"] = str(app.screen.query_one("#jobs-detail").render()).splitlines()

    drive(Session.from_facts_file(str(p)), body)
    s2d = "cluster HVCL01: Storage Spaces Direct, processed on-host only (OHP-043)"
    assert seen["rows"][0] == ["Nightly", "cluster HVCL01", "falls back to on-host", s2d]
    assert seen["detail"][2:4] == ["  PROXY01: ready", "  " + s2d]
