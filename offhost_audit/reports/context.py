"""What every report template gets: one context built from a run, its predecessor and the trend.

``build(run, previous=None, trend=None, fail_on=None, now=None) -> dict`` with keys:
  run (id, started_at, meta), findings (the run's, sorted), counts {status: n},
  severity_counts {severity: {status: n}}, proxies and sources [{name, kind, state, verdict (label),
  text (which pairs differ), blocking, unknown_rules, warnings, pairs, counts, filter}] from
  ``verdicts.judge`` (worst first), proxy_tally / source_tally {state: n}, verdict_states, verdict_labels,
  rules [{rule_id, title, severity, remediation, remediation_for, doc_url, counts, findings_failing}],
  diff (offhost_audit.store.diff.RunDiff or None), change_of {finding_key: category}, diff_labels, trend [{id, started_at, fail, unknown,
  pass, waived}], manifest [collection entries], manifest_failed, waivers (the run's waivers
  summary), warnings, fail_on, breaches (count), undecided (count of unknowns at or above fail_on),
  run_sentence (what the result means, in words), generated_at, tool_version,
  jobs {read, no_jobs (what to say without a jobs list), tally (text), at_risk (count), jobs [{name,
  state, label, at_risk, selection, failover, sources [{source, state, label, tonight, waived, filter
  (the OHP-040 finding), candidates [{name, state, text, parts [{text, filter}]}] (those that do not work, at most
  job_verdicts.SHOWN, and ``more``: how many more; when none is stopped, the good ones), causes [{text,
  parts}] (what keeps the source on-host whatever the proxy)}]}]} from
  ``job_verdicts.judge_jobs`` (worst first), run_facts (the run's facts: the HTML report plans proxies
  from them).
Values are the run's own: escaping (HTML/XML autoescape) and control-character cleaning
(``text.clean`` in text formats) are the templates' and renderers' job.
"""

from __future__ import annotations

import re
from typing import Any

from offhost_audit import __version__
from offhost_audit.findings import SEVERITIES, STATUSES, breaches, job_verdicts, verdicts
from offhost_audit.store.diff import CATEGORIES, LABELS, RunDiff, diff_runs


def _summaries(summaries: list[verdicts.Summary], findings: list[dict[str, Any]], side: str) -> list[dict[str, Any]]:
    """``verdicts.judge`` summaries (the TUI's and the CLI's too) as template rows, not ready first,
    with counts by status of the findings behind each."""
    out = []
    for s in summaries:
        c = {st: 0 for st in STATUSES}
        for i in s.verdict.rows:
            c[findings[i]["status"]] = c.get(findings[i]["status"], 0) + 1
        out.append(
            {
                "name": s.name,
                "kind": s.kind,
                "state": s.state,
                "verdict": s.verdict.label,
                "text": s.text,
                "blocking": s.verdict.blocking,
                "unknown_rules": s.verdict.unknown,
                "warnings": s.verdict.warnings,
                "pairs": [{"name": n, "state": v.state, "verdict": v.label, "rules": v.rules} for n, v in s.pairs],
                "counts": c,
                "filter": f"{side}:{s.name}",
            }
        )
    return out


_RULE_ID = re.compile(r"OHP-\d{3}")


def _q(text: str) -> str:
    """A value for the findings filter: quoted (names may hold spaces), inner quotes dropped."""
    return '"' + text.replace('"', "") + '"'


def _jobs(jv: job_verdicts.JobVerdicts) -> dict[str, Any]:
    """``job_verdicts.judge_jobs`` (the TUI's and the CLI's too) as template rows; each blocking rule
    with a findings filter that shows the finding(s) behind it (the candidate's pair, the job's)."""

    def parts(job: str, c: job_verdicts.Candidate | job_verdicts.Cause) -> list[dict[str, str]]:
        """A candidate's (or a cause's) text in pieces, each rule ID a piece with the filter of its
        findings: ``PROXY01: blocked by `` + ``OHP-010`` (a link to OHP-010's findings for PROXY01)."""
        out: list[dict[str, str]] = []
        at = 0
        for m in _RULE_ID.finditer(c.text):
            r = m.group(0)
            if isinstance(c, job_verdicts.Cause):
                f = f"rule:{r} subject:{_q(c.name)}"
            elif r == "OHP-041":
                f = f"rule:{r} subject:{_q(f'{job} -> {c.name}')}"
            else:
                f = f"rule:{r} proxy:{_q(c.name)}"
            out += [{"text": c.text[at : m.start()], "filter": ""}, {"text": r, "filter": f}]
            at = m.end()
        out.append({"text": c.text[at:], "filter": ""})
        return [p for p in out if p["text"]]

    return {
        "read": jv.read,
        "no_jobs": job_verdicts.NO_JOBS,
        "tally": jv.tally_text(),
        "at_risk": len(jv.at_risk),
        "jobs": [
            {
                "name": j.name,
                "state": j.state,
                "label": j.label,
                "at_risk": j.at_risk,
                "selection": j.selection,
                "failover": j.failover_text,
                "sources": [
                    {
                        "source": s.source,
                        "state": s.state,
                        "label": s.label,
                        "tonight": s.tonight,
                        "waived": s.waived,
                        "filter": f"rule:OHP-040 subject:{_q(f'{j.name} -> {s.source}')}" if s.row is not None else "",
                        "candidates": [
                            {"name": c.name, "state": c.state, "text": c.text, "parts": parts(j.name, c)}
                            for c in s.stopped()[0] or s.candidates[: job_verdicts.SHOWN]
                        ],
                        "more": s.stopped()[1],
                        "causes": [{"text": c.text, "parts": parts(j.name, c)} for c in s.causes],
                    }
                    for s in j.sources
                ],
            }
            for j in jv.jobs
        ],
    }


