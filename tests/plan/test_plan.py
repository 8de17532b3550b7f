"""The planner (offhost_audit/plan/): hand-solved estates give their known optimum; what cannot be
served, or not with redundancy 2, is named with the rules that block it; the greedy fallback says
it is one. Estates are facts plus findings judged by the real verdict function (findings/verdicts.py);
the engine-backed cases use the shipped example facts and the real policies."""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path

import jsonschema
import pytest

from offhost_audit import audit, plan
from offhost_audit.cli import main
from offhost_audit.errors import InputError
from offhost_audit.plan import solver

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "facts"
SCHEMA = json.loads((ROOT / "schema" / "plan.schema.json").read_text(encoding="utf-8"))


def estate(
    caps: dict[str, int | None], hosts: dict[str, int], shares: dict[str, int], ok: set[tuple[str, str]]
) -> tuple[dict, list[dict]]:
    """Facts and findings: each proxy assigned to every standalone host (one VM whose ``load``
    local disks live there) and judged for every share (a VM on HVS with ``load`` disks on it);
    a pair in ``ok`` passes OHP-002 (host) or OHP-021 (share), any other fails it (high: blocks)."""
    vms = [
        {"name": f"VM-{h}", "host": h, "disks": [{"path": f"D:\\{h}\\{i}.vhdx", "storage": "local"} for i in range(n)]}
        for h, n in hosts.items()
    ]
    vms += [
        {
            "name": f"VM-{i}",
            "host": "HVS",
            "disks": [{"path": f"{unc}\\d{j}.vhdx", "storage": "smb", "share": unc} for j in range(n)],
        }
        for i, (unc, n) in enumerate(shares.items())
    ]
    facts = {
        "assignments": [
            {"proxy": p, "max_tasks": c, "sources": [{"kind": "host", "name": h} for h in hosts]}
            for p, c in caps.items()
        ],
        "vms": vms,
    }
    found = []
    for p in caps:
        for h in hosts:
            found.append(
                _finding("OHP-002", (p, h) in ok, {"kind": "proxy_host", "name": f"{p} -> {h}", "proxy": p, "host": h})
            )
        for unc in shares:
            found.append(
                _finding(
                    "OHP-021",
                    (p, unc) in ok,
                    {"kind": "proxy_share", "name": f"{p} -> {unc}", "proxy": p, "share": unc},
                )
            )
    return facts, found


def _finding(rule: str, ok: bool, subject: dict) -> dict:
    return {"rule_id": rule, "status": "pass" if ok else "fail", "severity": "high", "subject": subject}


S1 = "\\\\FS01\\VMS"
# Estate A, solved by hand: no single proxy is eligible everywhere; of the pairs only {P1, P4} covers
# every source (H3 needs P1|P3, S1 P1|P2, H2 P2|P4, H1 P1|P4, H4 P3|P4). P1 must take H3 and S1
# (6 of 8), P4 H2 and H4 (8 of 16); H1 (4) no longer fits P1, so P4 takes it: 12 of 16. Peak 75 %.
A_OK = {("P1", "H1"), ("P4", "H1"), ("P2", "H2"), ("P4", "H2"), ("P1", "H3"), ("P3", "H3"), ("P3", "H4"), ("P4", "H4")}
A_OK |= {("P1", S1), ("P2", S1)}
A_CAPS = {"P1": 8, "P2": 8, "P3": 4, "P4": 16}
A_HOSTS = {"H1": 4, "H2": 4, "H3": 4, "H4": 4}


def test_a_hand_solved_estate_gives_the_known_optimum():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)  # the published schema is itself valid
    facts, found = estate(A_CAPS, A_HOSTS, {S1: 2}, A_OK)
    doc = plan.make(facts, found)
    jsonschema.validate(doc, SCHEMA)
    assert doc["solver"]["method"] == "milp" and doc["solver"]["status"] == "optimal" and doc["solver"]["gap"] == 0
    assert [p["name"] for p in doc["proxies"] if p["used"]] == ["P1", "P4"]
    assert doc["proxies_needed"] == 2
    assert [(ph["objective"], ph["value"]) for ph in doc["solver"]["phases"]] == [
        ("proxies", 2.0),
        ("peak_utilisation", 0.75),
    ]
    got = {a["source"]["name"]: a["proxies"] for a in doc["assignments"]}
    assert got == {"H1": ["P4"], "H2": ["P4"], "H3": ["P1"], "H4": ["P4"], S1: ["P1"]}
    loads = {p["name"]: (p["load"], p["capacity"]) for p in doc["proxies"]}
    assert loads == {"P1": (6, 8), "P2": (0, 8), "P3": (0, 4), "P4": (12, 16)}
    assert doc["unservable"] == [] and doc["redundancy_short"] == [] and plan.covered(doc)
    assert doc["single_points_of_failure"] == []  # every source has two eligible proxies


