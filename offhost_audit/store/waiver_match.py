"""Applying waivers to findings: an index by rule and subject, so that 20,000 waivers cost little.

``waivers.py`` reads and checks the file; this module matches. For each rule that has waivers, the
run's subject names of that rule (case-folded) are collected once; an exact subject is a dict
lookup; a glob is compiled once and tried only on the names that share its literal prefix (or
suffix) in a sorted list, so a glob like ``PROXY01 -> *`` touches the few names it can match. Each
(rule, name) then holds the waivers matching it in file order, and a finding looks its list up.

The result is the one the plain rule gives (``fnmatch.fnmatchcase(name.casefold(),
subject.casefold())`` for every waiver of the finding's rule, the first active one in file order
winning, else the first expired one): tests/reports/test_waivers.py compares the two on generated
cases. One addition: a glob that matches more than half of its rule's subjects in the run, and
more than BROAD_MIN of them, is not applied unless the waiver says ``scope: broad`` (DECISIONS.md).
"""

from __future__ import annotations

import fnmatch
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

BROAD_MIN = 5  # a glob matching more than this many of a rule's subjects, and more than half, is broad
EXPIRING_SOON_DAYS = 14
WAIVABLE = ("fail", "unknown")
MAGIC = re.compile(r"[*?\[]")  # fnmatch's special characters: without them a subject is an exact name
_EDGE = re.compile(r"[^*?\[\]]*")  # the literal run at either end of a glob


class WaiverLike(Protocol):  # waivers.Waiver (not imported: waivers imports this module)
    id: str
    rule_id: str
    subject: str
    justification: str
    expires: str
    owner: str | None
    approved_by: str | None
    ticket: str | None
    statuses: tuple[str, ...]
    scope: str | None
    expires_at: datetime | None

    def expired(self, now: datetime) -> bool: ...


class SourceLike(Protocol):  # waivers.WaiverFile
    path: str
    waivers: list[Any]
    problems: list[str]


@dataclass
class Broad:
    """A glob waiver and how much of its rule it covered in this run."""

    waiver: WaiverLike
    matched: int  # subjects of the rule it matches
    subjects: int  # subjects of the rule in the run


@dataclass
class Applied:
    """What apply() did: the findings (waivers applied) and which waivers did what."""

    findings: list[dict[str, Any]]
    applied: dict[str, int] = field(default_factory=dict)  # waiver id -> findings it waived
    expired: list[WaiverLike] = field(default_factory=list)  # matched something but had expired
    unmatched: list[WaiverLike] = field(default_factory=list)  # active, matched nothing
    expiring_soon: list[WaiverLike] = field(default_factory=list)
    ignored_broad: list[Broad] = field(default_factory=list)  # too broad without `scope: broad`: not applied
    broad: list[Broad] = field(default_factory=list)  # `scope: broad` globs that waived something

    def warnings(self) -> list[str]:
        """Run warnings: the waivers ignored as too broad (every face shows the run's warnings)."""
        return summary_warnings(self.summary())

    def summary(self, source: SourceLike | None = None) -> dict[str, Any]:
        """The JSON-able summary a run records in its metadata (and the reports show)."""

        def brief(w: WaiverLike) -> dict[str, Any]:
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
            "ignored_broad": [
                dict(brief(b.waiver), matched=b.matched, subjects=b.subjects) for b in self.ignored_broad
            ],
            "broad": [
                dict(brief(b.waiver), matched=b.matched, subjects=b.subjects, waived=self.applied.get(b.waiver.id, 0))
                for b in self.broad
            ],
        }


def summary_warnings(summary: dict[str, Any]) -> list[str]:
    """The run warnings of a waivers summary (Applied.summary, as a run records it)."""
    return [
        f"waiver {w['id']} ({w['rule_id']} {w['subject']!r}) was not applied: it matches {w['matched']} of the "
        f"{w['subjects']} subjects of {w['rule_id']}; name the subjects, or add `scope: broad` to the waiver if it "
        "is meant to cover most of them"
        for w in summary.get("ignored_broad") or []
    ]


def literal_characters(pattern: str) -> str:
    """What a subject glob says literally: the pattern without ``*``, ``?`` and ``[...]`` sets."""
    return re.sub(r"\[!?\]?[^\]]*\]|[*?]", "", pattern)


def as_utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now


