"""The `# METADATA` blocks of the policies, read from source text, joined to findings.

regorus does not implement ``rego.metadata.rule()``/``chain()``, so the policies stay portable:
each finding carries only its ``rule_id``, and this module reads the YAML comment blocks (OPA's
annotation format) and adds title, remediation and doc link. The severity is the finding's own: it
comes from the active profile (policies/data/profiles.rego), the one place severities live.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from offhost_audit.engine.sources import PolicySource
from offhost_audit.errors import PolicyError
from offhost_audit.findings import Finding, unknowns

_COMMENT = re.compile(r"^\s*#( ?)(.*)$")
_PACKAGE = re.compile(r"^\s*package\s+(\S+)")


class RuleMeta(NamedTuple):  # not a dataclass: dataclasses costs ~10 ms of start-up to import
    rule_id: str
    title: str
    description: str
    remediation: str
    doc_url: str
    related: tuple[dict[str, Any], ...] | list[dict[str, Any]] = ()
    package: str | None = None
    file: str = ""
    line: int = 0


_JSON_FIELDS = tuple(f for f in RuleMeta._fields if f != "file")


def meta_to_json(m: RuleMeta) -> dict[str, Any]:
    """A RuleMeta as JSON (without ``file``, the source's display name, which depends on the working directory)."""
    return {name: getattr(m, name) for name in _JSON_FIELDS}


def meta_from_json(doc: dict[str, Any], *, file: str) -> RuleMeta:
    """The RuleMeta that meta_to_json wrote; KeyError/TypeError when the fields are not exactly those."""
    if not isinstance(doc, dict) or set(doc) != set(_JSON_FIELDS):
        raise TypeError("not a RuleMeta")
    return RuleMeta(**doc, file=file)


def parse_blocks(text: str, *, file: str = "<policy>") -> list[tuple[int, dict[str, Any], str | None]]:
    """Every METADATA block as (line, mapping, package it sits above or None)."""
    import yaml  # here, not at the top: a run whose policies are in the cache (policy_cache) needs no YAML

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~5x faster
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "# METADATA":
            i += 1
            continue
        start = i + 1
        body = []
        i += 1
        while i < len(lines):
            m = _COMMENT.match(lines[i])
            if not m:
                break
            body.append(m.group(2))
            i += 1
        try:
            doc = yaml.load("\n".join(body), Loader=loader) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = start + 1 + (mark.line if mark else 0)
            raise PolicyError(f"{file}:{line}: METADATA block is not valid YAML: {getattr(e, 'problem', e)}") from None
        if not isinstance(doc, dict):
            raise PolicyError(f"{file}:{start}: METADATA block must be a YAML mapping")
        pkg = None
        j = i
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j < len(lines) and (m := _PACKAGE.match(lines[j])):
            pkg = m.group(1)
        blocks.append((start, doc, pkg))
    return blocks


def read_metadata(sources: Iterable[PolicySource]) -> dict[str, RuleMeta]:
    """METADATA blocks keyed by ``custom.id``; blocks without an id (libraries) are ignored."""
    out: dict[str, RuleMeta] = {}
    for src in sources:
        for line, doc, pkg in parse_blocks(src.text, file=src.name):
            custom = doc.get("custom") or {}
            rid = custom.get("id") if isinstance(custom, dict) else None
            if not rid:
                continue
            related = [r for r in (doc.get("related_resources") or []) if isinstance(r, dict)]
            doc_url = next((str(r["ref"]) for r in related if r.get("ref")), "")
            out[str(rid)] = RuleMeta(
                rule_id=str(rid),
                title=str(doc.get("title") or rid),
                description=str(doc.get("description") or "").strip(),
                remediation=str(custom.get("remediation") or "").strip(),
                doc_url=doc_url,
                related=related,
                package=pkg,
                file=src.name,
                line=line,
            )
    return out


_PLACEHOLDER = re.compile(r"<(proxy|host|cluster|csv|share|server|vm|job|candidate)>")


def fill_names(text: str, subject: dict[str, Any]) -> str:
    """A remediation text with ``<proxy>``, ``<cluster>``, ``<host>``... replaced by the finding's own
    names (the subject's fields of that name); a placeholder the subject has no name for stays."""
    if "<" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: str(subject.get(m.group(1)) or m.group(0)), text)


def enrich(findings: list[Finding], meta: dict[str, RuleMeta], facts: dict[str, Any]) -> list[Finding]:
    """Add title/remediation/doc_url (in place). An unknown finding also gets the collection errors
    that explain it as evidence, and as remediation how to get the fact it misses
    (``unknowns.how_to_decide``), not the rule's fix for a failure it may not have."""
    failed = unknowns.index([e for e in unknowns.failures(facts) if e.get("error")])
    for f in findings:
        m = meta.get(f.get("rule_id", ""))
        if m is not None:
            f.setdefault("title", m.title)
            f.setdefault("remediation", fill_names(m.remediation, f.get("subject") or {}))
            f.setdefault("doc_url", m.doc_url)
        else:
            f.setdefault("title", f.get("rule_id", ""))
            f.setdefault("remediation", "")
            f.setdefault("doc_url", "")
        if f.get("status") == "unknown":
            ev = f.setdefault("evidence", [])
            for e in unknowns.explaining(f, failed):
                ev.append({"path": f"collection[{e['target']}/{e['collector']}]", "value": e["error"]})
            f["remediation"] = unknowns.how_to_decide(f, failed)
    return findings