def test_capacity_can_force_a_third_proxy():
    # P4 at 8: {P1, P4} must take H3+S1 on P1 and H2+H4 on P4, and H1 fits neither: three proxies.
    facts, found = estate({**A_CAPS, "P4": 8}, A_HOSTS, {S1: 2}, A_OK)
    doc = plan.make(facts, found)
    assert doc["proxies_needed"] == 3 and doc["solver"]["phases"][0]["value"] == 3.0
    assert all(p["load"] <= p["capacity"] for p in doc["proxies"])
    assert plan.covered(doc)


def test_a_source_larger_than_every_proxy_is_named_with_the_capacity_reason():
    facts, found = estate({"P1": 4, "P2": None}, {"H1": 6}, {}, {("P1", "H1"), ("P2", "H1")})
    doc = plan.make(facts, found)
    [b] = doc["unservable"]
    assert b["source"] == {"kind": "host", "name": "H1"} and b["load"] == 6
    assert [c["reason"] for c in b["candidates"]] == ["max tasks 4 < load 6", "max tasks unknown"]
    assert not plan.covered(doc)


def test_redundancy_2_impossible_names_the_sources_and_why():
    # H1: P1 and P2 ready; H2: only P1 (P2 fails OHP-002); H3: nobody (both fail OHP-002).
    ok = {("P1", "H1"), ("P2", "H1"), ("P1", "H2")}
    facts, found = estate({"P1": 8, "P2": 8}, {"H1": 2, "H2": 2, "H3": 1}, {}, ok)
    doc = plan.make(facts, found, redundancy=2)
    jsonschema.validate(doc, SCHEMA)
    [short] = doc["redundancy_short"]
    assert short["source"]["name"] == "H2" and short["eligible"] == ["P1"] and short["needed"] == 2
    assert short["candidates"] == [
        {"proxy": "P2", "state": "not_ready", "rules": ["OHP-002"], "reason": "not ready: OHP-002"}
    ]
    [none] = doc["unservable"]
    assert none["source"]["name"] == "H3" and none["rules_blocking_every_candidate"] == ["OHP-002"]
    got = {a["source"]["name"]: a["proxies"] for a in doc["assignments"]}
    assert got == {"H1": ["P1", "P2"], "H2": ["P1"]}  # H2 still gets the one it can have
    assert doc["single_points_of_failure"] == [{"source": {"kind": "host", "name": "H2"}, "proxy": "P1"}]
    assert not plan.covered(doc)
    text = plan_text(doc)
    assert "host H2 (load 2): P2: not ready: OHP-002" in text and "eligible: P1" in text


def test_redundancy_2_that_capacity_cannot_hold_gives_the_least_overload():
    # both proxies must take both hosts alone, and 3 + 3 > 5: no plan fits (HiGHS proves it); the
    # plan shown is the one with the fewest tasks over the max tasks (1 on each proxy)
    ok = {(p, h) for p in ("P1", "P2") for h in ("H1", "H2")}
    facts, found = estate({"P1": 5, "P2": 5}, {"H1": 3, "H2": 3}, {}, ok)
    doc = plan.make(facts, found, redundancy=2)
    jsonschema.validate(doc, SCHEMA)
    assert doc["solver"]["status"] == "overloaded"
    assert doc["solver"]["note"].endswith("the fewest tasks beyond them (2 in all)")
    assert {p["name"]: (p["load"], p["capacity"], p["utilisation"]) for p in doc["proxies"]} == {
        "P1": (6, 5, 1.2),
        "P2": (6, 5, 1.2),
    }
    assert not plan.covered(doc) and any("HiGHS proved it" in w for w in doc["warnings"])
    assert plan.covered(plan.make(facts, found, redundancy=1))
    # three hosts on two proxies of 4 at K=1: one host over; the fewest proxies among the least overload
    facts, found = estate({"P1": 4, "P2": 4}, {"H1": 3, "H2": 3, "H3": 3}, {}, ok | {("P1", "H3"), ("P2", "H3")})
    doc = plan.make(facts, found)
    assert doc["solver"]["status"] == "overloaded" and doc["solver"]["note"].endswith("(2 in all)")
    assert sorted(p["load"] for p in doc["proxies"]) == [3, 6]


