"""Waivers: accepted risks in a YAML file, each with a justification and an expiry that cannot rot.

File format (``--waivers FILE``; the audit's default is ``waivers.yaml`` beside the inventory)::

    max_lifetime_days: 365        # optional (default 365): a waiver lives at most this long after `created`
    waivers:
      - id: W-001                 # required, unique
        rule_id: OHP-010          # required
        subject: "HV0*"           # required: the finding's subject name, exact or a glob (case-insensitive)
        justification: "..."      # required
        expires: 2026-12-31       # required: a date means 00:00 UTC that day; or an ISO 8601 date-time
        owner: ops                # optional
        approved_by: ciso         # optional
        created: 2026-06-01       # optional (needed for the lifetime cap)
        ticket: CHG-123           # optional
        statuses: [fail]          # optional: which statuses it waives (fail, unknown); default [fail]

API (the CLI, ``audit.record_run`` and the TUI use these)::

    load(path) -> WaiverFile                   # InputError "file:line: waivers[2].expires: ..." (exit 2)
    apply(findings, waivers, now=None) -> Applied
    append(path, waiver)                       # atomically, keeping what the file had (comments too)
    lint(path, now=None) -> list[Problem]      # for CI: `offhost-audit waivers lint FILE`

A waived finding keeps its real status underneath: ``status`` becomes ``waived`` and ``waiver`` is
``{"id", "state": "active", "status": <real status>, "justification", "owner", "approved_by",
"expires", "ticket"}``. A matching waiver that has expired no longer applies: the finding keeps its
real status and gets ``waiver = {"id", "state": "expired", "status", "expires", "note"}``. An
unparseable ``expires`` counts as expired and is reported in ``WaiverFile.problems``; an ``expires``
beyond ``created + max_lifetime_days`` is capped there and reported too.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from offhost_audit.atomic import write_atomic
from offhost_audit.errors import InputError
from offhost_audit.inputs import read_input

if TYPE_CHECKING:
    import yaml  # imported where a file is read or written: applying no waivers needs no YAML

DEFAULT_MAX_LIFETIME_DAYS = 365
EXPIRING_SOON_DAYS = 14
FIELDS = (
    "id",
    "rule_id",
    "subject",
    "justification",
    "owner",
    "approved_by",
    "created",
    "expires",
    "ticket",
    "statuses",
)
REQUIRED = ("id", "rule_id", "subject", "justification", "expires")
WAIVABLE = ("fail", "unknown")
_RULE_ID = re.compile(r"^OHP-[0-9]{3}$")


@dataclass(frozen=True)
class Waiver:
    id: str
    rule_id: str
    subject: str
    justification: str
    expires: str  # as written
    owner: str | None = None
    approved_by: str | None = None
    created: str | None = None
    ticket: str | None = None
    statuses: tuple[str, ...] = ("fail",)
    line: int = 0
    expires_at: datetime | None = None  # effective expiry (capped by the lifetime); None = unparseable
    expires_line: int = 0

    def matches(self, finding: dict[str, Any]) -> bool:
        if finding.get("rule_id", "").upper() != self.rule_id.upper():
            return False
        name = str((finding.get("subject") or {}).get("name", ""))
        return fnmatch.fnmatchcase(name.casefold(), self.subject.casefold())

    def expired(self, now: datetime) -> bool:
        return self.expires_at is None or now >= self.expires_at

    def to_yaml_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in FIELDS:
            v = getattr(self, k)
            if k == "statuses":
                if tuple(v) != ("fail",):
                    out[k] = list(v)
            elif v is not None:
                out[k] = v
        return out


@dataclass
class WaiverFile:
    path: str
    waivers: list[Waiver] = field(default_factory=list)
    max_lifetime_days: int = DEFAULT_MAX_LIFETIME_DAYS
    problems: list[str] = field(default_factory=list)  # "file:line: field: ..." that did not stop loading


@dataclass
class Applied:
    """What apply() did: the findings (waivers applied) and which waivers did what."""

    findings: list[dict[str, Any]]
    applied: dict[str, int] = field(default_factory=dict)  # waiver id -> findings it waived
    expired: list[Waiver] = field(default_factory=list)  # matched something but had expired
    unmatched: list[Waiver] = field(default_factory=list)  # active, matched nothing
    expiring_soon: list[Waiver] = field(default_factory=list)

    def summary(self, source: WaiverFile | None = None) -> dict[str, Any]:
        """The JSON-able summary a run records in its metadata (and the reports show)."""

        def brief(w: Waiver) -> dict[str, Any]:
            return {
                "id": w.id,
                "rule_id": w.rule_id,
                "subject": w.subject,
                "expires": w.expires,
                "owner": w.owner,
                "ticket": w.ticket,
            }

        return {
            "path": source.path if source else None,
            "count": len(source.waivers) if source else 0,
            "applied": dict(self.applied),
            "expired": [brief(w) for w in self.expired],
            "unmatched": [brief(w) for w in self.unmatched],
            "expiring_soon": [brief(w) for w in self.expiring_soon],
            "problems": list(source.problems) if source else [],
        }


def parse_expiry(text: str) -> datetime | None:
    """A date means 00:00 UTC that day; a date-time without a zone is UTC. None when unparseable."""
    s = str(text).strip()
    try:
        if len(s) == 10:
            return datetime.combine(date.fromisoformat(s), time(0, 0), tzinfo=timezone.utc)
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _where(path: str, line: int, at: str) -> str:
    return f"{path}:{line}: {at}"


class _Reader:
    """Walks a composed YAML tree keeping every scalar as written (no implicit dates) and its line."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, node: yaml.Node, at: str, msg: str) -> None:
        raise InputError(f"{_where(self.path, node.start_mark.line + 1, at)}: {msg}")

    def plain(self, node: yaml.Node, at: str) -> Any:
        import yaml

        if isinstance(node, yaml.ScalarNode):
            return node.value
        if isinstance(node, yaml.SequenceNode):
            return [self.plain(v, f"{at}[{i}]") for i, v in enumerate(node.value)]
        return {str(k.value): self.plain(v, f"{at}.{k.value}") for k, v in node.value}


