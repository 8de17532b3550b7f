"""Closing the loop: the facts patched as each scripted step would change the machine, evaluated
again by the real engine: the findings the steps address pass (or, for a job's proxy list, are
gone), and nothing else changes (but OHP-040, which follows from its candidates' findings)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from offhost_audit import audit, fixes
from offhost_audit.lab import scenario
from offhost_audit.names import norm_name, unc_key

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "facts"
READ_ACE = 0x1200A9  # what icacls (OI)(CI)RX and a share Read grant give


def apply(facts: dict, plan: fixes.FixPlan) -> dict:
    """The facts after every scripted step ran."""
    facts = copy.deepcopy(facts)
    hosts = {norm_name(h["name"]): h for h in facts["hosts"]}
    for key, h in plan.hosts.items():
        for s in h.steps:
            d = s.data
            if s.kind == "windows_feature":
                name = {v: k for k, v in fixes.FEATURES.items()}[d["feature"]]
                hosts[key]["features"][name] = True
            elif s.kind == "veeam_services":
                for svc in hosts[key]["veeam_services"]:
                    if svc["name"] in d["services"]:
                        svc.update(status="running", start_type="automatic")
            elif s.kind == "san_policy":
                hosts[key]["storage"]["san_policy"] = "offline_shared"
            elif s.kind == "iscsi_session":
                for sess in hosts[key]["storage"]["iscsi_sessions"]:
                    if sess["target"] == d["target"]:
                        sess["connected"] = True
            elif s.kind == "share_read":
                share = next(x for x in facts["shares"] if x["name"] == d["share"])
                ace = {"sid": d["account_sid"], "name": d["account"], "type": "allow", "mask": READ_ACE}
                if d["share_level"]:
                    share["share_acl"].append(dict(ace, flags=0))
                if d["ntfs_level"]:
                    share["ntfs_acl"].append(dict(ace, flags=3))
            elif s.kind == "vbr_proxy_enable":
                for p in facts["vbr"]["proxies"]:
                    if p["name"] == d["proxy"]:
                        p["disabled"] = False
            elif s.kind == "vbr_job_proxies":
                job = next(j for j in facts["vbr"]["jobs"] if j["name"] == d["job"])
                job["proxies"]["names"] = [n for n in job["proxies"]["names"] if n not in d["remove"]]
            # nested_virtualization changes the VM's host, which the audit does not read
    return facts


def _key(f: dict) -> tuple[str, str]:
    return f["rule_id"], f["subject"]["name"]


def check_loop(facts: dict, found: list, *, rules: list[str] | None = None, also=None, scripted=True) -> fixes.FixPlan:
    plan = fixes.plan(facts, found, rules=rules)
    assert any(h.steps for h in plan.hosts.values()) == scripted
    after = apply(facts, plan)
    if also:
        also(after)
    again = {_key(f): f["status"] for f in audit.evaluate_facts(after, jobs=1)}
    before = {_key(f): f["status"] for f in found}
    addressed = {(a["rule_id"], a["subject"]) for h in plan.hosts.values() for s in h.steps for a in s.addresses}
    assert bool(addressed) == scripted
    for k in addressed:
        manual = any(
            (k[0], k[1]) in {(a["rule_id"], a["subject"]) for a in m.addresses}
            for h in plan.hosts.values()
            for m in h.manual
        )
        if not manual:
            assert again.get(k, "gone") in ("pass", "gone"), f"{k}: {again.get(k)} after the fix"
    changed = {k for k in before.keys() | again.keys() if before.get(k) != again.get(k)}
    assert {k for k in changed - addressed if k[0] != "OHP-040"} == set()
    return plan


@pytest.mark.parametrize("name", scenario.shipped())
def test_every_lab_scenario_patched_as_its_steps_would_change_it(name, lab_run):
    facts, found = lab_run(name)
    plan = fixes.plan(facts, found)
    check_loop(facts, found, scripted=any(h.steps for h in plan.hosts.values()))


def _example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def _evaluate(facts: dict) -> list:
    return audit.evaluate_facts(facts, jobs=1)


def test_hyperv_role(lab_run):
    facts, found = lab_run("vm-proxy")
    check_loop(facts, found, rules=["OHP-004"])


def test_dedup_feature(lab_run):
    facts, found = lab_run("missing-dedup")
    check_loop(facts, found)


def test_veeam_services(lab_run):
    facts, _ = lab_run("csv-healthy")
    proxy = next(h for h in facts["hosts"] if "proxy" in h["roles"])
    proxy["veeam_services"][1].update(status="stopped", start_type="disabled")
    found = _evaluate(facts)
    assert ("OHP-007", "fail") in {(f["rule_id"], f["status"]) for f in found}
    plan = check_loop(facts, found)
    assert [s.kind for h in plan.hosts.values() for s in h.steps] == ["veeam_services"]


def test_share_and_ntfs_read_for_the_computer_account():
    facts = _example("smb-estate")
    share = next(s for s in facts["shares"] if s["name"] == "VMS")
    share["share_acl"] = [a for a in share["share_acl"] if not a["name"].endswith("Readers")]
    share["ntfs_acl"] = [a for a in share["ntfs_acl"] if not a["name"].endswith("Readers")]
    found = _evaluate(facts)
    failing = {(f["rule_id"], f["subject"]["name"]) for f in found if f["status"] == "fail"}
    assert ("OHP-021", "PROXY01 -> \\\\FS01\\VMS") in failing
    plan = check_loop(facts, found, rules=["OHP-020", "OHP-021"])
    step = next(s for s in plan.hosts["FS01"].steps if s.data["share"] == "VMS")
    assert step.data["account"] == "CORP\\PROXY01$" and step.data["share_level"] and step.data["ntfs_level"]
    # the deny on VMS2 stays a manual step: no script removes a deny entry
    assert any("Deny" in m.title for m in plan.hosts["FS01"].manual)


def test_san_policy_and_iscsi_with_the_manual_zoning(lab_run):
    facts, _ = lab_run("csv-healthy")
    proxy = next(h for h in facts["hosts"] if "proxy" in h["roles"])
    cluster = facts["clusters"][0]
    lun = cluster["csvs"][0]["disk_unique_ids"][0]
    proxy["storage"]["disks"] = [d for d in proxy["storage"]["disks"] if d.get("unique_id") != lun]
    proxy["storage"]["san_policy"] = "online_all"
    proxy["storage"]["iscsi_sessions"] = [{"target": "iqn.2010-06.com.purestorage:flasharray.1", "connected": False}]
    removed = _example_disks(lab_run, lun)
    found = _evaluate(facts)
    assert "OHP-011" in {f["rule_id"] for f in found if f["status"] == "fail"}

    def zoned(after: dict) -> None:  # the manual step: the array presents the LUN again
        p = next(h for h in after["hosts"] if "proxy" in h["roles"])
        p["storage"]["disks"] += removed

    plan = check_loop(facts, found, also=zoned)
    kinds = [s.kind for h in plan.hosts.values() for s in h.steps]
    assert kinds == ["san_policy", "iscsi_session"]
    assert any("zoning" in m.title for h in plan.hosts.values() for m in h.manual)


def _example_disks(lab_run, lun: str) -> list:
    facts, _ = lab_run("csv-healthy")
    proxy = next(h for h in facts["hosts"] if "proxy" in h["roles"])
    return [d for d in proxy["storage"]["disks"] if d.get("unique_id") == lun]


def test_vbr_disabled_proxy_and_a_job_pinned_to_a_missing_proxy():
    facts = _example("csv-cluster-jobs")
    for x in [*facts["vbr"]["proxies"], *facts["vbr"]["jobs"]]:
        x["source"] = "powershell"  # a Windows backup server: the VBR cmdlets
    facts["vbr"]["proxies"][0]["disabled"] = True
    facts["vbr"]["jobs"][1]["proxies"]["names"].append("GHOST01")
    found = _evaluate(facts)
    plan = check_loop(facts, found, rules=["OHP-041"])
    steps = plan.hosts["VBR01"].steps
    assert [(s.kind, s.data.get("proxy") or s.data.get("job")) for s in steps] == [
        ("vbr_proxy_enable", "PROXY01"),
        ("vbr_job_proxies", "SQL pinned"),
    ]
    assert steps[1].data["remove"] == ["GHOST01"]


def test_vbr_over_rest_gives_manual_steps_with_the_rest_call():
    facts = _example("csv-cluster-jobs")
    facts["vbr"]["proxies"][0]["disabled"] = True
    found = _evaluate(facts)
    plan = fixes.plan(facts, found, rules=["OHP-041"])
    vbr = plan.hosts["VBR01"]
    assert vbr.steps == []
    assert any("/api/v1/backupInfrastructure/proxies/states" in m.check for m in vbr.manual)


def test_unc_key_is_how_shares_are_matched():
    assert unc_key("\\\\fs01.corp.example\\vms") == "\\\\FS01\\VMS"