def plan_text(doc: dict) -> str:
    from offhost_audit.reports import plan_view

    return plan_view.table_text(doc, width=200)


def test_the_greedy_fallback_is_labelled(monkeypatch):
    facts, found = estate(A_CAPS, A_HOSTS, {S1: 2}, A_OK)
    monkeypatch.setitem(sys.modules, "highspy", None)  # import highspy raises ImportError
    doc = plan.make(facts, found)
    assert doc["solver"]["method"] == "greedy" and doc["solver"]["status"] == "greedy"
    assert "fallback" in doc["solver"]["label"] and "highspy is not installed" in doc["solver"]["note"]
    assert doc["solver"]["gap"] is None and doc["solver"]["phases"] == []
    assert any(w.startswith("greedy answer") for w in doc["warnings"])
    assert "greedy heuristic (fallback, no optimality claim)" in plan_text(doc)
    assert all(len(a["proxies"]) == 1 for a in doc["assignments"]) and len(doc["assignments"]) == 5


def _brute(eligible, loads, need, caps) -> tuple[int, int]:
    """(the fewest tasks over the max tasks, then the fewest proxies) by trying every assignment."""
    best = None
    choices = [list(itertools.combinations(e, r)) for e, r in zip(eligible, need)]
    for pick in itertools.product(*choices):
        used: dict[int, int] = {}
        for ps, load in zip(pick, loads):
            for p in ps:
                used[p] = used.get(p, 0) + load
        key = (sum(max(0, v - caps[p]) for p, v in used.items()), len(used))
        best = key if best is None else min(best, key)
    assert best is not None
    return best


@pytest.mark.parametrize("seed", range(40))
def test_the_milp_equals_brute_force_on_small_random_instances(seed):
    rnd = random.Random(seed)
    n_p, n_s, k = rnd.randint(2, 5), rnd.randint(1, 6), rnd.choice((1, 1, 2))
    caps = [rnd.randint(2, 8) for _ in range(n_p)]
    eligible = [tuple(sorted(rnd.sample(range(n_p), rnd.randint(1, n_p)))) for _ in range(n_s)]
    loads = [rnd.randint(0, 4) for _ in range(n_s)]
    eligible = [tuple(p for p in e if caps[p] >= x) for e, x in zip(eligible, loads)]
    need = [min(k, len(e)) for e in eligible]
    over, count = _brute(eligible, loads, need, caps)
    sol = solver.solve(eligible, loads, need, caps, time_limit=5)
    used: dict[int, int] = {}
    for s, ps in enumerate(sol.assigned):
        assert len(set(ps)) == len(ps) == need[s] and set(ps) <= set(eligible[s])
        for p in ps:
            used[p] = used.get(p, 0) + loads[s]
    assert (sum(max(0, v - caps[p]) for p, v in used.items()), len(used)) == (over, count)
    if over:
        assert (
            sol.status == "overloaded"
            and sol.phases[0].value == over * (len({p for e in eligible for p in e}) + 1) + count
        )
    else:
        assert sol.status == "optimal" and sol.phases[0].value == count


def test_identical_sources_are_one_group_and_still_get_distinct_proxies():
    eligible = [(0, 1, 2)] * 1000
    loads, need, caps = [1] * 1000, [2] * 1000, [700, 700, 700]
    assert len(solver.groups(eligible, loads, need)) == 1
    sol = solver.solve(eligible, loads, need, caps)
    assert sol.status == "optimal" and sol.variables == 3 + 3  # y per proxy, x per (group, proxy)
    assert all(len(set(ps)) == 2 for ps in sol.assigned)
    per = [sum(1 for ps in sol.assigned if p in ps) for p in range(3)]
    assert sum(per) == 2000 and max(per) <= 700 and sol.phases[0].value == 3


