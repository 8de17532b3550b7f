"""VMs on hosts whose collection failed are reported unknown, through the real lab and pywinrm.

Each Hyper-V host carries a VM with a VHD Set disk and injects one fault; the hosts whose Hyper-V
collector did not succeed must get an unknown OHP-030 and OHP-031 for their VMs, naming the
missing fact and the collector's error, never nothing. The shipped lab-dies scenario (every host
stops answering part-way) must give every Hyper-V host such unknowns.
"""

from __future__ import annotations

import pytest

from offhost_audit.audit import evaluate_facts
from offhost_audit.lab import scenario as scenarios
from offhost_audit.lab.faults import Faults

from .conftest import collect_scenario, manifest

FAULTS = {
    "HV01": {"faults": {"latency_s": 0.05}},  # slow, still collected
    "HV02": {"faults": {"refuse": True}},
    "HV03": {"faults": {"drop": True}},
    "HV04": {"faults": {"http_401": True}},
    "HV05": {"faults": {"http_500": True}},
    "HV06": {"faults": {"malformed_output": True}},
    "HV07": {"script_errors": {"hyperv.ps1": "Get-VM : The operation failed"}},
}


def _estate() -> dict:
    hosts = [
        {
            "name": "PROXY01",
            "roles": ["proxy"],
            "serves": [{"cluster": "HVCL01"}],
            "san": {"luns_of": ["HVCL01"]},
            "vss": ["microsoft", "pure"],
        }
    ]
    for name, extra in FAULTS.items():
        hosts.append(
            {
                "name": name,
                "cluster": "HVCL01",
                "vss": ["microsoft", "pure"],
                "vms": [{"name": f"GC{name[-1]}", "disks": [r"C:\ClusterStorage\Volume1\Shared\quorum.vhds"]}],
                **extra,
            }
        )
    return {
        "name": "one-fault-per-host",
        "title": "one fault per host",
        "expect": {"fail": ["OHP-030"]},
        "backup_server": {"name": "VBR01"},
        "clusters": [
            {
                "name": "HVCL01",
                "csvs": [
                    {
                        "name": "Cluster Disk 1",
                        "volume": "Volume1",
                        "owner": "HV01",
                        "lun": "60002ac0000000000000003100021f6b",
                    }
                ],
            }
        ],
        "hosts": hosts,
    }


@pytest.fixture(scope="module")
def one_fault_per_host() -> dict:
    sc = scenarios.normalise(_estate(), source="test")
    return collect_scenario(sc, call_timeout=5.0)[1]


def test_vms_of_hosts_whose_hyperv_collection_failed_are_unknown(one_fault_per_host):
    facts = one_fault_per_host
    failed = {h for h in FAULTS if manifest(facts, h, "winrm.hyperv")["status"] != "ok"}
    assert failed == set(FAULTS) - {"HV01"}, failed  # six faults stop the Hyper-V collector; latency does not
    found = evaluate_facts(facts)
    for rid in ("OHP-030", "OHP-031"):
        by_host = {f["subject"]["host"]: f for f in found if f["rule_id"] == rid}
        assert set(by_host) == set(FAULTS), rid  # no host's VMs left unreported
        for h in failed:
            f = by_host[h]
            assert f["status"] == "unknown" and f["subject"]["name"] == f"{h}/*" and f["missing"] == [f"vms[host={h}]"]
            errors = [e for e in f["evidence"] if e["path"].startswith(f"collection[{h}/")]
            assert errors and all(e["value"] for e in errors), (rid, h, f["evidence"])
    assert [f["status"] for f in found if f["rule_id"] == "OHP-030" and f["subject"]["host"] == "HV01"] == ["fail"]


def test_the_lab_dying_mid_audit_leaves_no_vm_unreported():
    sc, facts = collect_scenario("lab-dies", call_timeout=5.0)
    hyperv = {h["name"] for h in sc["hosts"] if "hyperv_host" in h["roles"]}
    assert all(manifest(facts, h, "winrm.hyperv")["status"] != "ok" for h in hyperv)
    found = evaluate_facts(facts)
    for rid in ("OHP-030", "OHP-031"):
        fs = [f for f in found if f["rule_id"] == rid]
        assert {f["subject"]["host"] for f in fs} == hyperv
        assert all(
            f["status"] == "unknown" and any(e["path"].startswith("collection[") for e in f["evidence"]) for f in fs
        )


def test_dies_after_requests_answers_that_many_then_hangs_up():
    assert Faults(dies_after_requests=3).any
    with pytest.raises(ValueError, match="dies_after_requests must be >= 0"):
        Faults(dies_after_requests=-1)