def _rules(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per rule: counts and the rule's own fix. An unknown finding's remediation says how to get its
    fact (``engine.metadata.enrich``), so the fix shown is that of the rule's first failing finding,
    else of its first decided one. The texts name their finding's proxy, cluster...: when the failing
    findings' texts differ, ``remediation_for`` names the subject the shown text is for (each finding
    carries its own)."""
    by: dict[str, dict[str, Any]] = {}
    first_fail: dict[str, dict[str, Any]] = {}
    for f in findings:
        r = by.get(f["rule_id"])
        if r is None:
            r = by[f["rule_id"]] = {
                "rule_id": f["rule_id"],
                "title": f.get("title", ""),
                "severity": f.get("severity", ""),
                "remediation": "",
                "remediation_for": "",
                "doc_url": f.get("doc_url", ""),
                "counts": {s: 0 for s in STATUSES},
            }
        r["counts"][f["status"]] = r["counts"].get(f["status"], 0) + 1
        rem = f.get("remediation", "")
        if f["status"] == "fail":
            first = first_fail.setdefault(f["rule_id"], f)
            if first is f:
                r["remediation"] = rem
            elif rem != r["remediation"] and not r["remediation_for"]:
                r["remediation_for"] = str((first.get("subject") or {}).get("name", ""))
        elif f["status"] != "unknown" and not r["remediation"]:
            r["remediation"] = rem
    return [by[k] for k in sorted(by)]


def _trend(trend: list[Any] | None, run: Any) -> list[dict[str, Any]]:
    points = []
    for s in reversed(trend or []):  # oldest first
        st = (s.counts or {}).get("status", {})
        points.append({"id": s.id, "started_at": s.started_at, **{k: st.get(k, 0) for k in STATUSES}})
    if run.id is None or not any(p["id"] == run.id for p in points):
        c = {k: 0 for k in STATUSES}
        for f in run.findings:
            c[f["status"]] = c.get(f["status"], 0) + 1
        points.append({"id": run.id, "started_at": run.started_at, **c})
    return points[-60:]


def build(
    run: Any,
    *,
    previous: Any = None,
    trend: list[Any] | None = None,
    fail_on: str | None = None,
    accept_unknown: bool = False,
    diff: RunDiff | None = None,
) -> dict[str, Any]:
    findings = run.findings
    judged = verdicts.judge(run.facts, findings)
    counts = {s: 0 for s in STATUSES}
    sev = {s: {t: 0 for t in STATUSES} for s in SEVERITIES}
    for f in findings:
        counts[f["status"]] = counts.get(f["status"], 0) + 1
        sev.setdefault(f.get("severity"), {t: 0 for t in STATUSES})[f["status"]] += 1
    if diff is None and previous is not None:
        diff = diff_runs(previous, run)
    manifest = list((run.facts or {}).get("collection") or [])
    meta = run.meta or {}
    return {
        "run": {"id": run.id, "started_at": run.started_at, "meta": meta},
        "findings": findings,
        "counts": counts,
        "severity_counts": sev,
        "severities": SEVERITIES,
        "statuses": STATUSES,
        "jobs": _jobs(job_verdicts.judge_jobs(run.facts, findings, judged)),
        "proxies": _summaries(judged.by_proxy, findings, "proxy"),
        "proxy_tally": verdicts.tally(judged.by_proxy),
        "sources": _summaries(judged.by_source, findings, "source"),
        "source_tally": verdicts.tally(judged.by_source),
        "verdict_states": verdicts.STATES,
        "verdict_labels": verdicts.LABELS,
        "rules": _rules(findings),
        "diff": diff,
        "change_of": diff.by_key() if diff else {},
        "diff_categories": CATEGORIES,
        "diff_labels": LABELS,
        "trend": _trend(trend, run),
        "manifest": manifest,
        "manifest_failed": [e for e in manifest if e.get("status") != "ok"],
        "waivers": meta.get("waivers") or {},
        "warnings": meta.get("warnings") or [],
        "fail_on": fail_on,
        "breaches": len(breaches(findings, fail_on)) if fail_on else None,
        "undecided": len(verdicts.undecided(findings, fail_on)) if fail_on else None,
        "run_sentence": verdicts.run_sentence(findings, fail_on, accept_unknown=accept_unknown) if fail_on else "",
        "tool_version": __version__,
        "run_facts": run.facts or {},
    }
