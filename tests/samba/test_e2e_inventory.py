"""End to end from an inventory only: the lab answers WinRM for the proxies and the Hyper-V host, the
real Samba servers answer LDAP and SMB. No fact is added by hand: the file servers' domains come
from the NTLM challenge, their local groups over SAMR, the proxies' accounts from the directory.

File servers: DC1 (feas.test, the proxies' domain), DC2 (forest2.test, a real two-way forest
trust), DC3 (untrusted.test, no trust either way), FS02 (standalone, not in a domain) and FS03 (standalone, SAMR unreachable). PROXY09 is in
other.test, which no collected domain trusts (its own domain is not collected)."""

from __future__ import annotations

import pytest
import samba_lab
import yaml

from offhost_audit import audit, inventory
from offhost_audit.inventory.credentials import Resolver
from offhost_audit.lab import scenario as scenarios
from offhost_audit.lab.responder import inventory_doc, lab_env, lab_hosts
from offhost_audit.lab.wsman import LabServer

pytestmark = pytest.mark.samba

SHARES = {
    "DC1": ["USERS", "LOCALGRP", "VMS", "PUBLIC"],
    "DC2": ["PVMS"],
    "DC3": ["UVMS"],
    "FS02": ["DATA"],
    "FS03": ["DATA"],
}
PROXIES = ["PROXY01", "PROXY02", "PROXY03", "PROXY04"]
SMB_RULES = ("OHP-020", "OHP-021", "OHP-022", "OHP-023")


def _scenario():
    disks = [f"\\\\{fs}\\{sh}\\VM-{fs}-{sh}\\disk.vhdx" for fs, shares in SHARES.items() for sh in shares]
    raw = {
        "name": "samba-e2e",
        "domain": {"dns": "feas.test", "netbios": "FEAS"},
        "hosts": [{"name": p, "roles": ["proxy"], "vss": ["microsoft"]} for p in PROXIES]
        + [
            {
                "name": "PROXY09",
                "roles": ["proxy"],
                "vss": ["microsoft"],
                "domain": {"dns": "other.test", "netbios": "OTHER"},
            },
            {
                "name": "HV01",
                "vss": ["microsoft"],
                "vms": [{"name": f"VM{i:02d}", "disks": [d]} for i, d in enumerate(disks)],
            },
        ],
    }
    return scenarios.normalise(raw)


@pytest.fixture(scope="module")
def run(samba_lab_dc, partner_dc, untrusted_dc, standalone_fs, nosamr_fs):
    sc = _scenario()
    pw = {"SAMBA_PW": samba_lab.ADMIN_PASSWORD}

    def creds(user):
        return {"username": user, "password_env": "SAMBA_PW"}

    def dc(name, address, domain, lab_dc):
        return {
            "name": name,
            "address": address,
            "domain": domain,
            "credentials": creds(f"{lab_dc.domain}\\Administrator"),
            "ldap": {"tls": "ldaps", "ca_file": str(lab_dc.ca_file), "tls_server_name": lab_dc.cert_name},
        }

    with LabServer(lab_hosts(sc), auth=("basic",)) as lab:
        doc = inventory_doc(sc, lab, auth="basic")
        doc["domain_controllers"] = [
            dc("DC1", "127.0.0.1", "feas.test", samba_lab_dc.dc),
            dc("DC2", "127.0.0.3", "forest2.test", partner_dc),
            dc("DC3", "127.0.0.5", "untrusted.test", untrusted_dc),
        ]
        doc["file_servers"] = [
            {"name": "DC1", "address": "127.0.0.1", "credentials": creds("FEAS\\Administrator")},
            {"name": "DC2", "address": "127.0.0.3", "credentials": creds("FOREST2\\Administrator")},
            {"name": "DC3", "address": "127.0.0.5", "credentials": creds("UNTRUSTED\\Administrator")},
            {"name": "FS02", "address": "127.0.0.2", "port": 4445, "credentials": creds("root")},
            {"name": "FS03", "address": "127.0.0.4", "port": 4445, "credentials": creds("root")},
        ]
        nosamr_fs.remove_pipe("samr", "root", samba_lab.ADMIN_PASSWORD)
        inv = inventory.loads(yaml.safe_dump(doc, sort_keys=False), source="<samba e2e inventory>")
        facts, found, _ = audit.run_audit(
            inv, call_timeout=20, target_timeout=120, resolver=Resolver(env={**lab_env(sc), **pw}, interactive=False)
        )
    return facts, found


def _one(found, rule, proxy, share=None, server=None):
    hits = [
        f
        for f in found
        if f["rule_id"] == rule
        and f["subject"].get("proxy") == proxy
        and (share is None or f["subject"].get("share") == share)
        and (server is None or f["subject"].get("server") == server)
    ]
    assert len(hits) == 1, (rule, proxy, share, server, [h["subject"] for h in hits])
    return hits[0]


