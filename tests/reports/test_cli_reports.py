"""The CLI of scheduled audits: evaluate stores runs; history, diff, report, waivers lint; exit codes; --quiet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from offhost_audit.cli import main
from offhost_audit.store.history import History

ROOT = Path(__file__).resolve().parents[2]
PROBLEMS = str(ROOT / "examples" / "facts" / "csv-cluster-problems.json")
HEALTHY = str(ROOT / "examples" / "facts" / "csv-cluster-healthy.json")


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "h.sqlite")


def test_evaluate_stores_runs_then_history_diff_report(tmp_path, db, capsys):
    facts = tmp_path / "facts.json"  # one estate: the same facts file, collected again after a fix
    facts.write_bytes(Path(PROBLEMS).read_bytes())
    assert main(["evaluate", "-f", str(facts), "--db", db, "--quiet"]) == 1  # critical failures, exit 1
    assert capsys.readouterr().out == ""  # --quiet: nothing on stdout
    facts.write_bytes(Path(HEALTHY).read_bytes())
    assert main(["evaluate", "-f", str(facts), "--db", db, "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["history", "--db", db, "--format", "json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in runs] == [2, 1] and runs[1]["counts"]["status"]["fail"] == 6
    assert main(["diff", "--db", db, "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["old_run"] == 1 and d["new_run"] == 2 and d["counts"]["fixed"] == 4
    assert {c["subject"] for c in d["changes"]["not_evaluated"]} == {"PROXY01 -> HVCL02", "PROXY01 -> HV03"}
    assert main(["diff", "1", "2", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "fixed: 4" in out and "no longer evaluated (not fixed): 2" in out

    out_dir = tmp_path / "reports"
    assert main(["report", "1", "-o", str(out_dir), "--db", db, "-f", "md,junit", "-q"]) == 1  # run 1 fails at high
    assert main(["report", "-o", str(out_dir), "--db", db, "-f", "md", "--fail-on", "critical"]) == 0  # latest: clean
    assert (out_dir / "latest.md").read_text().startswith("# Off-host backup proxy audit: run 2")
    assert main(["report", "1", "-o", str(out_dir), "--db", db, "-f", "md", "--fail-on", "critical", "-q"]) == 1


def test_evaluate_report_option_and_no_history(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    out_dir = tmp_path / "r"
    assert (
        main(["evaluate", "-f", HEALTHY, "--db", str(db), "--no-history", "--report", str(out_dir), "-F", "all", "-q"])
        == 0
    )
    assert not db.exists()
    assert {p.name for p in out_dir.iterdir() if p.name.startswith("latest.")} == {
        "latest.html",
        "latest.md",
        "latest.junit.xml",
        "latest.sarif",
        "latest.csv",
        "latest.json",
    }
    assert capsys.readouterr() == ("", "")


def test_evaluate_applies_waivers(tmp_path, db, capsys):
    w = tmp_path / "w.yaml"
    w.write_text(
        "waivers:\n  - id: W-1\n    rule_id: OHP-010\n    subject: 'PROXY01 -> HVCL02'\n"
        "    justification: decommissioning\n    expires: 2099-01-01\n"
        "  - id: W-2\n    rule_id: OHP-001\n    subject: nobody\n    justification: x\n    expires: 2099-01-01\n"
    )
    code = main(
        ["evaluate", "-f", PROBLEMS, "--db", db, "--waivers", str(w), "--format", "json", "--fail-on", "critical"]
    )
    cap = capsys.readouterr()
    found = json.loads(cap.out)
    waived = [f for f in found if f["status"] == "waived"]
    assert [(f["rule_id"], f["waiver"]["id"], f["waiver"]["status"]) for f in waived] == [("OHP-010", "W-1", "fail")]
    assert code == 0  # the only critical failure is waived
    assert "waiver W-2 (OHP-001 nobody) matches no finding" in cap.err
    assert (
        main(
            ["evaluate", "-f", PROBLEMS, "--db", db, "--waivers", str(w), "--no-waivers", "-q", "--fail-on", "critical"]
        )
        == 1
    )


def test_waivers_lint_exit_codes(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(
        "waivers:\n  - id: W-1\n    rule_id: OHP-010\n    subject: x\n    justification: j\n    expires: 2099-01-01\n"
    )
    assert main(["waivers", "lint", str(good)]) == 0
    stale = tmp_path / "stale.yaml"
    stale.write_text(good.read_text().replace("2099-01-01", "2000-01-01"))
    assert main(["waivers", "lint", str(stale)]) == 1
    assert f"{stale}:6: waivers[0].expires: waiver W-1 expired 2000-01-01" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("    justification: j\n", ""))
    assert main(["waivers", "lint", str(bad)]) == 2
    assert f"{bad}:2: waivers[0].justification: required field missing" in capsys.readouterr().out


def test_history_errors_are_one_line_exit_2(tmp_path, db, capsys):
    assert main(["report", "-o", str(tmp_path / "r"), "--db", db]) == 2
    assert "no history database here" in capsys.readouterr().err
    History(db).close()
    assert main(["report", "-o", str(tmp_path / "r"), "--db", db]) == 2
    assert "the history has no runs yet" in capsys.readouterr().err
    assert main(["diff", "--db", db]) == 2
    with pytest.raises(SystemExit) as e:  # a usage error, found while parsing: before any work
        main(["evaluate", "-f", PROBLEMS, "--db", db, "--report", str(tmp_path / "r"), "-F", "html,pdf"])
    assert e.value.code == 2 and "unknown report format(s) pdf" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "-o", str(tmp_path / "r"), "--db", db, "--template-dir", str(tmp_path / "nope")])
    assert "no such folder" in capsys.readouterr().err
    assert main(["history", "--db", db, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # the bad -F stopped evaluate before it stored a run


def test_default_waivers_beside_the_inventory(tmp_path):
    import argparse

    from offhost_audit.cli_reports import waivers_path

    inv = tmp_path / "inventory.yaml"
    inv.write_text("")
    ns = argparse.Namespace(no_waivers=False, waivers=None, inventory=str(inv))
    assert waivers_path(ns) is None
    (tmp_path / "waivers.yaml").write_text("waivers: []\n")
    assert waivers_path(ns) == str(tmp_path / "waivers.yaml")
    ns.no_waivers = True
    assert waivers_path(ns) is None


def test_headless_report_paths_never_import_textual(tmp_path, db):
    code = (
        "import sys\n"
        "from offhost_audit.cli import main\n"
        f"main(['evaluate', '-f', {PROBLEMS!r}, '--db', {db!r}, '-q', '--report', {str(tmp_path / 'r')!r}])\n"
        f"main(['report', '-o', {str(tmp_path / 'r')!r}, '--db', {db!r}, '-q'])\n"
        f"main(['history', '--db', {db!r}])\n"
        f"main(['diff', '--db', {db!r}])\n"
        "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_two_audits_writing_one_database_at_once_keep_every_run(tmp_path, db):
    """Two processes running `evaluate` at the same time (3 runs each) into one --db."""
    code = (
        "import sys\nfrom offhost_audit.cli import main\n"
        f"codes = [main(['evaluate', '-f', {PROBLEMS!r}, '--db', {db!r}, '-q']) for _ in range(3)]\n"
        "sys.exit(0 if codes == [1, 1, 1] else 9)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
    assert [p.wait(timeout=180) for p in procs] == [0, 0]
    from offhost_audit.store.history import History

    with History(db) as h:
        runs = h.runs()
        assert len(runs) == 6 and len({r.id for r in runs}) == 6
        assert all(len(h.load(r.id).findings) == 33 for r in runs)


def test_the_engine_is_recorded(db, capsys):
    pytest.importorskip("opa_bindings", reason="make venv installs the OPA bindings")
    assert main(["evaluate", "-f", PROBLEMS, "--db", db, "-q", "--engine", "opa"]) == 1
    assert main(["evaluate", "-f", PROBLEMS, "--db", db, "-q"]) == 1
    assert main(["history", "--db", db, "--format", "json"]) == 0
    assert [r["engine"] for r in json.loads(capsys.readouterr().out)] == ["embedded", "opa"]
    assert main(["diff", "--db", db, "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (
        d["counts"]["still_failing"] == 6 and d["counts"]["fixed"] == d["counts"]["new"] == 0
    )  # same findings on both


def test_report_folders_that_exist_and_a_db_that_is_an_input(tmp_path, db, capsys):
    out_dir = tmp_path / "exists"
    out_dir.mkdir()
    assert main(["evaluate", "-f", HEALTHY, "--db", db, "-q", "--report", str(out_dir), "-F", "md"]) == 0
    assert main(["report", "-o", str(out_dir), "--db", db, "-f", "csv", "-q"]) == 0
    assert {"latest.md", "latest.csv"} <= {p.name for p in out_dir.iterdir()}
    copy = tmp_path / "facts.json"
    copy.write_text(Path(HEALTHY).read_text())
    before = copy.read_bytes()
    assert main(["evaluate", "-f", str(copy), "--db", str(copy), "-q"]) == 2
    assert "names an input" in capsys.readouterr().err and copy.read_bytes() == before


# --- --profile: one check on every command that takes it, before any work ----------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "-f", PROBLEMS, "--db", "{db}"],
        ["audit", "-i", "{missing}", "--db", "{db}"],  # the inventory is never read: the profile comes first
        ["demo", "--scenario", "csv-healthy"],  # no lab is started
        ["tui", "--facts", PROBLEMS, "--db", "{db}"],  # no TUI is started
    ],
    ids=lambda a: a[0],
)
def test_an_unknown_profile_is_exit_2_naming_the_profiles_before_any_work(tmp_path, db, capsys, argv):
    argv = [a.replace("{missing}", str(tmp_path / "missing.yaml")).replace("{db}", db) for a in argv]
    assert main([*argv, "--profile", "veeam-1999"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "unknown profile 'veeam-1999'" in err[0] and "veeam-2025-08" in err[0] and "veeam-2026-02" in err[0]
    assert not Path(db).exists()  # nothing was run, so nothing was recorded


def _jobs_at_risk(tmp_path: Path, name: str = "Nightly") -> str:
    """csv-cluster-jobs with its only proxy a node of HVCL01: Nightly (fail-over on) falls back, SQL pinned fails."""
    doc = json.loads((ROOT / "examples" / "facts" / "csv-cluster-jobs.json").read_text(encoding="utf-8"))
    doc["hosts"][0]["cluster"] = {"member": True, "name": "HVCL01"}
    doc["clusters"][0]["nodes"].append("PROXY01")
    doc["vbr"]["jobs"][0]["name"] = name
    p = tmp_path / "jobs.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return str(p)


def test_the_summary_lists_the_jobs_at_risk(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["evaluate", "-f", _jobs_at_risk(tmp_path), "--no-history"]) == 1
    out = capsys.readouterr().out.splitlines()
    at = out.index("Jobs: 2 of 2 at risk (1 fails, 1 falls back to on-host, 0 unknown); 0 off-host")
    assert out[at + 1 : at + 3] == [
        "  SQL pinned, vm SQL01: the job fails (fail-over to on-host is off); PROXY01: blocked by OHP-010",
        "  Nightly, cluster HVCL01: runs on-host tonight, silently (fail-over to on-host is on); PROXY01: blocked by "
        "OHP-010",
    ]
    assert out[at + 3].startswith("32 finding(s)")  # then the summary line


def test_the_summary_says_where_jobs_come_from_and_cleans_job_names(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["evaluate", "-f", HEALTHY, "--no-history"]) == 0
    out = capsys.readouterr().out
    assert "Jobs: no jobs read from the backup server (discover/--backup-server reads them)\n" in out
    out_file = tmp_path / "out.txt"
    evil = "Nightly[red]x[/]\x1b]0;owned\x07"
    assert main(["evaluate", "-f", _jobs_at_risk(tmp_path, evil), "--no-history", "-o", str(out_file)]) == 1
    text = out_file.read_text(encoding="utf-8")
    assert "  Nightly[red]x[/]\ufffd]0;owned\ufffd, cluster HVCL01: runs on-host tonight" in text
    assert "\x1b" not in text and "\x07" not in text
