"""No rule goes silent when a fact is missing: missing is unknown, never nothing, never pass or fail.

The named cases of issue 7 (vms null, a host whose Hyper-V collection failed, cluster nodes or
clusters null, both the node list and the hosts' membership missing, a proxy disk without unique_id), then a property over every rule: in each rule's
allowed fixture, null and delete every fact (every key below the document, one at a time); each
subject the rule reported must keep its status or become unknown (its own finding, or one
unknown that covers it, e.g. "PROXY01 -> HVCL01/*" for the CSVs of a cluster whose CSV list is
gone). A subject that vanishes, or that flips to pass, fail or not_applicable, fails the test
naming the rule, the fact and both results. The job rules (stage 2) are judged on stage 2's input
rebuilt from each changed document, so a fact that changes a stage-1 verdict is covered too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from policy_cases import Case, build, cases

from offhost_audit import audit, facts as facts_doc
from offhost_audit.engine import embedded
from offhost_audit.engine.metadata import RuleMeta, read_metadata
from offhost_audit.engine.sources import read_sources
from offhost_audit.errors import FactsError
from offhost_audit.findings import jobs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "facts"

# Keys that say WHAT a subject is (its name, roles, the host a VM runs on, who is assigned what)
# or describe the document: removing them changes which subjects exist, not what is known of them.
# The assignment list is one of them: without it a proxy serves every host, so the subjects become
# proxy -> host pairs instead of the assigned proxy -> cluster ones.
IDENTITY = {
    "name",
    "roles",
    "host",
    "proxy",
    "sources",
    "kind",
    "schema_version",
    "generated_at",
    "generator",
    "warnings",
    "collection",
    "unc",
}


def _load(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def _rule(found: list[dict], rule_id: str) -> list[dict]:
    return [f for f in found if f["rule_id"] == rule_id]


# --- the named cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("example", ["csv-cluster-healthy", "smb-estate"])
def test_vms_null_gives_each_hyperv_host_an_unknown_for_its_vms(example):
    doc = _load(example)
    doc["vms"] = None
    found = audit.evaluate_facts(doc)
    hosts = {h["name"].upper() for h in doc["hosts"] if "hyperv_host" in h["roles"]}
    for rid in ("OHP-030", "OHP-031"):
        fs = _rule(found, rid)
        assert {f["subject"]["host"] for f in fs} == hosts, rid
        assert all(f["status"] == "unknown" and f["missing"] == ["vms"] and f["subject"]["vm"] == "*" for f in fs)
    jsonschema.validate(found, json.loads((ROOT / "schema" / "findings.schema.json").read_text(encoding="utf-8")))
    if example == "smb-estate":  # SMB shares listed, which ones the hosts use is not known
        fs = [f for f in _rule(found, "OHP-023") if f["subject"].get("share") == "*"]
        assert {f["subject"]["host"] for f in fs} == hosts and all(f["status"] == "unknown" for f in fs)


def test_hosts_whose_hyperv_collection_failed_get_unknown_naming_the_collector_error():
    doc = _load("csv-cluster-healthy")
    doc["vms"] = [vm for vm in doc["vms"] if vm["host"].upper() != "HV01"]
    doc["collection"].append(
        {
            "target": "HV01",
            "collector": "winrm.hyperv",
            "status": "error",
            "error": "HTTP 500: Get-VM failed",
            "duration_ms": 3.0,
        }
    )
    found = audit.evaluate_facts(doc)
    for rid in ("OHP-030", "OHP-031"):
        (f,) = [f for f in _rule(found, rid) if f["subject"]["host"] == "HV01"]
        assert f["status"] == "unknown" and f["subject"]["name"] == "HV01/*"
        assert f["missing"] == ["vms[host=HV01]"] and "the VMs on HV01 were not collected" in f["message"]
        assert {"path": "collection[HV01/winrm.hyperv]", "value": "HTTP 500: Get-VM failed"} in f["evidence"]
        assert [g["status"] for g in _rule(found, rid) if g["subject"]["host"] == "HV02"] == ["pass"]


@pytest.mark.parametrize("patch", ["nodes", "clusters"])
def test_cluster_nodes_or_clusters_null_use_each_hosts_membership(patch):
    doc = _load("csv-cluster-healthy")
    base = {(f["rule_id"], f["subject"]["name"]): f["status"] for f in audit.evaluate_facts(doc)}
    if patch == "nodes":
        doc["clusters"][0]["nodes"] = None
    else:
        doc["clusters"] = None
    found = {(f["rule_id"], f["subject"]["name"]): f["status"] for f in audit.evaluate_facts(doc)}
    for rid in ("OHP-002", "OHP-013", "OHP-030"):
        want = {k: v for k, v in base.items() if k[0] == rid}
        assert want and {k: found.get(k) for k in want} == want, rid  # still served, still decided


def test_node_list_and_membership_both_missing_is_unknown_per_host():
    doc = _load("csv-cluster-healthy")
    doc["clusters"][0]["nodes"] = None
    for h in doc["hosts"]:
        if "hyperv_host" in h["roles"]:
            h["cluster"] = None
    found = audit.evaluate_facts(doc)
    for rid in ("OHP-002", "OHP-013", "OHP-030"):
        fs = _rule(found, rid)
        assert {f["subject"]["host"] for f in fs} == {"HV01", "HV02"}, rid
        for f in fs:
            host = f["subject"]["host"]
            assert f["status"] == "unknown" and f["missing"] == ["clusters[HVCL01].nodes", f"hosts[{host}].cluster"]


def test_proxy_disk_without_unique_id_is_unknown_not_fail():
    doc = _load("csv-cluster-healthy")
    proxy = next(h for h in doc["hosts"] if "proxy" in h["roles"])
    proxy["storage"]["disks"][0]["unique_id"] = None
    fs = {f["subject"]["csv"]: f for f in _rule(audit.evaluate_facts(doc), "OHP-011")}
    assert fs["Cluster Disk 1"]["status"] == "unknown"
    assert fs["Cluster Disk 1"]["missing"] == ["hosts[PROXY01].storage.disks[0].unique_id"]
    assert fs["Cluster Disk 2"]["status"] == "pass"  # its LUN is seen on another disk: decided


# --- the property over every rule ------------------------------------------------------------------


def _fact_paths(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every key below the document (list items by index), identity keys left out."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in IDENTITY or path + (k,) in (("hosts",), ("assignments",)):  # hosts: required by the schema
                continue
            yield path + (k,)
            yield from _fact_paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _fact_paths(v, path + (i,))


def _mutate(doc: dict, path: tuple, how: str) -> dict:
    out = copy.deepcopy(doc)
    node = out
    for p in path[:-1]:
        node = node[p]
    if how == "null":
        node[path[-1]] = None
    else:
        del node[path[-1]]
    return out


def _covers(u: dict, s: dict) -> bool:
    """u (an unknown's subject) stands for s: same kind with "*" for the parts it cannot name, or
    the proxy-level subject of s's proxy."""
    if u.get("kind") == "proxy":
        return u.get("proxy") == s.get("proxy")
    return u.get("kind") == s.get("kind") and all(u.get(k) in (v, "*") for k, v in s.items() if k != "name")


# The job rules (stage 2): the job list says which subjects exist, as the assignments do for stage 1.
JOB_IDENTITY = {("vbr",), ("vbr", "jobs")}


def _rule_findings(doc: dict, package: str) -> list[dict]:
    """The findings of one rule package alone, on the embedded engine (17x less work than all rules).
    A job rule's input is stage 2's, built from the facts and stage 1's findings (findings/jobs.py)."""
    eng = embedded.compiled().engine.clone()
    if package.startswith("offhost.jobs."):
        profile = embedded.FALLBACK_DEFAULT_PROFILE
        stage2 = jobs.stage_input(doc, embedded.compiled().evaluate_json(json.dumps(doc), profile))
        if stage2 is None:
            return []
        doc = stage2
    eng.set_input_json(json.dumps(doc))
    eng.add_data_json(json.dumps({"offhost": {"options": {"profile": embedded.FALLBACK_DEFAULT_PROFILE}}}))
    return json.loads(eng.eval_rule_as_json(f"data.{package}.findings"))


def _violations(doc: dict, rule: RuleMeta, path: tuple, how: str, base: dict[str, dict]) -> list[str]:
    changed = _mutate(doc, path, how)
    try:
        facts_doc.validate(changed, source="mutated fixture")
    except FactsError:
        return []  # the schema requires this fact: a collector never leaves it out
    rule_id = rule.rule_id
    after = _rule(_rule_findings(changed, rule.package), rule_id)
    by_name = {f["subject"]["name"]: f for f in after}
    unknowns = [f["subject"] for f in after if f["status"] == "unknown"]
    out = []
    for name, f in base.items():
        g = by_name.get(name)
        where = f"{rule_id} {name}: {how} {'.'.join(map(str, path))}"
        if g is None:
            if not any(_covers(u, f["subject"]) for u in unknowns):
                out.append(f"{where}: was {f['status']}, now no finding")
        elif g["status"] not in (f["status"], "unknown"):
            out.append(f"{where}: was {f['status']}, now {g['status']}: {g['message'][:160]}")
    return out


def _rule_of(case: Case) -> RuleMeta:
    meta = read_metadata(read_sources(ROOT / "policies"))
    rego = (ROOT / "policies" / case.area / case.rule / f"{case.rule}.rego").resolve()
    return next(m for m in meta.values() if Path(m.file).resolve() == rego)


@pytest.mark.parametrize("fixture", [c for c in cases() if c.name == "allowed"], ids=lambda c: f"{c.area}/{c.rule}")
def test_a_missing_fact_never_silences_or_flips_a_finding(fixture):
    doc = build(fixture)
    rule = _rule_of(fixture)
    base = {f["subject"]["name"]: f for f in _rule(_rule_findings(doc, rule.package), rule.rule_id)}
    assert base and any(f["status"] == "pass" for f in base.values()), f"{fixture.id}: {rule.rule_id} passes nothing"
    problems = []
    for path in _fact_paths(doc):
        if rule.package.startswith("offhost.jobs.") and path in JOB_IDENTITY:
            continue
        for how in ("null", "delete"):
            problems += _violations(doc, rule, path, how, base)
    assert not problems, f"{fixture.id}: {len(problems)} problem(s)\n" + "\n".join(problems[:40])


# --- the converse: a missing fact makes a verdict unknown only when it could change it -------------
# (policies/lib/result.rego, undecided). The file server's local groups are the fact whose every
# value can be tried: each subset of the SIDs the ACLs name (beyond the account's own) is a way
# the unread groups could have extended the account's token. With the groups missing, a decided
# verdict must be the verdict of every such completion, and an unknown one must differ between two.

_ACL_RULES = {"OHP-020": "offhost.smb.share_read_access", "OHP-021": "offhost.smb.computer_account_access"}


def _without_local_groups(doc: dict) -> dict:
    out = copy.deepcopy(doc)
    for h in out["hosts"]:
        h.pop("local_groups", None)
    return out


def _completions(doc: dict) -> Iterator[dict]:
    """doc with every file server's local groups read, holding each subset of the candidate SIDs."""
    token = {
        s.upper()
        for a in doc.get("computer_accounts") or []
        for s in [
            a.get("sid"),
            a.get("primary_group_sid"),
            *(a.get("token_groups") or []),
            *(a.get("logon_sids") or []),
        ]
        if isinstance(s, str)
    }
    named = sorted(
        {
            ace["sid"]
            for s in doc.get("shares") or []
            for field in ("share_acl", "ntfs_acl")
            for ace in s.get(field) or []
            if ace["sid"].upper() not in token
        }
    )
    assert len(named) <= 8, named  # 2**8 completions at most
    servers = {s["server"].upper() for s in doc.get("shares") or []}
    for mask in range(2 ** len(named)):
        held = [sid for i, sid in enumerate(named) if mask >> i & 1]
        out = copy.deepcopy(doc)
        for h in out["hosts"]:
            if h["name"].upper() in servers:
                h["local_groups"] = {
                    "queried_sids": sorted(token),
                    "groups": [
                        {"sid": sid, "name": sid, "domain": h["name"], "members": sorted(token)} for sid in held
                    ],
                }
        yield out


def _acl_statuses(doc: dict) -> dict[tuple[str, str], str]:
    return {
        (rid, f["subject"]["name"]): f["status"]
        for rid, pkg in _ACL_RULES.items()
        for f in _rule(_rule_findings(doc, pkg), rid)
    }


@pytest.mark.parametrize(
    "case", cases("smb", "computer_account_access") + cases("smb", "share_read_access"), ids=lambda c: c.id
)
def test_missing_local_groups_make_unknown_only_what_they_could_change(case):
    doc = _without_local_groups(build(case))
    seen = _acl_statuses(doc)
    possible: dict[tuple[str, str], set[str]] = {}
    for full in _completions(doc):
        for key, status in _acl_statuses(full).items():
            possible.setdefault(key, set()).add(status)
    problems = []
    for key, status in sorted(seen.items()):
        could = possible.get(key, set())
        if status == "unknown" and len(could) < 2 and could <= {"pass", "fail"}:
            problems.append(f"{key}: unknown, but every completion of the local groups gives {sorted(could)}")
        if status in ("pass", "fail") and could != {status}:
            problems.append(f"{key}: {status}, but the completions give {sorted(could)}")
    assert not problems, f"{case.id}:\n" + "\n".join(problems)
    assert seen and set(seen) == set(possible), f"{case.id}: the completions judge other subjects"


def test_a_deny_on_a_sid_the_account_holds_decides_without_local_groups():
    """The issue's example: VMS2's NTFS ACL denies read to a group in the account's tokenGroups."""
    (case,) = [c for c in cases("smb", "computer_account_access") if c.name == "denied"]
    seen = _acl_statuses(_without_local_groups(build(case)))
    assert seen[("OHP-021", "PROXY01 -> \\\\FS01\\VMS2")] == "fail"


# The same for a share's ACL: its extremes are no ACE at all and full control for Everyone.
_EVERYONE_FULL = [{"sid": "S-1-1-0", "type": "allow", "mask": 2032127, "flags": 0}]


@pytest.mark.parametrize(
    "case", cases("smb", "computer_account_access") + cases("smb", "share_read_access"), ids=lambda c: c.id
)
def test_a_missing_acl_makes_unknown_only_what_it_could_change(case):
    doc = build(case)
    problems = []
    for i, share in enumerate(doc.get("shares") or []):
        for field in ("share_acl", "ntfs_acl"):
            if share.get(field) is None:
                continue
            docs = {}
            for what, value in (("missing", None), ("empty", []), ("everyone", _EVERYONE_FULL)):
                changed = copy.deepcopy(doc)
                changed["shares"][i][field] = value
                docs[what] = _acl_statuses(changed)
            for key, status in docs["missing"].items():
                ends = {docs["empty"].get(key), docs["everyone"].get(key)}
                if status in ("pass", "fail") and ends != {status}:
                    problems.append(
                        f"{key} without shares[{i}].{field}: {status}, but its extremes give {sorted(ends)}"
                    )
                if status == "unknown" and len(ends) == 1 and ends <= {"pass", "fail"}:
                    problems.append(f"{key} without shares[{i}].{field}: unknown, but both extremes give {ends}")
    assert not problems, f"{case.id}:\n" + "\n".join(problems)