def loads(text: str, *, source: str = "waivers") -> WaiverFile:
    import yaml

    from offhost_audit import yamldoc

    root = yamldoc.compose(text, source)  # not YAML, nested too deep, alias bombs: one-line InputError
    out = WaiverFile(path=source)
    if root is None:
        return out
    r = _Reader(source)
    if not isinstance(root, yaml.MappingNode):
        r.fail(root, "(top)", "expected a mapping with a `waivers:` list")
    entries = None
    for k, v in root.value:
        key = k.value
        if key == "max_lifetime_days":
            raw = r.plain(v, key)
            if not (isinstance(raw, str) and raw.isdigit() and int(raw) > 0):
                r.fail(v, key, "expected a whole number of days > 0")
            out.max_lifetime_days = int(raw)
        elif key == "waivers":
            entries = v
        else:
            r.fail(k, key, "unknown key (expected `waivers` or `max_lifetime_days`)")
    if entries is None or (isinstance(entries, yaml.ScalarNode) and entries.value in ("", "~", "null")):
        return out
    if not isinstance(entries, yaml.SequenceNode):
        r.fail(entries, "waivers", "expected a list of waivers")
    seen: dict[str, int] = {}
    for i, node in enumerate(entries.value):
        w = _entry(r, node, f"waivers[{i}]", out)
        if w.id in seen:
            r.fail(node, f"waivers[{i}].id", f"duplicate waiver id {w.id!r} (first at line {seen[w.id]})")
        seen[w.id] = w.line
        out.waivers.append(w)
    return out