def apply(
    findings: Iterable[dict[str, Any]], waivers: SourceLike | Iterable[WaiverLike] | None, now: datetime | None = None
) -> Applied:
    """Apply waivers to findings (the input dicts are not changed; changed findings are copies)."""
    now = as_utc(now)
    items: list[WaiverLike] = list(waivers.waivers if hasattr(waivers, "waivers") else waivers or [])  # type: ignore[union-attr]
    if not items:  # nothing to apply: the findings as they are (a scheduled run without waivers)
        return Applied(findings=list(findings))
    findings = list(findings)
    by_rule: dict[str, list[int]] = {}
    for pos, item in enumerate(items):
        by_rule.setdefault(item.rule_id.upper(), []).append(pos)
    names: dict[str, set[str]] = {rule: set() for rule in by_rule}
    keys: list[tuple[str, str] | None] = []
    for f in findings:
        rule = str(f.get("rule_id", "")).upper()
        seen = names.get(rule)
        if seen is None:
            keys.append(None)
            continue
        name = str((f.get("subject") or {}).get("name", "")).casefold()
        seen.add(name)
        keys.append((rule, name))
    res = Applied(findings=[])
    index = {rule: _rule_index(items, by_rule[rule], names[rule], res) for rule in by_rule}
    hit_expired: dict[str, WaiverLike] = {}
    out = res.findings
    for f, key in zip(findings, keys):
        status = f.get("status")
        if key is None or status not in WAIVABLE:
            out.append(f)
            continue
        hits = [items[p] for p in index[key[0]].get(key[1], ()) if status in items[p].statuses]
        w = next((c for c in hits if not c.expired(now)), hits[0] if hits else None)  # an active one first
        if w is not None:
            f = _mark(f, w, now)
            if w.expired(now):
                hit_expired[w.id] = w
            else:
                res.applied[w.id] = res.applied.get(w.id, 0) + 1
        out.append(f)
    soon = now + timedelta(days=EXPIRING_SOON_DAYS)
    ignored = {id(b.waiver) for b in res.ignored_broad}
    active = [w for w in items if not w.expired(now) and id(w) not in ignored]
    res.expired = list(hit_expired.values())
    res.unmatched = [w for w in active if w.id not in res.applied]
    res.expiring_soon = [w for w in active if w.expires_at is not None and w.expires_at <= soon]
    res.broad = [b for b in res.broad if b.waiver.id in res.applied]
    return res


def unwaived(f: dict[str, Any]) -> dict[str, Any]:
    """A finding as the evaluation gave it, before :func:`apply` marked it (a copy when it was marked):
    the waiver taken off and an active one's real status back."""
    if "waiver" not in f:
        return f
    f = dict(f)
    w = f.pop("waiver")
    if isinstance(w, dict) and w.get("state") == "active" and w.get("status"):
        f["status"] = w["status"]
    return f


def _rule_index(items: list[WaiverLike], positions: list[int], names: set[str], res: Applied) -> dict[str, list[int]]:
    """Name (case-folded) -> positions of the rule's waivers that match it, in file order."""
    ordered = sorted(names)
    backwards: list[str] | None = None
    out: dict[str, list[int]] = {}
    for pos in positions:
        w = items[pos]
        pattern = w.subject.casefold()
        if not MAGIC.search(pattern):
            if pattern in names:
                out.setdefault(pattern, []).append(pos)
            continue
        prefix = _EDGE.match(pattern).group()  # type: ignore[union-attr]  # always matches (maybe empty)
        rsuffix = _EDGE.match(pattern[::-1]).group()  # type: ignore[union-attr]  # the literal end, reversed
        if not prefix and rsuffix:
            if backwards is None:
                backwards = sorted(n[::-1] for n in names)
            candidates = [n[::-1] for n in _starting(backwards, rsuffix)]
        else:
            candidates = _starting(ordered, prefix)
        test = _matcher(pattern)
        matched = [n for n in candidates if test(n)]
        b = Broad(w, len(matched), len(names))
        if len(matched) > BROAD_MIN and 2 * len(matched) > len(names) and w.scope != "broad":
            res.ignored_broad.append(b)
            continue
        if w.scope == "broad":
            res.broad.append(b)
        for n in matched:
            out.setdefault(n, []).append(pos)
    return out


def _starting(ordered: list[str], prefix: str) -> list[str]:
    """The names in a sorted list that start with prefix."""
    if not prefix:
        return ordered
    i = bisect_left(ordered, prefix)
    j = i
    while j < len(ordered) and ordered[j].startswith(prefix):
        j += 1
    return ordered[i:j]


def _matcher(pattern: str) -> Callable[[str], bool]:
    """fnmatch.fnmatchcase(name, pattern) as one compiled test (plain string tests for the common shapes)."""
    inner = pattern[1:-1]
    if pattern.endswith("*") and not MAGIC.search(pattern[:-1]):
        return lambda n, p=pattern[:-1]: n.startswith(p)  # type: ignore[misc]
    if pattern.startswith("*") and not MAGIC.search(pattern[1:]):
        return lambda n, s=pattern[1:]: n.endswith(s)  # type: ignore[misc]
    if len(pattern) >= 2 and pattern[0] == pattern[-1] == "*" and not MAGIC.search(inner):
        return lambda n, s=inner: s in n  # type: ignore[misc]
    return re.compile(fnmatch.translate(pattern)).match  # type: ignore[return-value]


def _mark(f: dict[str, Any], w: WaiverLike, now: datetime) -> dict[str, Any]:
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