# --- the real engine on the shipped examples -----------------------------------------------------------


def _example(name: str) -> tuple[dict, list[dict]]:
    path = EXAMPLES / f"{name}.json"
    found, _ = audit.evaluate_file(path)
    return json.loads(path.read_text()), found


def test_loads_count_disks_where_they_are_processed():
    facts, found = _example("smb-estate")  # VM01: 1 disk on \\fs01.res.example\vms; VM03: 2 on \\FS01\VMS
    doc = plan.make(facts, found)
    loads = {a["source"]["name"]: a["load"] for a in doc["assignments"]}
    assert loads == {"HV01": 0, S1: 3}
    assert {b["source"]["name"]: b["rules_blocking_every_candidate"] for b in doc["unservable"]} == {
        "HV02": ["OHP-030"],
        "\\\\FS01\\VMS2": ["OHP-021"],
    }


def test_without_the_only_proxy_of_a_cluster_names_the_jobs_that_fall_back():
    # the jobs' sources as the job verdicts name them (OHP-040's candidates): Nightly's cluster,
    # SQL pinned's VM (PROXY01 listed, fail-over off)
    facts, found = _example("csv-cluster-jobs")
    doc = plan.make(facts, found, without=["proxy01"])
    jsonschema.validate(doc, SCHEMA)
    w = doc["what_if"]
    assert w["lost"] == [{"source": {"kind": "cluster", "name": "HVCL01"}, "had": ["PROXY01"]}]
    assert [(j["job"], j["sources"], j["outcome"]) for j in w["jobs"]] == [
        ("Nightly", ["cluster HVCL01"], "falls_back_to_on_host"),
        ("SQL pinned", ["vm SQL01"], "fails"),  # fail-over to on-host is off
    ]
    assert (w["before"]["proxies_needed"], w["after"]["proxies_needed"]) == (1, 0)
    assert not plan.covered(doc)
    with pytest.raises(InputError, match="--without PROXY09: no such proxy"):
        plan.make(facts, found, without=["PROXY09"])


def test_assume_fixed_makes_a_blocked_share_servable():
    facts, found = _example("smb-estate")
    doc = plan.make(facts, found, fixed=["OHP-021:PROXY01 -> *VMS2"])
    assert doc["what_if"]["gained"] == [{"source": {"kind": "share", "name": "\\\\FS01\\VMS2"}, "now": ["PROXY01"]}]
    assert [b["source"]["name"] for b in doc["unservable"]] == ["HV02"]
    doc = plan.make(facts, found, fixed=["OHP-021:nothing-like-this"])
    assert doc["what_if"]["gained"] == [] and "no failing or undecided finding matches" in doc["warnings"][0]
    with pytest.raises(InputError, match="expected RULE"):
        plan.make(facts, found, fixed=["bogus"])


def test_a_candidate_is_judged_by_the_proxy_rules():
    facts, found = _example("smb-estate")
    doc = plan.as_candidates(facts, ["fs01"])
    cand = audit.evaluate_facts(doc)
    out = plan.make(facts, found, candidates=["FS01"], scenario=(doc, plan.carry_waivers(found, cand)))
    jsonschema.validate(out, SCHEMA)
    [c] = out["what_if"]["candidates"]
    assert c["host"] == "FS01" and c["capacity"] == 16 and c["can_serve"] == [] and not c["in_plan"]
    assert {x["source"]["name"]: x["rules"] for x in c["blocked"]}["HV01"] == ["OHP-004"]  # no Hyper-V role
    with pytest.raises(InputError, match="no such host"):
        plan.as_candidates(facts, ["NOPE"])
    with pytest.raises(InputError, match="already an off-host proxy"):
        plan.as_candidates(facts, ["PROXY01"])


