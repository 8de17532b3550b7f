"""Waivers: accepted risks in a YAML file, each with a justification and an expiry that cannot rot.

File format (``--waivers FILE``; the audit's default is ``waivers.yaml`` beside the inventory)::

    max_lifetime_days: 365        # optional (1-3650; default 365): a waiver lives at most this long after
                                  # `created`; when the file sets it, every waiver needs `created`
    waivers:
      - id: W-001                 # required, unique
        rule_id: OHP-010          # required
        subject: "HV0*"           # required: the finding's subject name, exact or a glob (case-insensitive)
        justification: "..."      # required
        expires: 2026-12-31       # required: a date means 00:00 UTC that day; or an ISO 8601 date-time
        owner: ops                # optional
        approved_by: ciso         # optional
        created: 2026-06-01       # optional (required when the file sets max_lifetime_days)
        ticket: CHG-123           # optional
        statuses: [fail]          # optional: which statuses it waives (fail, unknown); default [fail]
        scope: broad              # optional: the glob may cover most of the rule's subjects (see below)

Dates fall in the years 2000-2199. Text fields hold no control characters or lone surrogates
(``justification`` may span lines). A glob that matches more than half of a rule's subjects in a run,
and more than 5 of them, is not applied (a warning says so) unless the waiver says ``scope: broad``;
applied broad waivers are listed in the run's summary for the reports to show.

API (the CLI, ``audit.record_run`` and the TUI use these)::

    load(path) -> WaiverFile                   # InputError, one "file:line: field: ..." line per problem (exit 2)
    apply(findings, waivers, now=None) -> Applied
    append(path, waiver)                       # atomically, keeping what the file had (comments too)
    lint(path, now=None, rules=None) -> Lint   # for CI: `offhost-audit waivers lint FILE`

A waived finding keeps its real status underneath: ``status`` becomes ``waived`` and ``waiver`` is
``{"id", "state": "active", "status": <real status>, "justification", "owner", "approved_by",
"expires", "ticket"}``. A matching waiver that has expired no longer applies: the finding keeps its
real status and gets ``waiver = {"id", "state": "expired", "status", "expires", "note"}``. An
unparseable ``expires`` or ``created`` counts as expired and is reported in ``WaiverFile.problems``;
an ``expires`` beyond ``created + max_lifetime_days`` is capped there and reported too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from offhost_audit.atomic import write_atomic
from offhost_audit.errors import InputError
from offhost_audit.inputs import read_input
from offhost_audit.store.waiver_match import (
    BROAD_MIN,
    EXPIRING_SOON_DAYS,
    MAGIC,
    WAIVABLE,
    Applied,
    apply,
    as_utc,
    literal_characters,
    summary_warnings,
)

if TYPE_CHECKING:
    import yaml  # imported where a file is read or written: applying no waivers needs no YAML

    from offhost_audit.yamldoc import Doc

__all__ = [
    "EXPIRING_SOON_DAYS",
    "WAIVABLE",
    "Applied",
    "Lint",
    "Waiver",
    "WaiverFile",
    "append",
    "apply",
    "lint",
    "load",
    "loads",
    "new_waiver",
    "summary_warnings",
]

DEFAULT_MAX_LIFETIME_DAYS = 365
MAX_LIFETIME_LIMIT = 3650  # ten years: the most `max_lifetime_days` may say
YEARS = (2000, 2199)  # dates outside are refused (9999-12-31 is "never", which a waiver cannot say)
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
    "scope",
)
REQUIRED = ("id", "rule_id", "subject", "justification", "expires")
SCOPES = ("broad",)
_RULE_ID = re.compile(r"^OHP-[0-9]{3}$")
_DAYS = re.compile(r"[0-9]{1,9}")


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
    scope: str | None = None
    line: int = 0
    expires_at: datetime | None = None  # effective expiry (capped by the lifetime); None = unparseable
    expires_line: int = 0
    index: int = 0  # its place in the file's list (waivers[index])
    field_lines: tuple[tuple[str, int], ...] = ()  # (field, line) as the file gave them

    def line_of(self, name: str) -> int:
        return next((n for f, n in self.field_lines if f == name), self.line)

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
    max_lifetime_set: bool = False  # the file says max_lifetime_days (then every waiver needs `created`)
    problems: list[str] = field(default_factory=list)  # "file:line: field: ..." that did not stop loading
    problem_lines: list[int] = field(default_factory=list, repr=False)  # the line of each problem

    def problem(self, line: int, text: str) -> None:
        self.problems.append(text)
        self.problem_lines.append(line)


class Problem(NamedTuple):
    line: int
    text: str  # "file:line: field: what"
    invalid: bool  # an invalid entry (exit 2); else an expired, unparseable or too distant date (exit 1)


@dataclass
class Lint:
    """What `waivers lint` found: every problem of the file, in line order."""

    count: int  # waivers read (invalid entries not counted)
    problems: list[Problem]

    @property
    def exit_code(self) -> int:
        return 2 if any(p.invalid for p in self.problems) else 1 if self.problems else 0


class DateOutOfRange(ValueError):
    pass


def parse_expiry(text: str) -> datetime | None:
    """A date means 00:00 UTC that day; a date-time without a zone is UTC. None when unparseable;
    DateOutOfRange when its year is outside YEARS (checked before any time-zone arithmetic)."""
    s = str(text).strip()
    try:
        if len(s) == 10:
            dt = datetime.combine(date.fromisoformat(s), time(0, 0), tzinfo=timezone.utc)
        else:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    if not YEARS[0] <= dt.year <= YEARS[1]:
        raise DateOutOfRange(f"year {dt.year} is outside {YEARS[0]}-{YEARS[1]}")
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def loads(text: str, *, source: str = "waivers") -> WaiverFile:
    """Parse and check a waivers file; InputError lists every invalid entry, one line each."""
    from offhost_audit.perf import paused_gc

    with paused_gc():  # 20,000 waivers are 300,000 YAML nodes: full collections would double the time
        wf, doc = _parse(text, source)
    doc.raise_errors()
    return wf


def load(path: str | os.PathLike[str]) -> WaiverFile:
    return loads(read_input(path, "a waivers YAML file"), source=str(Path(path)))


def _parse(text: str, source: str) -> tuple[WaiverFile, Doc]:
    """The waivers that are valid, the problems that did not stop them, and the errors (in doc)."""
    import yaml

    from offhost_audit.yamldoc import Doc, compose

    root = compose(text, source)  # not YAML, nested too deep, alias bombs: one-line InputError
    out, doc = WaiverFile(path=source), Doc(source)
    if root is None:
        return out, doc
    if not isinstance(root, yaml.MappingNode):
        doc.note((), "expected a mapping with a `waivers:` list", line=root.start_mark.line + 1)
        return out, doc
    entries, lifetime = None, None
    for k, v in root.value:
        key = k.value if isinstance(k, yaml.ScalarNode) else None
        if key == "max_lifetime_days":
            lifetime = v
        elif key == "waivers":
            entries = v
        else:
            doc.note(
                ("(top)",) if key is None else (key,),
                "unknown key (expected `waivers` or `max_lifetime_days`)",
                line=k.start_mark.line + 1,
            )
    if lifetime is not None:
        raw = lifetime.value if isinstance(lifetime, yaml.ScalarNode) else None
        if not (isinstance(raw, str) and _DAYS.fullmatch(raw) and 1 <= int(raw) <= MAX_LIFETIME_LIMIT):
            doc.note(
                ("max_lifetime_days",),
                f"expected a whole number of days from 1 to {MAX_LIFETIME_LIMIT}",
                line=lifetime.start_mark.line + 1,
            )
        else:
            out.max_lifetime_days = int(raw)
        out.max_lifetime_set = True
    if entries is None or (isinstance(entries, yaml.ScalarNode) and entries.value in ("", "~", "null")):
        return out, doc
    if not isinstance(entries, yaml.SequenceNode):
        doc.note(("waivers",), "expected a list of waivers", line=entries.start_mark.line + 1)
        return out, doc
    seen: dict[str, int] = {}
    for i, node in enumerate(entries.value):
        with doc.each():
            w = _entry(doc, node, ("waivers", i), out)
            if w.id in seen:
                doc.fail(
                    ("waivers", i, "id"), f"duplicate waiver id {_show(w.id)} (first at line {seen[w.id]})", line=w.line
                )
            seen[w.id] = w.line
            out.waivers.append(w)
    return out, doc


def _show(value: str) -> str:
    from offhost_audit.yamldoc import show

    return show(value)


def _entry(doc: Doc, node: yaml.Node, at: tuple[Any, ...], out: WaiverFile) -> Waiver:
    """One waiver; every problem of the entry is noted before it is skipped (yamldoc.Skip)."""
    import yaml

    from offhost_audit.text import unsafe_character

    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        doc.fail(at, "expected a mapping (id, rule_id, subject, justification, expires, ...)", line=line)
    before = len(doc.errors)
    vals: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for k, v in node.value:
        name = k.value if isinstance(k, yaml.ScalarNode) else "(a list or mapping as a key)"
        vline = v.start_mark.line + 1
        if name not in FIELDS:
            doc.note(at + (name,), f"unknown field (expected one of: {', '.join(FIELDS)})", line=k.start_mark.line + 1)
            continue
        if name in vals:
            doc.note(at + (name,), f"given twice (first at line {lines[name]})", line=vline)
            continue
        lines[name] = vline
        if name == "statuses":
            val: Any = [v.value] if isinstance(v, yaml.ScalarNode) else v.value
            vals[name] = ()
            if not (
                isinstance(val, list)
                and val
                and all(isinstance(s, (str, yaml.ScalarNode)) for s in val)
                and all((s if isinstance(s, str) else s.value) in WAIVABLE for s in val)
            ):
                doc.note(at + (name,), f"expected a list of: {', '.join(WAIVABLE)}", line=vline)
            else:
                vals[name] = tuple(s if isinstance(s, str) else s.value for s in val)
            continue
        if not isinstance(v, yaml.ScalarNode) or (name in REQUIRED and not v.value.strip()):
            doc.note(at + (name,), "expected a non-empty text value", line=vline)
            continue
        bad = unsafe_character(v.value, newlines=name == "justification")
        if bad:
            doc.note(at + (name,), f"contains the unprintable character {bad}: remove it", line=vline)
            continue
        vals[name] = v.value.strip()
    for name in REQUIRED:
        if name not in lines:
            doc.note(at + (name,), "required field missing", line=line)
    if "rule_id" in vals and not _RULE_ID.match(vals["rule_id"].upper()):
        doc.note(
            at + ("rule_id",), f"expected a rule id like OHP-010, not {_show(vals['rule_id'])}", line=lines["rule_id"]
        )
    if vals.get("scope") not in (None, *SCOPES):
        doc.note(at + ("scope",), f"expected {' or '.join(SCOPES)}, not {_show(vals['scope'])}", line=lines["scope"])
    if out.max_lifetime_set and "created" not in lines:
        doc.note(
            at + ("created",),
            f"required when the file sets max_lifetime_days (={out.max_lifetime_days}): the lifetime counts from it",
            line=line,
        )
    dates: dict[str, datetime | None] = {}
    for name in ("created", "expires"):
        if name in vals:
            try:
                dates[name] = parse_expiry(vals[name])
            except DateOutOfRange as e:
                doc.note(at + (name,), f"{e}: give a real date", line=lines[name])
    if len(doc.errors) > before:
        from offhost_audit.yamldoc import Skip

        raise Skip
    return _dated(out, at, vals, lines, dates, line)


def _dated(
    out: WaiverFile,
    at: tuple[Any, ...],
    vals: dict[str, Any],
    lines: dict[str, int],
    dates: dict[str, datetime | None],
    line: int,
) -> Waiver:
    """The waiver with its effective expiry; unparseable dates and a capped lifetime go to out.problems."""
    from offhost_audit.yamldoc import field_path

    def where(name: str) -> str:
        return f"{out.path}:{lines[name]}: {field_path(at + (name,))}"

    expires_at = dates["expires"]
    if expires_at is None:
        out.problem(
            lines["expires"],
            f"{where('expires')}: unparseable date {_show(vals['expires'])}: waiver {vals['id']} counts as expired",
        )
    if "created" in vals:
        created_at = dates["created"]
        if created_at is None:  # the lifetime cannot be checked: as with an unparseable expiry, it counts as expired
            expires_at = None
            out.problem(
                lines["created"],
                f"{where('created')}: unparseable date {_show(vals['created'])}: waiver {vals['id']} counts as expired",
            )
        elif expires_at is not None and expires_at > created_at + timedelta(days=out.max_lifetime_days):
            expires_at = created_at + timedelta(days=out.max_lifetime_days)
            out.problem(
                lines["expires"],
                f"{where('expires')}: more than max_lifetime_days={out.max_lifetime_days} after created: "
                f"waiver {vals['id']} expires {expires_at.date().isoformat()} instead",
            )
    return Waiver(
        line=line,
        expires_at=expires_at,
        expires_line=lines["expires"],
        index=at[-1],
        field_lines=tuple(lines.items()),
        **vals,
    )


def lint(path: str | Path, now: datetime | None = None, rules: Collection[str] | None = None) -> Lint:
    """Every problem of a waivers file, as ``file:line: field: message`` lines in line order.

    Invalid entries (exit 2), as the run would refuse them, and beside them what the run cannot know
    without an estate: a rule id not in ``rules`` (the policies' catalogue), a subject that matches
    anything (``*``, or no literal character) without ``scope: broad``. Expired waivers, unparseable
    dates and lifetimes cut by ``max_lifetime_days`` are problems of exit 1."""
    from offhost_audit.perf import paused_gc
    from offhost_audit.yamldoc import field_path

    now = as_utc(now)
    text = read_input(path, "a waivers YAML file")  # a file that cannot be read is an error, not a problem
    try:
        with paused_gc():
            wf, doc = _parse(text, str(Path(path)))
    except InputError as e:  # not YAML at all: that one problem
        return Lint(0, [Problem(0, line, True) for line in str(e).splitlines()])
    found = [Problem(n, text, True) for n, text in doc.errors]
    found += [Problem(n, text, False) for n, text in zip(wf.problem_lines, wf.problems)]
    known = {r.upper() for r in rules} if rules is not None else None
    for w in wf.waivers:

        def problem(name: str, text: str, invalid: bool, w: Waiver = w) -> None:
            line = w.line_of(name)
            found.append(Problem(line, f"{wf.path}:{line}: {field_path(('waivers', w.index, name))}: {text}", invalid))

        if known is not None and w.rule_id.upper() not in known:
            problem("rule_id", f"no rule {w.rule_id} in the policies: this waiver can never apply", True)
        if w.scope != "broad" and MAGIC.search(w.subject) and not literal_characters(w.subject).strip():
            problem(
                "subject",
                f"{_show(w.subject)} matches any subject: name the subjects, or say `scope: broad` "
                f"(without it a run ignores a glob matching more than half of a rule's subjects and more than "
                f"{BROAD_MIN})",
                True,
            )
        if w.expires_at is not None and w.expired(now):
            problem("expires", f"waiver {w.id} expired {w.expires_at.date().isoformat()}: renew it or remove it", False)
    found.sort(key=lambda p: p.line)
    return Lint(len(wf.waivers), found)


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
        doc: dict[str, Any] = {"max_lifetime_days": current.max_lifetime_days} if current.max_lifetime_set else {}
        doc["waivers"] = [w.to_yaml_dict() for w in current.waivers] + [waiver.to_yaml_dict()]
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
    return replace(wf.waivers[0], line=0, expires_line=0, field_lines=())
