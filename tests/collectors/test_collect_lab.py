"""Every collector script through the real pywinrm client over real HTTP(S) against the lab."""

from __future__ import annotations

import pytest

from offhost_audit import facts as facts_mod
from offhost_audit.audit import evaluate_facts
from offhost_audit.collect import require_some_success
from offhost_audit.collectors.winrm import WinRMSession
from offhost_audit.errors import AuditIncompleteError

from .conftest import collect_scenario, host, served


def test_healthy_estate_collects_every_collector_ok_and_validates(healthy):
    sc, facts = healthy
    assert facts_mod.schema_problems(facts) == []
    assert {e["status"] for e in facts["collection"]} == {"ok"}
    collectors = {e["collector"] for e in facts["collection"]}
    assert {
        "winrm.system",
        "winrm.storage",
        "winrm.cluster",
        "winrm.vss",
        "winrm.hyperv",
        "winrm.services",
        "winrm.smb_client",
        "winrm.backup_server",
    } <= collectors


def test_system_facts(healthy):
    _, facts = healthy
    p = host(facts, "PROXY01")
    assert p["roles"] == ["proxy"]
    assert p["os"]["build"] == 20348 and p["os"]["product_type"] == "server" and p["os"]["is_64bit"] is True
    assert p["hardware"]["cpu_cores"] == 16 and p["hardware"]["nics"][0]["speed_bps"] == 10_000_000_000
    assert p["features"] == {"hyperv": True, "dedup": False, "failover_clustering": False}
    assert p["domain"] == {"name": "corp.example", "netbios": "CORP", "part_of_domain": True}


def test_storage_and_cluster_facts(healthy):
    _, facts = healthy
    p = host(facts, "PROXY01")
    luns = {d["unique_id"] for d in p["storage"]["disks"] if d["bus_type"] == "fc"}
    assert luns == {"60002ac0000000000000000a00021f6b", "60002ac0000000000000000b00021f6b"}
    assert all(d["is_offline"] for d in p["storage"]["disks"] if d["bus_type"] == "fc")
    assert p["storage"]["san_policy"] == "offline_shared" and p["storage"]["initiator_ports"][0]["type"] == "fc"
    assert p["cluster"] == {"member": False, "name": None}
    assert host(facts, "HV01")["cluster"] == {"member": True, "name": "HVCL01"}
    (cl,) = facts["clusters"]
    assert cl["nodes"] == ["HV01", "HV02"]
    csvs = {c["name"]: c for c in cl["csvs"]}
    # each node only resolves the LUN of the CSV it owns; the runner merges both nodes' answers
    assert csvs["Cluster Disk 1"]["disk_unique_ids"] == ["60002ac0000000000000000a00021f6b"]
    assert csvs["Cluster Disk 2"]["disk_unique_ids"] == ["60002ac0000000000000000b00021f6b"]
    assert csvs["Cluster Disk 2"]["owner_node"] == "HV02" and csvs["Cluster Disk 2"]["state"] == "online"


def test_vss_services_smb_and_vms(healthy):
    _, facts = healthy
    p = host(facts, "PROXY01")
    assert {v["id"]: v["type"] for v in p["vss_providers"]} == {
        "b5946137-7b9f-4925-af80-51abd60b20d5": "system",
        "781c006a-5829-4a25-81e3-d5e43bd005ab": "hardware",
    }
    assert [(s["name"], s["status"], s["start_type"]) for s in p["veeam_services"]] == [
        ("VeeamDeploySvc", "running", "automatic"),
        ("VeeamTransportSvc", "running", "automatic"),
        ("VeeamHvIntegrationSvc", "running", "automatic"),
    ]
    assert host(facts, "HV01")["veeam_services"] == []  # empty output: none installed, not unknown
    assert p["smb_connections"] == []
    vms = {v["name"]: v for v in facts["vms"]}
    assert vms["APP01"]["host"] == "HV02" and vms["APP01"]["cluster"] == "HVCL01"
    assert [d["csv"] for d in vms["APP01"]["disks"]] == ["Cluster Disk 2", "Cluster Disk 2"]
    assert {d["storage"] for d in vms["APP01"]["disks"]} == {"csv"}


