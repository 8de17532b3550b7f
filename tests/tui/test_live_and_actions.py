"""Live audit on the lab (with injected faults), re-run, history; waive, export, --run."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from textual.widgets import DataTable
from tuikit import drive, session, settle

from offhost_audit import audit
from offhost_audit.cli import main
from offhost_audit.lab import demo
from offhost_audit.store import history, waivers
from offhost_audit.tui.session import Session

ROOT = Path(__file__).resolve().parents[2]


def _lab_session(name, db, **kw):
    return demo.serve(name), db, kw


def test_live_audit_on_the_faults_lab_shows_progress_errors_and_saves_the_run(tmp_path):
    db = str(tmp_path / "h.sqlite")
    seen = {}
    with demo.serve("faults") as (sc, inv, resolver):
        s = Session.empty_for_inventory(
            inv,
            source="lab faults",
            resolver=resolver,
            history_db=db,
            collect_options=audit.CollectOptions(call_timeout=5.0, target_timeout=30.0),
        )

        async def body(app, pilot):
            seen["mode"] = app.current_mode
            table = app.screen.query_one("#targets", DataTable)
            seen["rows"] = {
                str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)] for i in range(table.row_count)
            }
            seen["status"] = str(app.screen.query_one("#audit-status").render())
            seen["run1"] = s.run_id
            seen["unknown"] = sorted({f["rule_id"] for f in s.findings if f["status"] == "unknown"})
            seen["n_unknown"] = sum(f["status"] == "unknown" for f in s.findings)
            seen["n_fail"] = sum(f["status"] == "fail" for f in s.findings)
            seen["n"] = len(s.findings)
            table.move_cursor(row=list(seen["rows"]).index("PROXY71"))
            await pilot.press("t")  # re-run one target
            await settle(app, pilot)
            seen["run2"] = s.run_id
            seen["proxy71"] = [e for e in s.facts["collection"] if e["target"] == "PROXY71"]
            seen["others"] = len([e for e in s.facts["collection"] if e["target"] != "PROXY71"])
            seen["notes"] = [n.message for n in app._notifications]
            await pilot.press("2")
            await settle(app, pilot)
            seen["findings"] = len(app.screen.view_rows)

        drive(s, body, start_audit=True)
    rows = seen["rows"]
    assert seen["mode"] == "audit"
    assert rows["HV71"][1:5] == ["7/7", "winrm.smb_client", "ok", "0"]
    assert rows["HV73"][3:5] == ["failures", "7"] and "cannot connect" in rows["HV73"][5]
    assert rows["PROXY72"][3] == "failures" and "authentication failed (HTTP 401)" in rows["PROXY72"][5]
    assert "Access denied" in rows["PROXY71"][5]
    assert f"{seen['n']} findings, {seen['n_fail']} failing, {seen['n_unknown']} unknown" in seen["status"]
    assert seen["n_unknown"] >= 9 and "saved to history as run 1" in seen["status"]
    assert {"OHP-001", "OHP-011", "OHP-013"} <= set(seen["unknown"])
    assert seen["run1"] == "1" and seen["run2"] == "2"
    assert len(seen["proxy71"]) == 6 and seen["others"] > 20  # one target replaced, the rest kept
    assert not any("Traceback" in n for n in seen["notes"])
    assert seen["findings"] == seen["n_unknown"] + seen["n_fail"]  # passes and n/a hidden
    with history.History(db) as store:
        assert [r.id for r in store.runs()] == [2, 1]
        assert len(store.load(2).findings) == seen["n"]


def test_a_failed_live_audit_is_a_notification_not_a_traceback(tmp_path):
    inv_file = tmp_path / "inv.yaml"
    inv_file.write_text(
        yaml.safe_dump(
            {
                "defaults": {"credentials": {"username": "x", "password_env": "NO_SUCH_PASSWORD_VAR_I11"}},
                "proxies": [
                    {
                        "name": "PROXY01",
                        "address": "127.0.0.1",
                        "winrm": {"port": 9, "scheme": "http", "auth": "basic"},
                        "serves": [{"host": "HV01"}],
                    }
                ],
                "hyperv_hosts": [
                    {"name": "HV01", "address": "127.0.0.1", "winrm": {"port": 9, "scheme": "http", "auth": "basic"}}
                ],
            }
        ),
        encoding="utf-8",
    )
    from offhost_audit import inventory
    from offhost_audit.inventory.credentials import Resolver

    inv = inventory.load(str(inv_file))
    s = Session.empty_for_inventory(
        inv,
        source="unreachable",
        resolver=Resolver(env={"NO_SUCH_PASSWORD_VAR_I11": "x"}, interactive=False),
        history_db=str(tmp_path / "h.sqlite"),
        collect_options=audit.CollectOptions(call_timeout=2.0),
    )
    seen = {}

    async def body(app, pilot):
        seen["notes"] = [(n.severity, n.message) for n in app._notifications]
        seen["status"] = str(app.screen.query_one("#audit-status").render())
        seen["running"] = app.is_running

    drive(s, body, start_audit=True)
    assert seen["running"]
    assert any(sev == "error" and "nothing could be collected" in msg for sev, msg in seen["notes"]), seen["notes"]
    assert "audit failed: nothing could be collected" in seen["status"]


def test_waive_writes_the_waivers_file_and_the_finding_turns_waived(tmp_path):
    wfile = tmp_path / "waivers.yaml"
    s = session("csv-cluster-problems.json", waivers_path=str(wfile))
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("W")
        await settle(app, pilot)
        seen["form"] = type(app.screen).__name__
        await pilot.press(*"node evicted next week", "tab", *"jane.doe", "enter")
        await settle(app, pilot)
        seen["status"] = {f["rule_id"]: f["status"] for f in s.findings if f["subject"]["name"] == "PROXY01 -> HVCL02"}
        seen["rows"] = [app.index.findings[i]["rule_id"] for i in app.screen.view_rows]
        await pilot.press("w")  # hide waived
        await settle(app, pilot)
        seen["hidden"] = [app.index.findings[i]["rule_id"] for i in app.screen.view_rows]
        seen["notes"] = [n.message for n in app._notifications]

    drive(s, body)
    assert seen["form"] == "WaiveScreen"
    assert f"Waived OHP-010 for PROXY01 -> HVCL02: the waiver is in {wfile}" in seen["notes"]
    assert seen["status"]["OHP-010"] == "waived"
    wf = waivers.load(wfile)
    assert [(w.rule_id, w.subject, w.justification, w.approved_by) for w in wf.waivers] == [
        ("OHP-010", "PROXY01 -> HVCL02", "node evicted next week", "jane.doe")
    ]
    assert "OHP-010" in seen["rows"] and "OHP-010" not in seen["hidden"]


def test_waive_form_refuses_missing_fields(tmp_path):
    s = session("csv-cluster-problems.json", waivers_path=str(tmp_path / "w.yaml"))
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("W")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        seen["still"] = type(app.screen).__name__
        seen["error"] = str(app.screen.query_one("#waive-error").render())
        await pilot.press("escape")
        await settle(app, pilot)
        seen["after"] = type(app.screen).__name__

    drive(s, body)
    assert seen["still"] == "WaiveScreen" and "required" in seen["error"]
    assert seen["after"] == "FindingsScreen"
    assert not (tmp_path / "w.yaml").exists()


def test_export_writes_the_current_view_as_reports(tmp_path):
    out = tmp_path / "reports"
    s = session("csv-cluster-problems.json")
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        app.screen.query_one("#filter").value = "rule:OHP-013"
        await settle(app, pilot)
        await pilot.press("X")
        await settle(app, pilot)
        app.screen.query_one("#directory").value = str(out)
        seen["form"] = [str(w.render()) for w in app.screen.query("Static")][:2]
        app.screen.query_one("#formats").value = "json,csv,md"
        await pilot.press("enter")
        await settle(app, pilot)
        seen["notes"] = [n.message for n in app._notifications]
        seen["total"] = len(s.findings)

    drive(s, body)
    total = seen["total"]
    assert seen["form"] == [
        f"Export the 3 of {total} findings in this view",
        "Filtered: filter rule:OHP-013; passes and n/a hidden",
    ]
    assert any(
        n.startswith(f"Exported 3 of {total} findings (filtered: filter rule:OHP-013; passes and n/a hidden): ")
        and str(out / "latest.md") in n
        for n in seen["notes"]
    ), seen["notes"]
    assert f"a filtered view of {total} findings (filter rule:OHP-013" in (out / "latest.md").read_text(
        encoding="utf-8"
    )
    data = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    rules = [f["rule_id"] for f in (data if isinstance(data, list) else data.get("findings", []))]
    assert rules == ["OHP-013"] * 3
    assert (out / "latest.csv").read_text(encoding="utf-8").count("OHP-013") == 3


def test_exporting_every_finding_says_all(tmp_path):
    out = tmp_path / "reports"
    s = session("csv-cluster-healthy.json")
    seen = {}

    async def body(app, pilot):
        await pilot.press("2", "p")  # passes shown: the view is every finding
        await settle(app, pilot)
        await pilot.press("X")
        await settle(app, pilot)
        app.screen.query_one("#directory").value = str(out)
        app.screen.query_one("#formats").value = "md"
        await pilot.press("enter")
        await settle(app, pilot)
        seen["notes"] = [n.message for n in app._notifications]

    drive(s, body)
    n = len(s.findings)
    assert any(m.startswith(f"Exported all {n} findings: ") for m in seen["notes"]), seen["notes"]
    assert "filtered view" not in (out / "latest.md").read_text(encoding="utf-8")


def test_tui_opens_the_latest_run_or_a_given_run_from_history(tmp_path):
    db = str(tmp_path / "h.sqlite")
    from offhost_audit import audit

    for name in ("csv-cluster-healthy.json", "csv-cluster-problems.json"):
        found, _ = audit.evaluate_file(f"examples/facts/{name}")
        from offhost_audit import facts as facts_doc

        doc = facts_doc.loads(facts_doc.read_text(f"examples/facts/{name}"), source=name)
        audit.record_run(doc, found, db=db)
    latest = Session.from_history(None, db=db)
    first = Session.from_history("1", db=db)
    assert latest.run_id == "2" and sum(f["status"] == "fail" for f in latest.findings) == 6
    assert first.run_id == "1" and not any(f["status"] == "fail" for f in first.findings)
    assert latest.facts["hosts"]


def test_tui_command_errors_are_one_line_with_exit_2(tmp_path, capsys):
    assert main(["tui", "--facts", str(tmp_path / "missing.json")]) == 2
    assert main(["tui", "--run", "7", "--db", str(tmp_path / "empty.sqlite")]) == 2
    assert main(["tui", "--run", "latest", "--db", str(tmp_path / "empty.sqlite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("offhost-audit: ") for line in err)


def test_rerunning_one_target_never_keeps_its_stale_facts():
    from offhost_audit.assemble import merge_target

    old = {
        "hosts": [
            {"name": "PROXY71", "storage": {"disks": [1]}, "os": {"build": 20348}},
            {"name": "HV71", "storage": {"disks": [2]}},
        ],
        "vms": [{"name": "VM1", "host": "PROXY71"}, {"name": "VM2", "host": "HV71"}],
        "collection": [
            {"target": "PROXY71", "collector": "winrm.storage", "status": "ok"},
            {"target": "HV71", "collector": "winrm.storage", "status": "ok"},
        ],
        "warnings": ["old"],
    }
    new = {
        "hosts": [{"name": "PROXY71", "storage": None, "os": {"build": 20348}}],
        "vms": [],
        "collection": [{"target": "PROXY71", "collector": "winrm.storage", "status": "error"}],
        "warnings": [],
    }
    merged = merge_target(old, new, "PROXY71")
    hosts = {h["name"]: h for h in merged["hosts"]}
    assert hosts["PROXY71"]["storage"] is None  # unknown now, not last run's disks
    assert hosts["HV71"]["storage"] == {"disks": [2]}
    assert [v["name"] for v in merged["vms"]] == ["VM2"]
    assert [(e["target"], e["status"]) for e in merged["collection"]] == [("HV71", "ok"), ("PROXY71", "error")]
    assert merged["warnings"] == []


def test_a_tui_session_on_opas_engine_judges_like_the_embedded_one_and_records_it(tmp_path):
    """`tui --engine opa`: the session evaluates, re-evaluates and records with OPA's engine."""
    from offhost_audit.store.history import History

    db = str(tmp_path / "h.sqlite")
    name = "csv-cluster-problems.json"
    embedded = Session.from_facts_file(f"examples/facts/{name}", history_db=db)
    opa = Session.from_facts_file(f"examples/facts/{name}", history_db=db, engine="opa")
    assert opa.findings == embedded.findings and any(f["status"] == "fail" for f in opa.findings)
    opa.reevaluate("veeam-2025-08")
    assert opa.findings == embedded.findings
    run_id = opa.record()
    with History(db) as h:
        assert h.load(int(run_id)).meta["engine"] == "opa"


