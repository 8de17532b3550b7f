"""diff_runs: new, fixed, regressed, still failing, to unknown, waiver expired; scope-aware."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

from offhost_audit import audit
from offhost_audit.store.diff import diff_runs
from offhost_audit.store.history import History


def _find(found, rule_id):
    return next(f for f in found if f["rule_id"] == rule_id and f["status"] == "fail")


def test_fix_between_two_runs_shows_fixed(tmp_path, evaluated):
    """Two real runs with a fix in between: the problems estate, then the healthy one."""
    bad_facts, bad = evaluated["csv-cluster-problems"]
    good_facts, good = evaluated["csv-cluster-healthy"]
    db = tmp_path / "h.sqlite"
    r1 = audit.record_run(bad_facts, bad, db=db)
    r2 = audit.record_run(good_facts, good, db=db)
    with History(db) as h:
        d = diff_runs(h.load(r1.id), h.load(r2.id))
    fixed = {(c.rule_id, c.subject) for c in d.changes["fixed"]}
    assert fixed, d.counts()
    for c in d.changes["fixed"]:
        assert c.old_status == "fail" and c.new_status in ("pass", "not_applicable")
    assert not d.changes["new"] and not d.changes["regressed"]


def _run(found, **meta):
    class R:  # anything with id, meta, findings
        pass

    r = R()
    r.id, r.meta, r.findings = meta.pop("id", None), meta, found
    return r


def test_every_category(problems):
    _, old = problems
    new = copy.deepcopy(old)
    f_fixed = next(f for f in new if f["status"] == "fail")
    f_fixed["status"] = "pass"
    f_unknown = next(f for f in new if f["status"] == "pass" and f is not f_fixed)
    f_unknown["status"] = "unknown"
    f_regressed = next(f for f in new if f["status"] == "pass" and f is not f_fixed)
    f_regressed["status"] = "fail"
    brand_new = copy.deepcopy(f_regressed)
    brand_new["subject"] = {"kind": "proxy", "name": "PROXY99", "proxy": "PROXY99"}
    new.append(brand_new)
    d = diff_runs(_run(old, id=1), _run(new, id=2))
    c = d.counts()
    assert c["fixed"] == 1 and d.changes["fixed"][0].rule_id == f_fixed["rule_id"]
    assert c["to_unknown"] == 1 and c["regressed"] == 1 and c["new"] == 1
    assert c["still_failing"] == sum(f["status"] == "fail" for f in old) - 1
    assert c["not_evaluated"] == 0


def test_rule_dropped_from_scope_is_not_fixed(problems):
    _, old = problems
    dropped = _find(old, "OHP-010")["rule_id"]
    rules = sorted({f["rule_id"] for f in old})
    new = [f for f in old if f["rule_id"] != dropped]
    d = diff_runs(_run(old, rules=rules), _run(new, rules=[r for r in rules if r != dropped]))
    assert not d.changes["fixed"]
    gone = d.changes["not_evaluated"]
    assert gone and all(c.rule_id == dropped and "not in scope" in c.reason for c in gone)


def test_target_dropped_from_scope_is_not_fixed(problems):
    _, old = problems
    f = _find(old, "OHP-010")
    new = [x for x in old if x is not f]
    d = diff_runs(_run(old, targets=["PROXY01", "HVCL01", "HVCL02"]), _run(new, targets=["PROXY01", "HVCL01"]))
    assert not d.changes["fixed"]
    assert [c.reason for c in d.changes["not_evaluated"]] == ["cluster HVCL02 not in scope of the newer run"]


def test_expired_waiver_fails_again(tmp_path, problems):
    facts, found = problems
    f = _find(found, "OHP-010")
    w = tmp_path / "w.yaml"
    w.write_text(
        f"waivers:\n  - id: W-9\n    rule_id: OHP-010\n    subject: '{f['subject']['name']}'\n"
        "    justification: later\n    expires: 2026-12-01\n"
    )
    r1 = audit.record_run(facts, found, waivers=w, save=False, now=datetime(2026, 11, 30, tzinfo=timezone.utc))
    r2 = audit.record_run(facts, found, waivers=w, save=False, now=datetime(2026, 12, 2, tzinfo=timezone.utc))
    assert any(x["status"] == "waived" for x in r1.findings)
    assert not any(x["status"] == "waived" for x in r2.findings)
    assert r2.meta["waivers"]["expired"][0]["id"] == "W-9"
    d = diff_runs(r1, r2)
    assert [c.rule_id for c in d.changes["waiver_expired"]] == ["OHP-010"]
    assert "W-9" in d.changes["waiver_expired"][0].reason


def test_rule_removed_from_the_policy_bundle_is_not_fixed(tmp_path, problems):
    """End to end: the same estate evaluated by the shipped policies, then by a bundle without OHP-010."""
    import shutil

    from offhost_audit.resources import policies_dir

    facts, _ = problems
    trimmed = tmp_path / "policies"
    shutil.copytree(policies_dir(), trimmed)
    shutil.rmtree(trimmed / "csv" / "not_cluster_node")
    main = trimmed / "main" / "main.rego"
    main.write_text(
        "".join(line for line in main.read_text().splitlines(keepends=True) if "not_cluster_node" not in line)
    )
    db = tmp_path / "h.sqlite"
    before = audit.record_run(facts, audit.evaluate_facts(facts), db=db)
    after = audit.record_run(facts, audit.evaluate_facts(facts, policies=trimmed), db=db, policies=trimmed)
    assert "OHP-010" in before.meta["rules"] and "OHP-010" not in after.meta["rules"]
    assert before.meta["policy_bundle_hash"] != after.meta["policy_bundle_hash"]
    d = diff_runs(before, after)
    assert not [c for c in d.changes["fixed"] if c.rule_id == "OHP-010"]
    dropped = [c for c in d.changes["not_evaluated"] if c.rule_id == "OHP-010"]
    assert dropped and all(c.reason == "rule OHP-010 not in scope of the newer run" for c in dropped)


def _three_runs(tmp_path):
    """Runs 1 and 3 of one estate (facts file a.json), run 2 of another (b.json)."""
    from offhost_audit.cli import main

    db = tmp_path / "h.sqlite"
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    examples = Path(__file__).resolve().parents[2] / "examples" / "facts"
    a.write_bytes((examples / "csv-cluster-problems.json").read_bytes())
    b.write_bytes((examples / "smb-estate.json").read_bytes())
    for f in (a, b):
        assert main(["evaluate", "-f", str(f), "--db", str(db), "-q"]) in (0, 1)
    a.write_bytes((examples / "csv-cluster-healthy.json").read_bytes())  # the estate after a fix
    assert main(["evaluate", "-f", str(a), "--db", str(db), "-q"]) == 0
    return db


def _diff(db, capsys, *args):
    from offhost_audit.cli import main

    capsys.readouterr()
    code = main(["diff", *args, "--db", str(db), "--format", "json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else out.err)


def test_diff_two_runs_compares_exactly_those_in_that_order(tmp_path, capsys):
    db = _three_runs(tmp_path)
    code, d = _diff(db, capsys, "1", "3")
    assert code == 0 and (d["old_run"], d["new_run"]) == (1, 3)
    code, d = _diff(db, capsys, "3", "1")
    assert code == 0 and (d["old_run"], d["new_run"]) == (3, 1) and d["counts"]["regressed"] + d["counts"]["new"] > 0
    from offhost_audit.cli import main

    assert main(["diff", "1", "3", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("run 1 (")


def test_diff_one_run_compares_it_with_the_previous_run_of_its_estate(tmp_path, capsys):
    db = _three_runs(tmp_path)
    code, d = _diff(db, capsys, "3")
    assert code == 0 and (d["old_run"], d["new_run"]) == (1, 3) and d["counts"]["not_evaluated"] == 2
    code, d = _diff(db, capsys)  # the latest: run 3, against run 1 (run 2 audited another estate)
    assert code == 0 and (d["old_run"], d["new_run"]) == (1, 3)
    code, err = _diff(db, capsys, "2")
    assert code == 2 and "run 2 has no earlier run of the same estate" in err


def test_diff_of_a_run_with_itself_is_refused(tmp_path, capsys):
    db = _three_runs(tmp_path)
    code, err = _diff(db, capsys, "2", "2")
    assert code == 2 and "the same run twice" in err


def test_reports_compare_with_the_previous_run_of_the_same_estate(tmp_path, capsys):
    from offhost_audit.cli import main

    db = _three_runs(tmp_path)
    out = tmp_path / "rep"
    assert main(["report", "3", "-o", str(out), "--db", str(db), "-f", "md", "-q"]) == 0
    md = (out / "latest.md").read_text()
    assert "Run 1 → run 3." in md.split("## Change since the previous run")[1].split("##")[0]
    with History(db) as h:
        assert [s.id for s in h.runs(estate=h.estate(3))] == [3, 1]
        assert [s.id for s in h.runs(estate=h.estate(3), up_to=2)] == [1]