def test_backup_server_merged_with_inventory(healthy):
    _, facts = healthy
    assert facts["vbr"]["version"] == "13.0.1.1071" and facts["vbr"]["profile"] == "veeam-2025-08"
    assert facts["vbr"]["managed_servers"] == [{"name": "HVCL01", "type": "cluster"}]
    assert facts["vbr"]["proxies"] == [
        {
            "name": "PROXY01",
            "id": facts["vbr"]["proxies"][0]["id"],
            "max_tasks": 4,
            "disabled": False,
            "online": True,
            "out_of_date": False,
            "source": "powershell",
        }
    ]
    assert facts["assignments"] == [
        {"proxy": "PROXY01", "max_tasks": 4, "sources": [{"kind": "cluster", "name": "HVCL01"}]}
    ]


def test_backup_server_without_veeam_module_leaves_facts_unknown():
    from offhost_audit.lab import scenario as scenarios

    raw = scenarios.load("csv-healthy")
    raw["backup_server"]["veeam_module"] = False
    _, facts = collect_scenario(raw)
    assert facts["vbr"]["managed_servers"] is None and facts["vbr"]["proxies"] is None
    assert any("module absent" in w for w in facts["warnings"])
    found = evaluate_facts(facts)
    assert {f["status"] for f in found if f["rule_id"] == "OHP-005"} == {"unknown"}


def test_vssadmin_text_in_german_through_the_lab():
    sc, facts = collect_scenario("vss-provider-mismatch")
    hv22 = host(facts, "HV22")
    assert {v["id"]: v["type"] for v in hv22["vss_providers"]} == {
        "b5946137-7b9f-4925-af80-51abd60b20d5": "system",
        "89300202-3cec-4981-9171-19f59559e0f2": "unknown",
        "a8ef1d2c-7a9d-4b7b-9c1e-3f3e9d1a2b01": "hardware",
    }


def test_smb_estate_disk_kinds_and_missing_file_server_is_visible():
    _, facts = collect_scenario("smb3-estate")
    vms = {v["name"]: v for v in facts["vms"]}
    assert vms["MAIL01"]["disks"][0]["storage"] == "smb" and vms["MAIL01"]["disks"][0]["share"] == "\\\\FS01\\VMS"
    assert vms["TEST01"]["disks"][0]["storage"] == "local"
    assert {c["dialect"] for c in host(facts, "HV62")["smb_connections"]} == {"3.1.1", "2.1"}
    assert any("FS01" in w and "file_servers" in w for w in facts["warnings"])


def test_https_with_the_lab_ca_validates_and_insecure_is_reported():
    _, facts = collect_scenario("vhds-vms", https=True)
    assert {e["status"] for e in facts["collection"]} == {"ok"}
    assert not facts["warnings"]
    _, facts = collect_scenario("vhds-vms", https=True, insecure=True)
    assert any("--insecure" in w for w in facts["warnings"])


def test_https_without_the_ca_fails_clearly():
    with served("vhds-vms", https=True) as (sc, lab, inv):
        for h in inv.hosts:
            h.winrm.ca_file = None
        from offhost_audit.collect import collect_facts
        from offhost_audit.inventory.credentials import Resolver
        from offhost_audit.lab.responder import lab_env

        facts = collect_facts(inv, resolver=Resolver(env=lab_env(sc)), call_timeout=10)
    errors = [e["error"] for e in facts["collection"] if e["status"] == "error"]
    assert errors and all("certificate" in e for e in errors)
    with pytest.raises(AuditIncompleteError):
        require_some_success(facts)


