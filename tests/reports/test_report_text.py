"""What the reports say, read as a user would: spreadsheet-safe CSV, SARIF that code scanning ranks,
remediation naming the real proxy and cluster, host text with its line breaks, no "None", no repr
quoting, one spelling per status, and the demo/report command lines."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from offhost_audit.reports import context, render as render_mod
from offhost_audit.reports.render import render, render_text

sys.path.insert(0, str(Path(__file__).parent / "support"))  # sample.py, browser.py (no conftest there)
import sample

ROOT = Path(__file__).resolve().parents[2]


def _text(fmt: str, run=None) -> str:
    return render_text(fmt, context.build(run or sample.run()), render_mod.environment())


def _csv_rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


FORMULAS = [
    "\t=1+1",
    "\uff1d1+1",
    " @SUM(1)",
    '=HYPERLINK("http://x")',
    "+1",
    "-1+2",
    "@A1",
    "\r=1",
    "\n=1",
    "  \t-2",
    "\uff0bcmd",
    "\uff0d1",
    "\uff20A1",
    "\u3000=1",
]


def test_csv_neutralises_every_formula_a_spreadsheet_would_run():
    run = sample.run()
    for f, text in zip(run.findings, FORMULAS):
        f["message"] = text
    run.findings[-1]["subject"]["name"] = "=cmd|' /C calc'!A0"
    rows = _csv_rows(_text("csv", run))
    cleaned = [r["message"] for r in rows]
    for text, cell in zip(FORMULAS, cleaned):
        assert cell.startswith("'"), (text, cell)
    assert rows[-1]["subject"] == "'=cmd|' /C calc'!A0"
    assert cleaned[0] == "'\t=1+1" and cleaned[1] == "'\uff1d1+1" and cleaned[2] == "' @SUM(1)"
    # ordinary text is left alone, a formula sign inside a cell is harmless
    run = sample.run()
    run.findings[0]["message"] = "a=b, 3-1, mail@host"
    assert _csv_rows(_text("csv", run))[0]["message"] == "a=b, 3-1, mail@host"


def test_csv_file_is_utf8_with_bom_and_has_the_remediation(tmp_path):
    run = sample.run()
    run.findings[0]["remediation"] = "Evict PROXY01\nfrom HVCL02.\n\n- then re-run"
    render(run, ["csv"], tmp_path, stamp=False)
    raw = (tmp_path / "latest.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfrule_id,") and raw.count(b"\xef\xbb\xbf") == 1
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["remediation"] == "Evict PROXY01 from HVCL02.\n\n- then re-run"  # reflowed, paragraphs kept
    assert rows[0]["status"] == "fail" and rows[-1]["status"] == "not_applicable"  # machine face: schema spelling


def test_sarif_ranks_by_security_severity_and_names_the_project():
    from offhost_audit.reports.sarif import SECURITY_SEVERITY

    run = sample.run()
    for f, sev in zip(run.findings, ["critical", "high", "medium", "low", "info"]):
        f["severity"] = sev
        f["rule_id"] = f"OHP-9{len(sev)}{sev[0]}"[:7]
    doc = json.loads(_text("sarif", run))
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    got = {r["properties"]["severity"]: r["properties"]["security-severity"] for r in rules.values()}
    assert got == {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"} == SECURITY_SEVERITY
    bands = {"critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9), "info": (0.0, 0.0)}
    for sev, value in got.items():  # code scanning's bands for each level
        assert bands[sev][0] <= float(value) <= bands[sev][1]
    urls = (ROOT / "pyproject.toml").read_text().split("[project.urls]")[1].split("\n[")[0]  # no tomllib on 3.10
    homepage = re.search(r'^Homepage = "(https://[^"]+)"$', urls, re.M).group(1)
    assert doc["runs"][0]["tool"]["driver"]["informationUri"] == homepage
    for result in doc["runs"][0]["results"]:  # the judged file, no invented position in it
        assert [set(loc) for loc in result["locations"]] == [{"logicalLocations", "physicalLocation"}]
        assert "region" not in result["locations"][0]["physicalLocation"]


def test_waiver_text_never_says_none():
    run = sample.run()
    run.findings[4]["waiver"] = {
        "id": "W-9",
        "state": "active",
        "status": "fail",
        "expires": "2027-01-01",
        "justification": None,
        "owner": None,
        "approved_by": None,
        "ticket": None,
    }
    for fmt in ("junit", "sarif", "html", "md", "csv"):
        assert "None" not in _text(fmt, run), fmt
    junit = _text("junit", run)
    assert 'message="waived by waiver W-9 (really fail) until 2027-01-01"' in junit
    run.id = None  # evaluate --no-history: a run that was not stored
    for fmt in ("junit", "sarif", "html", "md"):
        assert "None" not in _text(fmt, run), fmt
    assert '<testsuites name="offhost-audit (run not saved)"' in _text("junit", run)


def test_remediation_names_the_findings_proxy_and_cluster(evaluated):
    from offhost_audit.engine.metadata import fill_names

    facts, found = evaluated["csv-cluster-problems"]
    f = next(f for f in found if f["rule_id"] == "OHP-010" and f["status"] == "fail")
    assert "Do not evict PROXY01 from HVCL02" in f["remediation"]
    assert "<proxy>" not in f["remediation"] and "<cluster>" not in f["remediation"]
    sizing = next(f for f in found if f["rule_id"] == "OHP-006")
    assert "Set-VBRHvProxy -Proxy PROXY01 -MaxTasks <n>" in sizing["remediation"]  # <n> is the admin's number
    # a placeholder the subject has no name for stays as written
    assert fill_names("-Name <proxy> -Cluster <cluster>", {"proxy": "P1"}) == "-Name P1 -Cluster <cluster>"
    from offhost_audit import audit

    run = audit.record_run(facts, found, save=False)
    html = render_text("html", context.build(run), render_mod.environment())
    assert "Do not evict PROXY01 from HVCL02" in html and "&lt;proxy&gt;" not in html
    md = render_text("md", context.build(run), render_mod.environment())
    assert "Do not evict PROXY01 from HVCL02" in md


def test_rule_sections_say_whose_names_the_text_carries():
    run = sample.run()
    run.findings[0]["rule_id"] = run.findings[2]["rule_id"] = "OHP-010"
    run.findings[0]["remediation"] = "Evict PROXY01 from HVCL02"
    run.findings[2]["remediation"] = "Evict PROXY01 from FS01"
    rules = {r["rule_id"]: r for r in context.build(run)["rules"]}
    assert rules["OHP-010"]["remediation"] == "Evict PROXY01 from HVCL02"
    assert rules["OHP-010"]["remediation_for"] == "PROXY01 -> HVCL02"
    assert "For PROXY01 -&gt; HVCL02; each finding" in _text("html", run)
    sarif_run = json.loads(_text("sarif", run))["runs"][0]
    help_text = next(r for r in sarif_run["tool"]["driver"]["rules"] if r["id"] == "OHP-010")["help"]["text"]
    assert help_text.startswith("For PROXY01 -> HVCL02 (each result's properties.remediation names its own): Evict")
    own = {
        r["locations"][0]["logicalLocations"][0]["name"]: r["properties"].get("remediation")
        for r in sarif_run["results"]
    }
    assert own["PROXY01 -> \\\\FS01\\</script>"] == "Evict PROXY01 from FS01"
    assert own["PROXY01 -> HVCL02"] is None  # the rule's help already says it
    assert rules["OHP-031"]["remediation_for"] == ""


def test_host_text_keeps_its_line_breaks():
    from offhost_audit.collectors.psjson import decode_clixml, loads
    from offhost_audit.errors import CollectorError
    from offhost_audit.lab.responder import encode_clixml
    from offhost_audit.reports.console import table_text
    from offhost_audit.text import clean

    text = decode_clixml(encode_clixml("Get-Disk : Access denied\r\n    + CategoryInfo : NotSpecified"))
    assert text == "Get-Disk : Access denied\n    + CategoryInfo : NotSpecified"
    assert clean("a\r\nb\rc") == "a\nb\nc" and clean("a\r\nb", keep_newlines=False) == "a b"  # runs stored before
    run = sample.run()
    run.facts["collection"][1]["error"] = "Get-Disk : Access denied\r\n + CategoryInfo"
    run.findings[3]["message"] = "Get-Disk : Access denied\r\n + CategoryInfo"
    for fmt in ("html", "md", "junit", "csv"):
        assert "denied\ufffd" not in _text(fmt, run), fmt
    assert "Access denied\ufffd" not in table_text(run.findings)
    with pytest.raises(CollectorError) as e:
        loads('{"a": "unterminated', what="x")
    assert "at at" not in str(e.value) and "starting at char 6" in str(e.value)
    assert "\\\\" not in str(e.value)


def test_status_is_spelled_one_way_on_human_faces():
    from offhost_audit.reports.console import summary_line, table_text

    run = sample.run()
    table = table_text(run.findings)
    assert "not_applicable" not in table  # (whether the table lists the row or counts it)
    assert "not applicable" in summary_line(run.findings)
    md = _text("md", run)
    assert "not_applicable" not in md
    junit = _text("junit", run)
    assert "not applicable: no cluster assigned" in junit and "not_applicable" not in junit
    html = re.sub(
        r"<(style|script)[^>]*>.*?</\1>", "", _text("html", run), flags=re.S
    )  # the data keeps the schema's names
    visible = re.sub(r"<[^>]+>", " ", html)
    assert "not applicable" in visible and "not_applicable" not in visible


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}  # Rich wraps at 80 without a terminal
    return subprocess.run(
        [sys.executable, "-m", "offhost_audit", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_demo_lists_its_scenarios_and_refuses_an_unknown_one_before_starting():
    from offhost_audit.lab.scenario import shipped

    helptext = _cli("demo", "--help").stdout
    assert all(name in helptext.replace("\n", " ").replace("  ", "") for name in shipped())
    r = _cli("demo", "--scenario", "faults", "--scenario", "nosuch")
    assert r.returncode == 2 and r.stdout == ""  # no banner, no lab started
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "nosuch" in lines[0] and "csv-healthy" in lines[0] and "Traceback" not in r.stderr
    r = _cli("demo", "--tui", "--scenario", "nosuch")
    assert r.returncode == 2 and "nosuch" in r.stderr


def test_report_takes_evaluates_format_option_names(tmp_path):
    from offhost_audit import audit

    db = tmp_path / "h.sqlite"
    audit.evaluate_file(ROOT / "examples" / "facts" / "smb-estate.json")
    r = _cli("evaluate", "--facts", str(ROOT / "examples" / "facts" / "smb-estate.json"), "--db", str(db), "-q")
    assert r.returncode in (0, 1), r.stderr
    for option in ("-f", "--formats", "-F", "--report-formats"):
        out = tmp_path / option.strip("-")
        r = _cli("report", "--db", str(db), option, "csv", "-o", str(out))
        assert r.returncode in (0, 1), r.stderr
        assert sorted(p.name for p in out.iterdir() if p.name.startswith("latest.")) == ["latest.csv"]


def test_powershell_errors_from_the_lab_keep_their_line_breaks_on_every_face(tmp_path):
    """The faults scenario's script error (CLIXML with CRLF) collected over WinRM from the real lab."""
    from offhost_audit import audit
    from offhost_audit.lab import demo
    from offhost_audit.reports.console import table_text
    from offhost_audit.reports.render import FORMATS

    r = demo.run_scenario("faults")
    entry = next(e for e in r["facts"]["collection"] if e["target"] == "PROXY71" and e["collector"] == "winrm.storage")
    assert (
        entry["error"].startswith("PROXY71: storage.ps1 failed")
        and "Access denied\n    + CategoryInfo" in entry["error"]
    )
    run = audit.record_run(r["facts"], r["findings"], save=False)
    render(run, list(FORMATS), tmp_path, stamp=False)
    for p in tmp_path.glob("latest.*"):
        text = p.read_text(encoding="utf-8")
        assert "\ufffd" not in text and "\r" not in text, p.name
    html = (tmp_path / "latest.html").read_text()
    assert "Get-Disk : Access denied\n    + CategoryInfo" in html  # the manifest table's cell keeps the line break
    assert "\ufffd" not in table_text(r["findings"])
    out = _cli("demo", "--scenario", "faults")
    assert out.returncode == 0 and "\ufffd" not in out.stdout
    assert "Unterminated string starting at char" in out.stdout and " at at " not in out.stdout


def test_connection_errors_read_without_reprs_or_stray_quotes():
    """The lab dies mid-audit (requests -> urllib3 -> http.client wrapping) and refuses a host."""
    from offhost_audit.lab import demo

    errors = [e["error"] for e in demo.run_scenario("lab-dies")["facts"]["collection"] if e.get("error")]
    aborted = [e for e in errors if "cannot connect" in e]
    assert aborted and all(
        e.endswith("(Connection aborted: Remote end closed connection without response)") for e in aborted
    )
    assert not [e for e in errors if "'" in e or '"' in e or "RemoteDisconnected" in e]
