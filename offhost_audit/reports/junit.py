"""JUnit XML: one testsuite per rule, one testcase per rule x subject, built with junitparser.

fail = ``<failure>``, unknown = ``<error>``, not_applicable and waived = ``<skipped>`` with the reason
(a waived case names the waiver, its justification, its expiry and the real status). Cases are
added to each suite in bulk: adding them one by one (``add_testcase``) was measured quadratic
(35 s at 50,000). With a previous run, each suite's ``<properties>`` count what changed for its rule. Host text is cleaned of control characters (XML 1.0 cannot carry them); the XML
library escapes markup. The template ``junit.xml.j2`` receives ``junit_xml`` (the document) and may
wrap or replace it.
"""

from __future__ import annotations

from typing import Any

import jinja2
from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite
from markupsafe import Markup

from offhost_audit.findings import evidence_value, waiver_text
from offhost_audit.text import clean, reflow

_COUNTED = {"fail": "fail", "unknown": "unknown", "not_applicable": "skipped", "waived": "skipped"}


def _evidence(f: dict[str, Any]) -> str:
    lines = [f"{e.get('path')} = {evidence_value(e.get('value'))}" for e in f.get("evidence") or []]
    if f.get("missing"):
        lines.append("missing facts: " + ", ".join(map(str, f["missing"])))
    return clean("\n".join(lines))


def _case(f: dict[str, Any]) -> TestCase:
    subject = f.get("subject") or {}
    case = TestCase(clean(subject.get("name", ""), keep_newlines=False), f"offhost.{f['rule_id']}", 0.0)
    status, msg = f["status"], clean(f.get("message", ""), keep_newlines=False)
    r: Failure | Error
    if status == "fail":
        r = Failure(msg, str(f.get("severity") or "fail"))
        r.text = _evidence(f) + "\n\nremediation: " + reflow(clean(f.get("remediation") or ""))
        if f.get("doc_url"):
            r.text += f"\nsee {f['doc_url']}"
        case.result = [r]
    elif status == "unknown":
        r = Error(msg or "the facts that decide this rule could not be collected", "unknown")
        r.text = _evidence(f)
        case.result = [r]
    elif status == "not_applicable":
        case.result = [Skipped(f"not applicable: {msg}")]
    elif status == "waived":
        reason = "waived by " + waiver_text(f.get("waiver") or {})
        case.result = [Skipped(clean(reason, keep_newlines=False), "waived")]
    return case


def build(ctx: dict[str, Any]) -> str:
    suites: dict[str, list[TestCase]] = {}
    titles: dict[str, str] = {}
    counts: dict[str, dict[str, int]] = {}
    for f in ctx["findings"]:
        rid = f["rule_id"]
        suites.setdefault(rid, []).append(_case(f))
        titles.setdefault(rid, f.get("title", ""))
        c = counts.setdefault(rid, {"fail": 0, "unknown": 0, "skipped": 0})
        key = _COUNTED.get(f["status"])
        if key:
            c[key] += 1
    diff = ctx["diff"]
    changes: dict[str, dict[str, int]] = {}
    for cat, items in diff.changes.items() if diff else ():
        for c in items:
            per = changes.setdefault(c.rule_id, {})
            per[cat] = per.get(cat, 0) + 1
    run_id = ctx["run"]["id"]
    xml = JUnitXml(f"offhost-audit run {run_id}" if run_id is not None else "offhost-audit (run not saved)")
    total = {"tests": 0, "failures": 0, "errors": 0}
    for rule_id in sorted(suites):
        s = TestSuite(clean(f"{rule_id} {titles[rule_id]}", keep_newlines=False))
        s.timestamp = ctx["run"]["started_at"]
        cases, c = suites[rule_id], counts[rule_id]
        # The bulk add of add_testcases(), with the counts we already have: its update_statistics()
        # re-reads every case through junitparser's wrappers (2 s of 5 at 50,000, twice via the root).
        for cat, n in sorted(changes.get(rule_id, {}).items()):
            s.add_property(f"change_since_run_{diff.old_id}.{cat}", str(n))
        s.extend(cases)
        s.tests, s.failures, s.errors, s.skipped, s.time = len(cases), c["fail"], c["unknown"], c["skipped"], 0.0
        xml.append(s)
        total["tests"] += len(cases)
        total["failures"] += c["fail"]
        total["errors"] += c["unknown"]
    xml.tests, xml.failures, xml.errors, xml.time = total["tests"], total["failures"], total["errors"], 0.0
    text = xml.tostring()  # the JUnit 10 XSD has no `skipped` on <testsuites>: per suite only
    return text.decode("utf-8") if isinstance(text, bytes) else text


def extra(ctx: dict[str, Any], env: jinja2.Environment) -> dict[str, Any]:
    return {"junit_xml": Markup(build(ctx))}
