"""Findings: the evaluated result per rule and subject (``schema/findings.schema.json``)."""

from __future__ import annotations

import json
from typing import Any

Finding = dict[str, Any]

SEVERITIES = ("critical", "high", "medium", "low", "info")
STATUSES = ("fail", "unknown", "pass", "not_applicable", "waived")
_SEV_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}


def status_label(status: object) -> str:
    """A status as people read it (``not_applicable`` -> ``not applicable``). Every human face (the
    table, TUI, HTML, Markdown, JUnit messages) shows this; machine faces (JSON, CSV, SARIF
    properties) keep the schema's spelling."""
    return str(status).replace("_", " ")


def evidence_value(value: Any) -> str:
    """An evidence value for a reader: a string in quotes as it is (``"\\\\FS01\\VMS"``, not JSON's
    doubled backslashes), anything else as JSON."""
    if isinstance(value, str):
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def waiver_text(w: dict[str, Any]) -> str:
    """A waiver in one line for a reader: id, the real status, expiry, justification, who; parts the
    waiver does not have are left out (never "owner None")."""
    text = f"waiver {w.get('id') or '(no id)'}"
    if w.get("status"):
        text += f" (really {status_label(w['status'])})"
    if w.get("expires"):
        text += f" until {w['expires']}"
    if w.get("justification"):
        text += f": {w['justification']}"
    who = [
        f"{label} {w[k]}"
        for k, label in (("owner", "owner"), ("approved_by", "approved by"), ("ticket", "ticket"))
        if w.get(k)
    ]
    return text + ("; " + ", ".join(who) if who else "")


def at_or_above(severity: str, threshold: str) -> bool:
    return _SEV_RANK[severity] <= _SEV_RANK[threshold]


def sort_key(f: Finding) -> tuple:
    """Failures first, then unknowns; within a status the most severe first; then rule and subject."""
    return (_STATUS_RANK.get(f["status"], 9), _SEV_RANK.get(f["severity"], 9), f["rule_id"], f["subject"]["name"])


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    """Findings in sort_key order; ties (same status, severity, rule and subject name, e.g. two VMs
    of one name) by their content, so that the order never depends on how the engine ran (one
    pass or parallel parts, regorus or OPA). The content order is the engine's own order of
    values (null < booleans < numbers < strings < arrays < objects), which the single pass had."""
    keys = list(map(sort_key, findings))
    order = sorted(range(len(keys)), key=keys.__getitem__)  # stable: ties keep their order
    out = [findings[i] for i in order]
    keys = [keys[i] for i in order]
    i, n = 0, len(out)
    while i < n:
        j = i + 1
        while j < n and keys[j] == keys[i]:
            j += 1
        if j - i > 1:
            out[i:j] = sorted(out[i:j], key=_value_key)
        i = j
    return out


def _value_key(v: Any) -> tuple:
    if v is None:
        return (0,)
    if isinstance(v, bool):
        return (1, v)
    if isinstance(v, (int, float)):
        return (2, v)
    if isinstance(v, str):
        return (3, v)
    if isinstance(v, list):
        return (4, tuple(_value_key(x) for x in v))
    if isinstance(v, dict):
        return (6, tuple((str(k), _value_key(v[k])) for k in sorted(v, key=str)))
    return (7, repr(v))


def breaches(findings: list[Finding], fail_on: str) -> list[Finding]:
    """Findings that make the exit code 1: status fail at or above the --fail-on severity."""
    return [f for f in findings if f["status"] == "fail" and at_or_above(f["severity"], fail_on)]


def counts(findings: list[Finding]) -> dict[str, int]:
    out = {s: 0 for s in STATUSES}
    for f in findings:
        out[f["status"]] = out.get(f["status"], 0) + 1
    return out
