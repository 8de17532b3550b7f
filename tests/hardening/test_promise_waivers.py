"""Promises about waivers files: rotten values are clear errors (exit 2, file:line:field), `waivers
lint` says everything at once and prints nothing a terminal would execute, and a waiver cannot
quietly waive most of a rule (issue 18, DECISIONS.md "Waivers")."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import pytest
from promise_kit import EXAMPLE_FACTS, ROOT, run_cli

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
ENTRY = "  - id: W-1\n    rule_id: OHP-010\n    subject: PROXY01\n    justification: j\n"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "waivers.yaml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("expires", ["9999-12-31", "0001-01-01T00:00:00+01:00"])
def test_a_date_beyond_the_calendar_is_exit_2_naming_the_field(tmp_path, expires):
    w = _write(tmp_path, f"waivers:\n{ENTRY}    expires: '{expires}'\n")
    run = run_cli("evaluate", "-f", str(EXAMPLE_FACTS), "--no-history", "--waivers", str(w), "-q")
    lint = run_cli("waivers", "lint", str(w))
    assert (run.returncode, lint.returncode) == (2, 2)
    assert run.stderr.splitlines() == [
        f"offhost-audit: invalid input: {w}:6: waivers[0].expires: year "
        f"{expires[:4].lstrip('0')} is outside 2000-2199: give a real date"
    ]
    assert lint.stdout.startswith(f"{w}:6: waivers[0].expires: year") and "Traceback" not in lint.stderr


def test_a_configured_lifetime_needs_created_and_lint_and_run_say_so(tmp_path):
    w = _write(tmp_path, f"max_lifetime_days: 30\nwaivers:\n{ENTRY}    expires: 2199-12-31\n")
    run = run_cli("evaluate", "-f", str(EXAMPLE_FACTS), "--no-history", "--waivers", str(w), "-q")
    lint = run_cli("waivers", "lint", str(w))
    said = f"{w}:3: waivers[0].created: required when the file sets max_lifetime_days (=30)"
    assert run.returncode == 2 and said in run.stderr
    assert lint.returncode == 2 and lint.stdout.startswith(said)


def test_lint_reports_every_problem_of_a_file_in_one_run(tmp_path):
    w = _write(
        tmp_path,
        "max_lifetime_days: 0\nwaivers:\n"
        "  - {id: A, rule_id: OHP-999, subject: x, justification: j, created: 2026-11-01, expires: 2027-01-01}\n"
        "  - {id: B, rule_id: OHP-010, subject: '*', justification: j, created: 2026-11-01, expires: 2027-01-01}\n"
        "  - {id: C, rule_id: OHP-010, subject: y, justification: j, created: 2026-11-01, expires: 2020-01-01}\n"
        "  - {id: D, rule_id: OHP-010, subject: z, created: 2026-11-01, expires: 2027-01-01}\n"
        "  - {id: E, rule_id: OHP-010, subject: z, justification: j, created: 2026-11-01, expires: soon}\n",
    )
    lint = run_cli("waivers", "lint", str(w))
    assert lint.returncode == 2
    assert [line.split(": ")[0:2] for line in lint.stdout.splitlines()] == [
        [f"{w}:1", "max_lifetime_days"],
        [f"{w}:3", "waivers[0].rule_id"],  # not in the policies' catalogue
        [f"{w}:4", "waivers[1].subject"],  # matches anything
        [f"{w}:5", "waivers[2].expires"],  # expired
        [f"{w}:6", "waivers[3].justification"],  # missing
        [f"{w}:7", "waivers[4].expires"],  # unparseable
    ]
    assert "no rule OHP-999 in the policies" in lint.stdout


def test_lint_never_prints_a_control_character(tmp_path):
    w = _write(
        tmp_path,
        'waivers:\n  - id: "W-\\e]0;pwned\\a"\n    rule_id: "OHP-010\\e[2J"\n    subject: x\n'
        '    justification: j\n    expires: 2027-01-01\n    "own\\ner\\e[31m": x\n',
    )
    lint = run_cli("waivers", "lint", str(w))
    assert lint.returncode == 2
    assert len(lint.stdout.splitlines()) == 3  # id, rule_id and the unknown field, each named
    assert not CONTROL.search(lint.stdout + lint.stderr)


def _estate(tmp_path: Path) -> Path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import estate

    p = tmp_path / "estate.json"
    p.write_text(json.dumps(estate.generate(60)), encoding="utf-8")  # OHP-013: 51 subjects, 8 of them unknown
    return p


def _broad(tmp_path: Path, scope: str = "") -> Path:
    return _write(
        tmp_path,
        "waivers:\n  - id: W-ALL\n    rule_id: OHP-013\n    subject: 'PRX*'\n"
        f"    justification: j\n    expires: 2199-01-01\n    statuses: [unknown]\n{scope}",
    )


def _evaluate(facts: Path, waivers_file: Path, reports: Path):
    """`evaluate` with JSON on stdout and the HTML and Markdown reports written to reports/."""
    args = ["--format", "json", "--no-history", "--report", str(reports), "-F", "html,md"]
    return run_cli("evaluate", "-f", str(facts), "--waivers", str(waivers_file), *args)


def test_a_glob_over_most_of_a_rule_is_not_applied_and_every_face_says_so(tmp_path):
    facts, w = _estate(tmp_path), _broad(tmp_path)
    said = "waiver W-ALL (OHP-013 'PRX*') was not applied: it matches 51 of the 51 subjects of OHP-013"
    js = _evaluate(facts, w, tmp_path / "rep")
    assert js.returncode in (0, 1), js.stderr  # the estate has failures of its own
    assert not [f for f in json.loads(js.stdout) if f["status"] == "waived"]
    assert said in js.stderr
    table = run_cli("evaluate", "-f", str(facts), "--waivers", str(w), "--no-history")
    assert said in " ".join(table.stdout.split())  # the table wraps long warnings
    for name in ("latest.html", "latest.md"):
        text = (tmp_path / "rep" / name).read_text(encoding="utf-8")
        assert said in text.replace("&#39;", "'").replace("\\", "")  # HTML and Markdown escapes undone
    assert said in _tui_warnings(facts, w)


def _tui_warnings(facts: Path, waivers_file: Path) -> str:
    from offhost_audit.tui.app import build_app
    from offhost_audit.tui.session import Session

    app = build_app(Session.from_facts_file(str(facts), waivers_path=str(waivers_file)))
    seen = {}

    async def main():
        async with app.run_test(size=(200, 50)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            seen["text"] = str(app.screen.query_one("#warnings").render())

    asyncio.run(main())
    return " ".join(seen["text"].split())


def test_scope_broad_applies_and_the_reports_show_it_at_the_top(tmp_path):
    facts, w = _estate(tmp_path), _broad(tmp_path, "    scope: broad\n")
    run = _evaluate(facts, w, tmp_path / "rep")
    assert run.returncode in (0, 1), run.stderr
    assert len([f for f in json.loads(run.stdout) if f["status"] == "waived"]) == 8
    html = (tmp_path / "rep" / "latest.html").read_text(encoding="utf-8")
    md = (tmp_path / "rep" / "latest.md").read_text(encoding="utf-8")
    assert html.index("broad waiver W-ALL") < html.index("<h2>Summary</h2>")
    assert "matches 51 of 51 subjects and waived 8 finding(s)" in html
    assert md.index("**broad waiver** W-ALL") < md.index("| findings |")
