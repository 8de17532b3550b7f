"""SARIF 2.1.0 as plain dicts: one reportingDescriptor per OHP rule, one result per problem finding.

Findings are about hosts, not files: a result names its subject in ``logicalLocations`` (kind
``resource``). Its ``physicalLocation`` is the file the run judged (the inventory, or the facts
file), without a region: GitHub code scanning rejects a result without an artifact URI, and an
invented "line 1" would send a reader to a line that says nothing. A run with neither file (the
TUI's live audit of an estate not on disk) has no physical location. Each result has a stable
``partialFingerprints`` (rule + subject). Each rule carries ``properties.security-severity``, the
number GitHub code scanning ranks alerts by (:data:`SECURITY_SEVERITY`: critical 9.5, high 8.0,
medium 5.5, low 3.0, info 0.0, inside code scanning's bands critical >= 9.0, high 7.0-8.9, medium
4.0-6.9, low 0.1-3.9). fail -> level by severity; unknown -> ``kind: review``; waived ->
``suppressions`` with the justification. Passes and not-applicable findings are not results. With a
previous run, every result has a ``baselineState`` (new, unchanged, updated) and the run's
properties the diff counts. At most ``MAX_RESULTS`` results (code scanning's limit per run): failures
first; the run's properties and an invocation notification say how many were left out.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

import jinja2

from offhost_audit import __url__
from offhost_audit.findings import waiver_text
from offhost_audit.store.diff import finding_key
from offhost_audit.text import clean, reflow

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS = 25_000
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_RANK = {"fail": 0, "unknown": 1, "waived": 2}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def _fingerprint(f: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(finding_key(f), separators=(",", ":")).encode("utf-8")).hexdigest()


def _help(r: dict[str, Any]) -> str:
    text = reflow(clean(r["remediation"])) or r["title"] or r["rule_id"]
    if r.get("remediation_for"):  # the texts name each finding's proxy, cluster...: say whose these are
        text = f"For {clean(r['remediation_for'], keep_newlines=False)} (each result's properties.remediation names its own): {text}"
    return text


def _rule(r: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r["rule_id"],
        "name": r["rule_id"].replace("-", ""),
        "shortDescription": {"text": r["title"] or r["rule_id"]},
        "help": {"text": _help(r)},
        "defaultConfiguration": {"level": _LEVEL.get(r["severity"], "warning")},
        "properties": {
            "severity": r["severity"],
            "security-severity": SECURITY_SEVERITY.get(r["severity"], "5.5"),
            "tags": ["offhost-audit", "veeam", "hyper-v"],
        },
    }
    if r["doc_url"]:
        out["helpUri"] = r["doc_url"]
    return out


# diff category -> SARIF baselineState (relative to the previous stored run)
_BASELINE = {
    "new": "new",
    "regressed": "new",
    "waiver_expired": "new",
    "to_unknown": "updated",
    "still_failing": "unchanged",
}


def _artifact(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The judged file's name as a SARIF artifact location (no region), or None."""
    source = meta.get("inventory") or meta.get("facts_file")
    if not source:
        return None
    return {"artifactLocation": {"uri": quote(PurePath(str(source)).name)}}


def _result(
    f: dict[str, Any], index: int, change: str | None, rule: dict[str, Any], artifact: dict[str, Any] | None
) -> dict[str, Any]:
    subject = f.get("subject") or {}
    name = clean(subject.get("name", ""), keep_newlines=False)
    location: dict[str, Any] = {
        "logicalLocations": [
            {"name": name, "fullyQualifiedName": f"{subject.get('kind', '')}:{name}", "kind": "resource"}
        ],
    }
    if artifact:
        location["physicalLocation"] = artifact
    res: dict[str, Any] = {
        "ruleId": f["rule_id"],
        "ruleIndex": index,
        "message": {"text": clean(f.get("message", "") or f.get("title", "")) or f["rule_id"]},
        "locations": [location],
        "partialFingerprints": {"offhostSubject/v1": _fingerprint(f)},
        "properties": {
            "status": f["status"],
            "severity": f.get("severity"),
            "evidence": f.get("evidence") or [],
            "subject": subject,
        },
    }
    if rule["remediation_for"] and f.get("remediation") != rule["remediation"]:
        res["properties"]["remediation"] = reflow(clean(f.get("remediation") or ""))
    if change is not None:
        res["baselineState"] = _BASELINE.get(change, "unchanged")
    if f["status"] == "unknown":
        res["kind"], res["level"] = "review", "none"
    else:
        res["kind"], res["level"] = "fail", _LEVEL.get(str(f.get("severity")), "warning")
    if f["status"] == "waived":
        w = f.get("waiver") or {}
        res["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": clean(waiver_text(w), keep_newlines=False),
            }
        ]
    return res


def build(ctx: dict[str, Any]) -> dict[str, Any]:
    rules = ctx["rules"]
    index = {r["rule_id"]: i for i, r in enumerate(rules)}
    problems = [f for f in ctx["findings"] if f["status"] in _RANK]
    problems.sort(key=lambda f: _RANK[f["status"]])  # stable: keeps severity order within a status
    kept, dropped = problems[:MAX_RESULTS], max(0, len(problems) - MAX_RESULTS)
    diff, changes = ctx["diff"], ctx["change_of"]
    artifact = _artifact(ctx["run"]["meta"])
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if dropped:
        invocation["toolExecutionNotifications"] = [
            {
                "level": "warning",
                "message": {
                    "text": (
                        f"{dropped} of {len(problems)} results left out: SARIF consumers such as code scanning take at most "
                        f"{MAX_RESULTS} results per run (failures first, then unknown, then waived)"
                    )
                },
            }
        ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "offhost-audit",
                        "version": ctx["tool_version"],
                        "informationUri": __url__,
                        "rules": [_rule(r) for r in rules],
                    }
                },
                "invocations": [invocation],
                "automationDetails": {"id": f"offhost-audit/{ctx['run']['meta'].get('profile') or 'default'}/"},
                "results": [
                    _result(
                        f,
                        index[f["rule_id"]],
                        changes.get(finding_key(f), "unchanged") if diff else None,
                        rules[index[f["rule_id"]]],
                        artifact,
                    )
                    for f in kept
                ],
                "properties": {
                    "run_id": ctx["run"]["id"],
                    "started_at": ctx["run"]["started_at"],
                    "results_total": len(problems),
                    "results_omitted": dropped,
                    "counts": ctx["counts"],
                    "change_since_previous": ({"previous_run": diff.old_id, **diff.counts()} if diff else None),
                },
            }
        ],
    }


def extra(ctx: dict[str, Any], env: jinja2.Environment) -> dict[str, Any]:
    return {"sarif_json": json.dumps(build(ctx), ensure_ascii=False)}  # no indent: json's C encoder