def test_values_go_in_as_arguments(healthy):
    """The services script gets its names as a parameter: ask for one and get one object back."""
    with served("csv-healthy") as (sc, lab, inv):
        from offhost_audit.inventory.credentials import Resolver
        from offhost_audit.lab.responder import lab_env

        target = next(t for t in inv.targets(resolver=Resolver(env=lab_env(sc))) if t.name == "PROXY01")
        s = WinRMSession(target, call_timeout=10)
        try:
            one = s.run("services.ps1", {"Names": ["VeeamTransportSvc"]})
            none = s.run("services.ps1", {"Names": ["NoSuchSvc'); Remove-Item C:\\ -Recurse #"]})
        finally:
            s.close()
    assert isinstance(one, dict) and one["Name"] == "VeeamTransportSvc" and one["Status"] == 4
    assert none is None


def test_file_server_with_winrm_gets_its_os_facts_and_one_host_entry():
    from urllib.parse import urlsplit

    import yaml

    from offhost_audit import collect, inventory
    from offhost_audit.inventory.credentials import Resolver
    from offhost_audit.lab import scenario as scenarios
    from offhost_audit.lab.responder import inventory_doc, lab_env, lab_hosts
    from offhost_audit.lab.wsman import LabServer

    sc = scenarios.normalise(
        {
            "name": "fs-winrm",
            "hosts": [
                {"name": "PROXY01", "roles": ["proxy"]},
                {"name": "HV01"},
                {"name": "FS01", "roles": ["file_server"], "features": [], "computer_name": "FILER01"},
            ],
        }
    )
    with LabServer(lab_hosts(sc)) as lab:
        doc = inventory_doc(sc, lab)
        url = urlsplit(lab.endpoint("FS01"))
        doc["file_servers"] = [
            {
                "name": "FS01",
                "address": "127.0.0.1",
                "port": 9,
                "shares": ["VMS"],  # no SMB there
                "winrm": {
                    "scheme": url.scheme,
                    "port": url.port,
                    "auth": "basic",
                    "message_encryption": "never",
                    "path": url.path,
                },
            }
        ]
        inv = inventory.loads(yaml.safe_dump(doc), source="fs-winrm.yaml")
        facts = collect.collect_facts(inv, resolver=Resolver(env=lab_env(sc), interactive=False), call_timeout=10)
    (fs,) = [h for h in facts["hosts"] if h["name"] == "FS01"]
    assert fs["roles"] == ["file_server"]
    assert fs["os"]["build"] == 20348 and fs["domain"]["name"] == "corp.example"
    assert (fs["computer_name"], fs["dns_host_name"]) == ("FILER01", "filer01.corp.example")
    ran = {(e["collector"], e["status"]) for e in facts["collection"] if e["target"] == "FS01"}
    assert ran == {("winrm.system", "ok"), ("smb.shares", "error")}  # the other WinRM collectors do not apply


def test_a_host_without_a_collected_domain_takes_its_computer_objects():
    from offhost_audit.assemble import domains_from_directory

    hosts = [
        {"name": "PROXY01"},
        {"name": "FS01", "domain": {"name": None}},
        {"name": "TWIN"},
        {"name": "HV01", "domain": {"name": "corp.example"}},
    ]
    accounts = [
        {"name": "PROXY01", "domain": "Corp.Example"},
        {"name": "FS01", "domain": "res.example"},
        {"name": "TWIN", "domain": "a.example"},
        {"name": "TWIN", "domain": "b.example"},
        {"name": "HV01", "domain": "x.example"},
    ]
    domains_from_directory(hosts, accounts)
    assert hosts[0]["domain"] == {
        "name": "corp.example",
        "netbios": None,
        "part_of_domain": True,
        "source": "directory",
    }
    assert hosts[1]["domain"]["name"] == "res.example"
    assert "domain" not in hosts[2]  # found in two domains: left unknown
    assert hosts[3]["domain"] == {"name": "corp.example"}  # collected: kept
