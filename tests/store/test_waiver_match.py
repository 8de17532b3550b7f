"""Applying waivers (waiver_match): the index gives what the plain matcher gave, and broad globs are held back.

The reference below is the matcher as it was before the index (every waiver of the finding's rule,
``fnmatch.fnmatchcase`` on case-folded text, the first active hit in file order winning), plus the
broad rule of DECISIONS.md written the obvious way. Hypothesis compares the two on generated cases.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from offhost_audit.store import waivers
from offhost_audit.store.waivers import Waiver

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def _finding(rule: str, name: str, status: str = "fail") -> dict:
    return {
        "rule_id": rule,
        "severity": "high",
        "status": status,
        "subject": {"kind": "host", "name": name},
        "message": "m",
    }


def _waiver(i: int, rule: str, subject: str, *, statuses=("fail",), expired=False, scope=None) -> Waiver:
    return Waiver(
        id=f"W-{i}",
        rule_id=rule,
        subject=subject,
        justification="j",
        expires="2027-01-01",
        statuses=tuple(statuses),
        scope=scope,
        expires_at=NOW + (timedelta(days=-1) if expired else timedelta(days=30)),
    )


def reference(findings: list[dict], items: list[Waiver]):
    """(per finding: status, waiver id, waiver state), ids ignored as broad, applied counts."""
    subjects: dict[str, set[str]] = defaultdict(set)
    for f in findings:
        subjects[f["rule_id"].upper()].add(f["subject"]["name"].casefold())
    ignored = set()
    for w in items:
        names = subjects[w.rule_id.upper()]
        if any(c in w.subject for c in "*?[") and w.scope != "broad":
            n = sum(fnmatch.fnmatchcase(s, w.subject.casefold()) for s in names)
            if n > 5 and 2 * n > len(names):
                ignored.add(w.id)
    out, applied = [], defaultdict(int)
    for f in findings:
        hits = [
            w
            for w in items
            if w.id not in ignored
            and f["status"] in w.statuses
            and w.rule_id.upper() == f["rule_id"].upper()
            and fnmatch.fnmatchcase(f["subject"]["name"].casefold(), w.subject.casefold())
        ]
        w = next((c for c in hits if not c.expired(NOW)), hits[0] if hits else None)
        if w is None:
            out.append((f["status"], None, None))
        elif w.expired(NOW):
            out.append((f["status"], w.id, "expired"))
        else:
            out.append(("waived", w.id, "active"))
            applied[w.id] += 1
    return out, ignored, dict(applied)


def _seen(res) -> list:
    return [
        (f["status"], (f.get("waiver") or {}).get("id"), (f.get("waiver") or {}).get("state")) for f in res.findings
    ]


ALPHABET = "aAbß- >1"
name = st.text(ALPHABET, max_size=5)
pattern = st.text(ALPHABET + "*?[]!", max_size=6)
rule = st.sampled_from(["OHP-001", "ohp-001", "OHP-002"])


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_index_matches_like_the_plain_matcher(data):
    names = data.draw(st.lists(name, min_size=1, max_size=14))
    findings = [
        _finding(
            data.draw(rule), data.draw(st.sampled_from(names)), data.draw(st.sampled_from(["fail", "unknown", "pass"]))
        )
        for _ in range(data.draw(st.integers(0, 30)))
    ]
    items = [
        _waiver(
            i,
            data.draw(rule),
            data.draw(st.one_of(st.sampled_from(names), pattern)),
            statuses=data.draw(st.sampled_from([("fail",), ("unknown",), ("fail", "unknown")])),
            expired=data.draw(st.booleans()),
            scope=data.draw(st.sampled_from([None, "broad"])),
        )
        for i in range(data.draw(st.integers(0, 8)))
    ]
    res = waivers.apply(findings, items, now=NOW)
    want, ignored, applied = reference(findings, items)
    assert _seen(res) == want
    assert {b.waiver.id for b in res.ignored_broad} == ignored
    assert res.applied == applied
    assert {w.id for w in res.unmatched} == {
        w.id for w in items if not w.expired(NOW) and w.id not in ignored and w.id not in applied
    }


def _estate(n: int) -> list[dict]:
    return [_finding("OHP-013", f"PRX{i:02d} -> HV{i:02d}") for i in range(n)]


def test_a_glob_matching_more_than_half_and_more_than_five_is_not_applied():
    res = waivers.apply(_estate(10), [_waiver(1, "OHP-013", "PRX0[0-5]*")], now=NOW)  # 6 of 10
    assert not any(f["status"] == "waived" for f in res.findings)
    assert [(b.waiver.id, b.matched, b.subjects) for b in res.ignored_broad] == [("W-1", 6, 10)]
    assert res.warnings() == [
        "waiver W-1 (OHP-013 'PRX0[0-5]*') was not applied: it matches 6 of the 10 subjects "
        "of OHP-013; name the subjects, or add `scope: broad` to the waiver if it is meant to "
        "cover most of them"
    ]
    assert res.unmatched == []  # it is reported as ignored, not as matching nothing


def test_five_subjects_or_half_of_them_are_not_too_broad():
    five = waivers.apply(_estate(6), [_waiver(1, "OHP-013", "PRX0[0-4]*")], now=NOW)  # 5 of 6: not more than 5
    half = waivers.apply(_estate(12), [_waiver(1, "OHP-013", "PRX0[0-5]*")], now=NOW)  # 6 of 12: not more than half
    assert five.applied == {"W-1": 5} and half.applied == {"W-1": 6}
    assert five.ignored_broad == [] == half.ignored_broad


def test_scope_broad_applies_and_is_listed_for_the_reports():
    res = waivers.apply(_estate(10), [_waiver(1, "OHP-013", "*", scope="broad")], now=NOW)
    assert res.applied == {"W-1": 10} and res.warnings() == []
    broad = res.summary()["broad"]
    assert [(b["id"], b["matched"], b["subjects"], b["waived"]) for b in broad] == [("W-1", 10, 10, 10)]


def test_subjects_of_other_rules_do_not_count():
    findings = _estate(3) + [_finding("OHP-002", f"PRX{i:02d}") for i in range(20)]
    res = waivers.apply(findings, [_waiver(1, "OHP-013", "PRX*")], now=NOW)  # 3 of OHP-013's 3: not more than 5
    assert res.applied == {"W-1": 3}


def test_a_run_with_twenty_thousand_waivers_waives_what_each_names():
    findings = [
        _finding("OHP-013", f"PRX{i:05d} -> HV{i:05d}N{k}", "fail" if k % 3 else "unknown")
        for i in range(500)
        for k in range(8)
    ]
    items = [_waiver(i, "OHP-013", f"prx{i // 8 % 500:05d} -> hv{i // 8 % 500:05d}n{i % 8}") for i in range(16_000)]
    items += [_waiver(16_000 + i, "OHP-013", f"PRX{i:05d} -> *", statuses=("unknown",)) for i in range(4_000)]
    res = waivers.apply(findings, items, now=NOW)
    by_status = defaultdict(set)
    for f in res.findings:
        by_status[f["status"]].add(f["waiver"]["status"])
    assert set(by_status) == {"waived"} and by_status["waived"] == {"fail", "unknown"}
    assert sum(res.applied.values()) == len(findings)