def test_file_servers_are_hosts_with_their_ntlm_identity(run):
    facts, _ = run
    hosts = {h["name"]: h for h in facts["hosts"]}
    assert hosts["DC1"]["roles"] == ["file_server"]
    assert hosts["DC1"]["domain"] == {"name": "feas.test", "netbios": "FEAS", "part_of_domain": True, "source": "ntlm"}
    assert (hosts["DC1"]["computer_name"], hosts["DC1"]["dns_host_name"]) == ("DC1", "dc1.feas.test")
    assert hosts["DC2"]["domain"]["name"] == "forest2.test"
    assert hosts["FS02"]["domain"] == {"name": "fs02", "netbios": None, "part_of_domain": False, "source": "ntlm"}
    accounts = {a["name"]: a for a in facts["computer_accounts"]}
    assert accounts["DC1"]["domain"] == "feas.test" and accounts["DC2"]["domain"] == "forest2.test"
    assert hosts["PROXY09"]["domain"]["name"] == "other.test"  # from the lab's WinRM answer


def test_local_groups_read_over_samr(run, samba_lab_dc):
    facts, _ = run
    hosts = {h["name"]: h for h in facts["hosts"]}
    groups = {g["sid"]: g for g in hosts["DC1"]["local_groups"]["groups"]}
    assert "S-1-5-11" in groups["S-1-5-32-545"]["members"]
    assert groups[samba_lab_dc.sids["FS-Readers"]]["members"] == [samba_lab_dc.sids["VeeamProxies"]]
    assert samba_lab_dc.sids["PROXY03"] in hosts["DC1"]["local_groups"]["queried_sids"]
    assert hosts["FS03"]["local_groups"] is None
    fs03 = [e for e in facts["collection"] if e["target"] == "FS03" and e["collector"] == "smb.shares"]
    assert fs03[0]["status"] == "ok" and "SAMR not available" in fs03[0]["error"], fs03


def test_every_smb_rule_is_decided_for_every_proxy_with_an_account(run):
    _, found = run
    undecided = [
        (f["rule_id"], f["subject"]["name"], f["missing"])
        for f in found
        if f["rule_id"] in SMB_RULES
        and (f["subject"].get("proxy") in PROXIES or f["subject"].get("host") == "HV01")
        and "FS03" not in (f["subject"].get("share") or "")  # SAMR unreachable: see below
        and f["status"] not in ("pass", "fail")
    ]
    assert not undecided, undecided
    for rule in SMB_RULES:
        assert {f["status"] for f in found if f["rule_id"] == rule} & {"pass", "fail"}
    dialects = [f for f in found if f["rule_id"] == "OHP-023" and f["subject"].get("host") == "HV01"]
    assert len(dialects) == sum(len(s) for s in SHARES.values())  # HV01 x every share, FS03's too
    assert {f["status"] for f in dialects} == {"pass"}


def test_builtin_users_root_passes_with_the_deciding_group(run):
    _, found = run
    f = _one(found, "OHP-021", "PROXY03", "\\\\DC1\\USERS")
    assert f["status"] == "pass", f["message"]
    assert "through local group BUILTIN\\Users of DC1, holding S-1-5-11" in f["message"]
    assert any(
        e["path"].startswith("hosts[DC1].local_groups.groups[") and e["value"]["sid"] == "S-1-5-32-545"
        for e in f["evidence"]
    ), f["evidence"]


def test_local_group_holding_the_proxys_domain_group(run):
    _, found = run
    assert _one(found, "OHP-021", "PROXY02", "\\\\DC1\\LOCALGRP")["status"] == "pass"
    assert "FS-Readers" in _one(found, "OHP-021", "PROXY02", "\\\\DC1\\LOCALGRP")["message"]
    assert _one(found, "OHP-021", "PROXY03", "\\\\DC1\\LOCALGRP")["status"] == "fail"  # not in VeeamProxies


def test_trusted_domain_file_server(run):
    _, found = run
    assert _one(found, "OHP-022", "PROXY01", server="DC2")["status"] == "pass"
    f = _one(found, "OHP-021", "PROXY01", "\\\\DC2\\PVMS")
    assert f["status"] == "pass", f["message"]
    assert "BUILTIN\\Users of DC2" in f["message"]


def test_untrusted_and_standalone_file_servers_fail(run):
    _, found = run
    assert _one(found, "OHP-022", "PROXY01", server="FS02")["status"] == "fail"
    f = _one(found, "OHP-022", "PROXY01", server="DC3")
    assert f["status"] == "fail" and "no trust object for the other domain on either side" in f["message"], f["message"]
    assert _one(found, "OHP-021", "PROXY01", "\\\\DC3\\UVMS")["status"] == "pass"  # readable, were it authenticated
    for server in ("DC1", "DC2"):
        f = _one(found, "OHP-022", "PROXY09", server=server)
        assert f["status"] == "fail", f["message"]
        assert "other.test" in f["message"]


def test_samr_unreachable_is_unknown_naming_the_fact_not_fail(run):
    _, found = run
    f = _one(found, "OHP-021", "PROXY01", "\\\\FS03\\DATA")
    assert f["status"] == "unknown"
    assert f["missing"] == ["hosts[FS03].local_groups"]
    assert _one(found, "OHP-020", "PROXY01", "\\\\FS03\\DATA")["status"] == "pass"  # share ACL: Everyone, no deny