def test_the_cli_plans_a_stored_run_and_its_json_is_clean(tmp_path, capsys):
    import subprocess

    db = tmp_path / "h.sqlite"
    facts = EXAMPLES / "csv-cluster-jobs.json"
    assert (
        main(["evaluate", "-f", str(facts), "--db", str(db), "--format", "json", "-o", str(tmp_path / "f.json")]) == 0
    )
    assert main(["plan", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 proxies needed" in out and "PROXY01" in out and "HiGHS MILP: optimal" in out
    # a fresh process: the HiGHS banner (printed once per process, from C++) must not reach stdout
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "offhost_audit",
            "plan",
            "1",
            "--db",
            str(db),
            "--without",
            "PROXY01",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert [j["job"] for j in doc["what_if"]["jobs"]] == ["Nightly", "SQL pinned"]
    with pytest.raises(SystemExit) as e:  # a usage error: argparse's exit 2
        main(["plan", "--db", str(db), "--redundancy", "0"])
    assert e.value.code == 2


def test_the_html_report_has_the_plan():
    from offhost_audit.reports import context, render
    from offhost_audit.store.runs import Run

    facts, found = _example("csv-cluster-jobs")
    ctx = context.build(Run(None, "2026-12-06T00:00:00Z", {}, facts, found))
    html = render.render_text("html", ctx, render.environment())
    section = html[html.index("<h3>Proxy plan</h3>") : html.index("<h3>Change since the previous run</h3>")]
    assert "1 of 1 proxies needed for 1 source(s) at redundancy 1" in section
    assert "HiGHS MILP: optimal, gap 0.00%" in section  # no seconds: the file is the same each time
    assert '<tr><td>PROXY01</td><td class="n">2 / 4</td><td class="n">50%</td><td>cluster HVCL01</td></tr>' in section
    assert "cluster HVCL01: only PROXY01" in section  # the single point of failure


def test_a_job_source_without_any_verdict_is_named_unservable():
    facts, found = _example("csv-cluster-jobs")
    facts["vbr"]["jobs"].append(
        {
            "name": "Stray",
            "enabled": True,
            "mode": "off_host",
            "proxies": {"automatic": True},
            "sources": [{"kind": "host", "name": "HV09"}],
        }
    )
    doc = plan.make(facts, found)
    assert [(b["source"], b["reason"]) for b in doc["unservable"]] == [
        ({"kind": "host", "name": "HV09"}, "no proxy in this run has a verdict for it")
    ]
    assert [a["source"]["name"] for a in doc["assignments"]] == ["HVCL01"]


def test_the_load_counts_the_disks_of_the_vms_the_off_host_jobs_back_up():
    facts, found = _example("csv-cluster-jobs")  # SQL01 (1 disk) and APP01 (1 disk) on HVCL01's CSVs
    assert [a["load"] for a in plan.make(facts, found)["assignments"]] == [2]  # Nightly: the whole cluster
    facts["vbr"]["jobs"] = [j for j in facts["vbr"]["jobs"] if j["name"] != "Nightly"]  # SQL pinned: VM SQL01
    assert [a["load"] for a in plan.make(facts, found)["assignments"]] == [1]
    facts["vbr"]["jobs"][0]["mode"] = "on_host"  # no off-host job left: nothing to plan
    doc = plan.make(facts, found)
    assert doc["sources"] == 0 and "no enabled off-host job uses" in doc["warnings"][0]


def test_the_cli_judges_a_candidate_with_the_policies(tmp_path):
    db, out = tmp_path / "h.sqlite", tmp_path / "plan.json"
    facts = EXAMPLES / "smb-estate.json"
    assert (
        main(["evaluate", "-f", str(facts), "--db", str(db), "--format", "json", "-o", str(tmp_path / "f.json")]) == 1
    )
    assert main(["plan", "--db", str(db), "--candidate", "fs01", "--format", "json", "-o", str(out)]) == 1
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, SCHEMA)
    [c] = doc["what_if"]["candidates"]
    assert (
        c["host"] == "FS01" and c["can_serve"] == [] and {b["reason"] for b in c["blocked"]} >= {"not ready: OHP-004"}
    )
    assert main(["plan", "--db", str(db), "--candidate", "NOPE"]) == 2  # not a collected host: an input error


def test_a_planned_proxy_that_vbr_has_disabled_is_a_warning():
    facts, found = _example("csv-cluster-jobs")
    facts["vbr"]["proxies"][0].update(disabled=True, online=False)
    doc = plan.make(facts, found)
    assert [p["name"] for p in doc["proxies"] if p["used"]] == ["PROXY01"]  # the role is there: enable it
    assert "PROXY01 is in the plan but disabled and offline in VBR: put that right first" in doc["warnings"]
