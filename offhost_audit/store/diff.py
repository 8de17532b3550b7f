"""What changed between two runs, keyed by (rule_id, subject). Scope-aware: nothing is "fixed" unless
the newer run evaluated it and said pass / not applicable.

API::

    d = diff_runs(old, new)        # two history.Run (or anything with .id, .meta, .findings)
    d.changes[category] -> list[Change]   # categories: CATEGORIES below
    d.counts() -> {category: n};  d.by_key() -> {finding_key: category};  d.as_dict() (JSON)

Categories:
  new              fail now, no such finding before
  regressed        fail now, pass / not applicable / unknown before
  still_failing    fail in both
  fixed            fail (or waived while failing) before, pass / not applicable now
  to_unknown       unknown now, known before (pass, fail, ...): a collector stopped answering
  waiver_expired   fail now because the waiver that covered it lapsed
  not_evaluated    failing before and absent now, because the rule or the target left the scope
                   (``reason`` says which) or the subject is gone: never counted as fixed
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from offhost_audit.names import norm_name
from offhost_audit.perf import paused_gc

CATEGORIES = ("new", "regressed", "waiver_expired", "to_unknown", "fixed", "still_failing", "not_evaluated")
LABELS = {
    "new": "new failures",
    "regressed": "regressed",
    "waiver_expired": "failing again: waiver expired",
    "to_unknown": "changed to unknown",
    "fixed": "fixed",
    "still_failing": "still failing",
    "not_evaluated": "no longer evaluated (not fixed)",
}
_TARGET_FIELDS = ("proxy", "host", "cluster", "server")  # subject fields that name an audited target

Key = tuple[str, str, str]


def finding_key(f: dict[str, Any]) -> Key:
    """(rule_id, subject kind, subject name): the identity of a finding across runs. A subject's name
    spells out its relation (``PROXY01 -> HVCL01/Cluster Disk 1``), so it is unique within a rule."""
    subject = f.get("subject") or {}
    return (str(f.get("rule_id")), str(subject.get("kind", "")), str(subject.get("name", "")))


def _status(f: dict[str, Any] | None) -> str | None:
    return None if f is None else f.get("status")


def _was_failing(f: dict[str, Any] | None) -> bool:
    """Failing, or waived while really failing (the waiver hides it, the host still has it)."""
    if f is None:
        return False
    return f.get("status") == "fail" or (
        f.get("status") == "waived" and (f.get("waiver") or {}).get("status") == "fail"
    )


@dataclass
class Change:
    category: str
    rule_id: str
    subject: str
    severity: str
    old_status: str | None
    new_status: str | None
    title: str = ""
    reason: str = ""
    kind: str = ""

    @property
    def key(self) -> Key:
        return (self.rule_id, self.kind, self.subject)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RunDiff:
    old_id: int | None
    new_id: int | None
    changes: dict[str, list[Change]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})

    def counts(self) -> dict[str, int]:
        return {c: len(v) for c, v in self.changes.items()}

    def by_key(self) -> dict[Key, str]:
        """finding_key -> category, for the findings of the newer run that changed (or still fail)."""
        return {c.key: c.category for v in self.changes.values() for c in v}

    def as_dict(self) -> dict[str, Any]:
        return {
            "old_run": self.old_id,
            "new_run": self.new_id,
            "counts": self.counts(),
            "changes": {c: [x.as_dict() for x in v] for c, v in self.changes.items()},
        }


def _scope(meta: dict[str, Any]) -> tuple[set[str] | None, set[str] | None]:
    """(rules, targets) in scope: from the metadata, else None (= unknown, treated as in scope)."""
    rules = meta.get("rules")
    targets = meta.get("targets")
    return (
        {str(r).upper() for r in rules} if rules is not None else None,
        {norm_name(t) for t in targets} if targets is not None else None,
    )


def _out_of_scope(f: dict[str, Any], rules: set[str] | None, targets: set[str] | None) -> str:
    if rules is not None and str(f.get("rule_id")).upper() not in rules:
        return f"rule {f.get('rule_id')} not in scope of the newer run"
    if targets is not None:
        subject = f.get("subject") or {}
        for k in _TARGET_FIELDS:
            v = subject.get(k)
            if v and norm_name(v) not in targets:
                return f"{k} {v} not in scope of the newer run"
    return ""


def diff_runs(old: Any, new: Any) -> RunDiff:
    with paused_gc():
        return _diff(old, new)


def _diff(old: Any, new: Any) -> RunDiff:
    old_by = {finding_key(f): f for f in old.findings}
    new_by = {finding_key(f): f for f in new.findings}
    n_rules, n_targets = _scope(new.meta or {})
    out = RunDiff(getattr(old, "id", None), getattr(new, "id", None))

    def add(cat: str, key: Key, o: dict[str, Any] | None, n: dict[str, Any] | None, reason: str = "") -> None:
        f = n or o or {}
        out.changes[cat].append(
            Change(
                cat,
                key[0],
                key[2],
                str(f.get("severity", "")),
                _status(o),
                _status(n),
                str(f.get("title", "")),
                reason,
                key[1],
            )
        )

    for key, n in new_by.items():
        o = old_by.get(key)
        ns, os_ = _status(n), _status(o)
        if ns == "fail":
            if (n.get("waiver") or {}).get("state") == "expired":
                add("waiver_expired", key, o, n, (n.get("waiver") or {}).get("note", ""))
            elif os_ is None:
                add("new", key, o, n)
            elif os_ == "fail":
                add("still_failing", key, o, n)
            else:
                add("regressed", key, o, n)
        elif ns == "unknown":
            if os_ not in (None, "unknown"):
                add("to_unknown", key, o, n)
        elif ns in ("pass", "not_applicable") and _was_failing(o):
            add("fixed", key, o, n)  # both runs evaluated it: in scope of both
    for key, o in old_by.items():
        if key in new_by or not _was_failing(o):
            continue
        add("not_evaluated", key, o, None, _out_of_scope(o, n_rules, n_targets) or "no such subject in the newer run")
    for v in out.changes.values():
        v.sort(key=lambda c: (c.rule_id, c.subject))
    return out