def _entry(r: _Reader, node: yaml.Node, at: str, out: WaiverFile) -> Waiver:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        r.fail(node, at, "expected a mapping (id, rule_id, subject, justification, expires, ...)")
    keys = {k.value: (k, v) for k, v in node.value}
    for name, (k, _) in keys.items():
        if name not in FIELDS:
            r.fail(k, f"{at}.{name}", f"unknown field (expected one of: {', '.join(FIELDS)})")
    for name in REQUIRED:
        if name not in keys:
            r.fail(node, f"{at}.{name}", "required field missing")
    vals: dict[str, Any] = {}
    for name, (_, v) in keys.items():
        val = r.plain(v, f"{at}.{name}")
        if name == "statuses":
            if isinstance(val, str):
                val = [val]
            if not isinstance(val, list) or not val or any(s not in WAIVABLE for s in val):
                r.fail(v, f"{at}.{name}", f"expected a list of: {', '.join(WAIVABLE)}")
            vals[name] = tuple(val)
            continue
        if not isinstance(val, str) or (name in REQUIRED and not val.strip()):
            r.fail(v, f"{at}.{name}", "expected a non-empty text value")
        vals[name] = val.strip()
    if not _RULE_ID.match(vals["rule_id"].upper()):
        r.fail(keys["rule_id"][1], f"{at}.rule_id", f"expected a rule id like OHP-010, not {vals['rule_id']!r}")
    line = node.start_mark.line + 1
    expires_at = parse_expiry(vals["expires"])
    eline = keys["expires"][1].start_mark.line + 1
    if expires_at is None:
        out.problems.append(
            f"{_where(out.path, eline, at + '.expires')}: unparseable date {vals['expires']!r}: "
            f"waiver {vals['id']} counts as expired"
        )
    created = vals.get("created")
    if created is not None:
        created_at = parse_expiry(created)
        cline = keys["created"][1].start_mark.line + 1
        if created_at is None:
            out.problems.append(f"{_where(out.path, cline, at + '.created')}: unparseable date {created!r}")
        elif expires_at is not None and expires_at > created_at + timedelta(days=out.max_lifetime_days):
            expires_at = created_at + timedelta(days=out.max_lifetime_days)
            out.problems.append(
                f"{_where(out.path, eline, at + '.expires')}: more than max_lifetime_days="
                f"{out.max_lifetime_days} after created: waiver {vals['id']} expires "
                f"{expires_at.date().isoformat()} instead"
            )
    return Waiver(line=line, expires_at=expires_at, expires_line=eline, **vals)


def load(path: str | os.PathLike[str]) -> WaiverFile:
    return loads(read_input(path, "a waivers YAML file"), source=str(Path(path)))


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now


def apply(
    findings: Iterable[dict[str, Any]], waivers: WaiverFile | Iterable[Waiver] | None, now: datetime | None = None
) -> Applied:
    """Apply waivers to findings (the input dicts are not changed; changed findings are copies)."""
    now = _utc(now)
    items = list(waivers.waivers if isinstance(waivers, WaiverFile) else (waivers or []))
    if not items:  # nothing to apply: the findings as they are (a scheduled run without waivers)
        return Applied(findings=list(findings))
    by_rule: dict[str, list[Waiver]] = {}
    for item in items:
        by_rule.setdefault(item.rule_id.upper(), []).append(item)
    out: list[dict[str, Any]] = []
    applied: dict[str, int] = {}
    hit_expired: dict[str, Waiver] = {}
    for f in findings:
        cands = by_rule.get(str(f.get("rule_id", "")).upper())
        status = f.get("status")
        if cands and status in WAIVABLE:
            hits = [c for c in cands if status in c.statuses and c.matches(f)]
            w = next((c for c in hits if not c.expired(now)), hits[0] if hits else None)  # an active one first
            if w is not None:
                f = _mark(f, w, now)
                if w.expired(now):
                    hit_expired[w.id] = w
                else:
                    applied[w.id] = applied.get(w.id, 0) + 1
        out.append(f)
    soon = now + timedelta(days=EXPIRING_SOON_DAYS)
    active = [w for w in items if not w.expired(now)]
    return Applied(
        findings=out,
        applied=applied,
        expired=list(hit_expired.values()),
        unmatched=[w for w in active if w.id not in applied],
        expiring_soon=[w for w in active if w.expires_at is not None and w.expires_at <= soon],
    )


