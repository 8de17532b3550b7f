"""What a stored run must look like before any face reads it: a crafted or damaged history is refused
as damaged (one line, exit 2), never a crash in a report, ``diff`` or the TUI.

    summary_counts(raw) -> dict      # a run summary's counts, numbers only
    meta_problem(meta) -> str        # the first metadata field not as ``audit.record_run`` writes it, or ""
    findings_checker().is_valid(x)   # ``schema/findings.schema.json`` (jsonschema-rs: 46,500 findings in ~60 ms)
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any


def summary_counts(raw: Any) -> dict[str, Any]:
    """A stored summary's counts as numbers only (a crafted file cannot make the listing fail)."""
    out: dict[str, Any] = {"total": 0, "status": {}, "fail_by_severity": {}}
    if not isinstance(raw, dict):
        return out
    out["total"] = raw["total"] if isinstance(raw.get("total"), int) else 0
    for key in ("status", "fail_by_severity"):
        part = raw.get(key)
        if isinstance(part, dict):
            out[key] = {str(k): v for k, v in part.items() if isinstance(v, int)}
    return out


_META_TEXT = (
    "estate",
    "inventory",
    "inventory_hash",
    "facts_file",
    "facts_generated_at",
    "opa_url",
    "policy_bundle_hash",
    "profile",
    "engine",
)
_META_TEXTS = ("targets", "rules", "warnings")
_WAIVER_LISTS = ("expired", "unmatched", "expiring_soon")


def meta_problem(meta: Any) -> str:
    """What in a run's metadata is not as ``audit.record_run`` writes it ("" when all is)."""
    for key in _META_TEXT:
        if not isinstance(meta.get(key), (str, type(None))):
            return key
    for key in _META_TEXTS:
        value = meta.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return key
    reuse = meta.get("reuse")
    if reuse is not None and not (
        isinstance(reuse, dict)
        and all(type(reuse.get(k)) is int for k in ("parts", "reused"))
        and isinstance(reuse.get("from_run"), (int, type(None)))
    ):
        return "reuse"
    waivers = meta.get("waivers")
    if waivers is None:
        return ""
    if not isinstance(waivers, dict) or not isinstance(waivers.get("applied", {}), dict):
        return "waivers"
    for key in _WAIVER_LISTS:
        if not all(isinstance(w, dict) for w in _list(waivers.get(key))):
            return f"waivers.{key}"
    if not all(isinstance(w, str) for w in _list(waivers.get("problems"))):
        return "waivers.problems"
    return ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [None] if value is not None else []


@cache
def findings_checker() -> Any:
    """jsonschema-rs for ``schema/findings.schema.json`` (46,500 findings: about 60 ms)."""
    import jsonschema_rs

    from offhost_audit.resources import schema_dir

    return jsonschema_rs.validator_for(json.loads((schema_dir() / "findings.schema.json").read_text(encoding="utf-8")))
