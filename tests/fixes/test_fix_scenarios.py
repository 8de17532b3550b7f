"""For every shipped lab scenario: the fix folder is written, every data document is valid against
the shipped schema, the scripts in it are the shipped files byte for byte, the manifest holds, and
every failing finding has a scripted or a manual step."""

from __future__ import annotations

import hashlib
import json

import jsonschema
import pytest

from offhost_audit import fixes
from offhost_audit.lab import scenario
from offhost_audit.reports import fix_folder

from .conftest import write_folder


@pytest.mark.parametrize("name", scenario.shipped())
def test_scenario_fix_folder(name, lab_run, tmp_path):
    facts, found = lab_run(name)
    plan = fixes.plan(facts, found, run={"run": 7, "started_at": "2026-12-05T00:00:00Z"})
    out = write_folder(tmp_path, plan)
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    # every failing finding is addressed by a step or a manual step
    failing = [f for f in found if f["status"] == "fail"]
    assert plan.untouched == []
    for f in failing:
        assert plan.for_finding(f), f"{f['rule_id']} {f['subject']['name']}: no fix and no manual step"
    # the manifest covers every other file, and holds
    sums = dict(reversed(line.split("  ", 1)) for line in files.pop("SHA256SUMS").decode().splitlines())
    assert set(sums) == set(files)
    assert all(hashlib.sha256(files[n]).hexdigest() == h for n, h in sums.items())
    schema = json.loads(files[fixes.SCHEMA_FILE]) if fixes.SCHEMA_FILE in files else None
    readme = files["README.md"].decode()
    for key, h in plan.hosts.items():
        assert f"## {fix_folder.md(h.host)}" in readme
        if not h.steps:
            continue
        doc = json.loads(files[fix_folder.data_file_names(plan)[key]])
        jsonschema.Draft202012Validator(schema).validate(doc)  # the copy beside the scripts
        assert fixes.validate(doc) == []
        assert doc["host"] == h.host and doc["audit"]["run"] == 7
        for step in doc["steps"]:
            script = fixes.KINDS[step["kind"]][0]
            assert files[script] == fixes.script_bytes(script)  # byte-identical to the shipped file
            assert f".\\{script} -DataFile" in readme
    # only shipped scripts, no other code
    assert {n for n in files if n.endswith(".ps1")} <= set(fixes.SCRIPTS)


def test_vm_proxy_gets_nested_virtualization_first_then_the_role(lab_run):
    facts, found = lab_run("vm-proxy")
    plan = fixes.plan(facts, found)
    proxy = plan.hosts["PROXY05"]
    assert [s.kind for s in proxy.steps] == ["nested_virtualization", "windows_feature"]
    assert proxy.steps[0].data == {"vm": "PROXY05"}
    assert proxy.steps[1].data == {"feature": "Hyper-V", "include_management_tools": True}
    assert {a["rule_id"] for a in proxy.steps[1].addresses} == {"OHP-003", "OHP-004"}
    assert [m.title for m in proxy.manual] == ["Move the proxy role to a physical server"]


def test_dedup_and_cluster_node(lab_run):
    facts, found = lab_run("missing-dedup")
    step = fixes.plan(facts, found).hosts["PROXY02"].steps
    assert [(s.kind, s.data["feature"]) for s in step] == [("windows_feature", "FS-Data-Deduplication")]
    facts, found = lab_run("proxy-cluster-node")
    manual = [m for h in fixes.plan(facts, found).hosts.values() for m in h.manual]
    assert manual and "never evict the node" in manual[0].why
    assert not any(h.steps for h in fixes.plan(facts, found).hosts.values())


def test_rule_and_host_filters(lab_run):
    facts, found = lab_run("vm-proxy")
    assert fixes.plan(facts, found, rules=["ohp-012"]).hosts == {}
    only = fixes.plan(facts, found, rules=["OHP-004"])
    assert [m.title for h in only.hosts.values() for m in h.manual] == []
    assert [s.kind for s in only.hosts["PROXY05"].steps] == ["nested_virtualization", "windows_feature"]
    assert fixes.plan(facts, found, hosts=["proxy05.corp.example"]).hosts.keys() == {"PROXY05"}
    assert fixes.plan(facts, found, hosts=["HV41"]).hosts == {}


def test_every_rule_has_a_row_and_every_kind_a_script():
    from offhost_audit.engine import embedded

    rules = set(embedded.compiled().metadata)
    assert set(fixes.RULE_FIXES) == rules
    for kinds, _ in fixes.RULE_FIXES.values():
        assert set(kinds) <= set(fixes.KINDS)
    for script in fixes.SCRIPTS:
        assert fixes.script_bytes(script)