def _mark(f: dict[str, Any], w: Waiver, now: datetime) -> dict[str, Any]:
    real = f["status"]
    if w.expired(now):
        when = "has an unparseable expiry date" if w.expires_at is None else f"expired {w.expires_at.isoformat()}"
        info = {
            "id": w.id,
            "state": "expired",
            "status": real,
            "expires": w.expires,
            "note": f"waiver {w.id} {when}: the finding counts as {real} again",
        }
        return {**f, "waiver": info}
    info = {
        "id": w.id,
        "state": "active",
        "status": real,
        "justification": w.justification,
        "owner": w.owner,
        "approved_by": w.approved_by,
        "expires": w.expires,
        "ticket": w.ticket,
    }
    return {**f, "status": "waived", "waiver": info}


def lint(path: str | Path, now: datetime | None = None) -> list[str]:
    """Every problem in a waivers file as ``file:line: field: message``; raises InputError for a bad entry."""
    wf = load(path)
    now = _utc(now)
    problems = list(wf.problems)
    for i, w in enumerate(wf.waivers):
        if w.expires_at is not None and w.expired(now):
            problems.append(
                f"{_where(wf.path, w.expires_line, f'waivers[{i}].expires')}: waiver {w.id} expired "
                f"{w.expires_at.date().isoformat()}: renew it or remove it"
            )
    return problems


def append(path: str | Path, waiver: Waiver) -> None:
    """Add one waiver to the file atomically, keeping its text (and comments) when it ends with the list."""
    import yaml

    p = Path(path)
    text = p.read_text(encoding="utf-8-sig") if p.exists() else ""
    current = loads(text, source=str(p))
    if any(w.id == waiver.id for w in current.waivers):
        raise InputError(f"{p}: a waiver with id {waiver.id!r} already exists")
    entry = yaml.safe_dump([waiver.to_yaml_dict()], sort_keys=False, allow_unicode=True, default_flow_style=False)
    new_text = _appended_text(text, entry)
    if new_text is None:  # the list is not the file's last block: rewrite it whole (comments are lost)
        doc = {
            "max_lifetime_days": current.max_lifetime_days,
            "waivers": [w.to_yaml_dict() for w in current.waivers] + [waiver.to_yaml_dict()],
        }
        new_text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)
    check = loads(new_text, source=str(p))  # never write a file that we could not read back
    if [w.id for w in check.waivers] != [w.id for w in current.waivers] + [waiver.id]:
        raise InputError(f"{p}: could not add waiver {waiver.id} safely")
    write_atomic(p, new_text)


def _appended_text(text: str, entry: str) -> str | None:
    import yaml

    from offhost_audit import yamldoc

    if not text.strip():
        return "waivers:\n" + _indent(entry, 2)
    root = yamldoc.compose(text, "waivers")
    if not isinstance(root, yaml.MappingNode) or not root.value:
        return None
    key, seq = root.value[-1]
    if key.value != "waivers":
        return None
    if isinstance(seq, yaml.ScalarNode) and seq.value in ("", "~", "null"):
        return text.rstrip("\n") + "\n" + _indent(entry, 2) if seq.value == "" else None
    if not isinstance(seq, yaml.SequenceNode) or seq.flow_style or not seq.value:
        return None
    col = seq.value[0].start_mark.column - 2  # the "- " of the first item
    if col < 0:
        return None
    base = text if text.endswith("\n") else text + "\n"
    return base + _indent(entry, col)


def _indent(block: str, n: int) -> str:
    pad = " " * n
    return "".join(pad + line if line.strip() else line for line in block.splitlines(keepends=True))


def new_waiver(**kw: Any) -> Waiver:
    """A Waiver from keyword fields (as the TUI collects them), validated like a file entry."""
    import yaml

    doc = yaml.safe_dump({"waivers": [{k: v for k, v in kw.items() if v is not None}]}, sort_keys=False)
    wf = loads(doc, source="new waiver")
    if wf.problems:
        raise InputError(wf.problems[0])
    return replace(wf.waivers[0], line=0, expires_line=0)