def test_an_export_from_the_tui_shows_the_change_since_the_previous_run_like_report(tmp_path):
    """HTML and Markdown exported from a stored run in the TUI carry the previous run of the same
    estate and the trend, as `offhost-audit report` of that run does."""
    db, facts = str(tmp_path / "h.sqlite"), tmp_path / "facts.json"
    for name in ("csv-cluster-problems.json", "csv-cluster-healthy.json"):  # one estate, fixed in between
        facts.write_bytes((ROOT / "examples" / "facts" / name).read_bytes())
        main(["evaluate", "-f", str(facts), "--db", db, "-q"])
    s = Session.from_history(None, db=db)
    files = s.export(list(range(len(s.findings))), str(tmp_path / "tui"), ("html", "md"))
    assert str(tmp_path / "tui" / "latest.md") in files
    assert main(["report", "--db", db, "-o", str(tmp_path / "cli"), "-f", "md", "-q"]) == 0

    def since(folder):
        md = (tmp_path / folder / "latest.md").read_text(encoding="utf-8")
        return md.split("## Change since the previous run")[1].split("\n## ")[0]

    assert "Run 1 → run 2." in since("tui") and "| fixed | 4 |" in since("tui")
    assert since("tui") == since("cli")
    html = (tmp_path / "tui" / "latest.html").read_text(encoding="utf-8")
    assert 'id="diff"' in html and 'id="trend"' in html and "No previous run to compare with" not in html
