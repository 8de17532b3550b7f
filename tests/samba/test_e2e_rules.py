"""End to end: facts collected from the real Samba DC and file server, plus hosts and VMs, judged by
the shipped rules OHP-020 (share level), OHP-021 (share AND NTFS, deny wins) and OHP-022 (trust)."""

from __future__ import annotations

import pytest

from offhost_audit.audit import evaluate_facts
from offhost_audit.collect import account_sids
from offhost_audit.collectors import ldap_directory, smb_shares
from offhost_audit.collectors.base import Context, merge
from offhost_audit.facts import validate

pytestmark = pytest.mark.samba

FEAS = {"name": "feas.test", "netbios": "FEAS", "part_of_domain": True}
ON_DISK = ("VMS", "PUBLIC", "SHAREONLY", "NTFSONLY")
# proxies outside FEAS (no computer account on our DC): only OHP-022 can judge them
FOREIGN = {"PROXY05": "outbound.test", "PROXY06": "inbound.test", "PROXY07": "partner.test", "PROXY08": "guarded.test"}


def _host(name, roles, domain):
    return {"name": name, "roles": roles, "domain": domain}


@pytest.fixture(scope="module")
def findings(samba_lab_dc):
    proxies = ["PROXY01", "PROXY02", "PROXY03", "PROXY04"]
    directory = ldap_directory.collect(samba_lab_dc.dc_target(), Context(proxies=proxies + list(FOREIGN)))
    sids = account_sids(directory["computer_accounts"])  # what the runner passes on from the directory
    shares = smb_shares.collect(samba_lab_dc.fs_target(ON_DISK), Context(extra={"account_sids": sids}))
    assert "_errors" not in shares
    hosts = [_host(p, ["proxy"], FEAS) for p in proxies]
    hosts += [
        _host(p, ["proxy"], {"name": d, "netbios": d.split(".")[0].upper(), "part_of_domain": True})
        for p, d in FOREIGN.items()
    ]
    hosts += [_host("HV01", ["hyperv_host"], FEAS), _host("DC1", ["file_server"], FEAS)]
    vms = [
        {
            "name": f"VM-{s}",
            "host": "HV01",
            "disks": [
                {
                    "path": f"\\\\DC1\\{s}\\VM-{s}\\disk.vhdx",
                    "storage": "smb",
                    "format": "vhdx",
                    "share": f"\\\\DC1\\{s}",
                }
            ],
        }
        for s in ON_DISK
    ]
    collected = merge(
        [{"hosts": hosts}] + [{k: v for k, v in f.items() if k != "_errors"} for f in (directory, shares)]
    )
    facts = {"schema_version": 1, "vms": vms, **collected}
    validate(facts)
    return evaluate_facts(facts)


def _one(findings, rule, proxy, share=None, server=None):
    hits = [
        f
        for f in findings
        if f["rule_id"] == rule
        and f["subject"].get("proxy") == proxy
        and (share is None or f["subject"].get("share") == f"\\\\DC1\\{share}")
        and (server is None or f["subject"].get("server") == server)
    ]
    assert len(hits) == 1, (rule, proxy, share, server, [h["subject"] for h in hits])
    return hits[0]


EXPECTED = {
    # (proxy, share): (OHP-020 share level, OHP-021 share AND NTFS)
    ("PROXY01", "VMS"): ("pass", "pass"),  # NTFS allow on the computer account itself
    ("PROXY02", "VMS"): ("pass", "pass"),  # NTFS allow on group VeeamProxies
    ("PROXY03", "VMS"): ("pass", "fail"),  # nothing on NTFS for it
    ("PROXY04", "VMS"): ("pass", "fail"),  # NTFS deny on the account beats the group's allow
    ("PROXY03", "PUBLIC"): ("pass", "pass"),  # Everyone (share) and Authenticated Users (NTFS)
    ("PROXY04", "PUBLIC"): ("fail", "fail"),  # share-level deny
    ("PROXY01", "SHAREONLY"): ("pass", "fail"),  # share allows, NTFS does not
    ("PROXY01", "NTFSONLY"): ("fail", "fail"),  # NTFS allows, share does not
}


@pytest.mark.parametrize(("proxy", "share"), list(EXPECTED))
def test_share_access_statuses(findings, proxy, share):
    share_level, effective = EXPECTED[(proxy, share)]
    assert _one(findings, "OHP-020", proxy, share)["status"] == share_level
    f021 = _one(findings, "OHP-021", proxy, share)
    assert f021["status"] == effective, f021["message"]
    assert f021["severity"] == "high"


def test_deny_ace_is_in_the_evidence(findings, samba_lab_dc):
    f = _one(findings, "OHP-021", "PROXY04", "VMS")
    deny = {"sid": samba_lab_dc.sids["PROXY04"], "type": "deny", "mask": 0x1F01FF, "flags": 3}
    assert any(
        e["path"].startswith("shares[") and ".ntfs_acl[0]" in e["path"] and e["value"] == deny for e in f["evidence"]
    ), f["evidence"]
    f020 = _one(findings, "OHP-020", "PROXY04", "PUBLIC")
    assert any(
        e["value"] == {"sid": samba_lab_dc.sids["PROXY04"], "type": "deny", "mask": 0x1F01FF, "flags": 0}
        for e in f020["evidence"]
    ), f020["evidence"]


def test_group_ace_decides_for_proxy02(findings, samba_lab_dc):
    f = _one(findings, "OHP-021", "PROXY02", "VMS")
    assert any(
        isinstance(e["value"], dict) and e["value"].get("sid") == samba_lab_dc.sids["VeeamProxies"]
        for e in f["evidence"]
    ), f["evidence"]


def test_trusts_judged_per_proxy_and_server(findings):
    for p in ("PROXY01", "PROXY02", "PROXY03", "PROXY04"):
        assert _one(findings, "OHP-022", p, server="DC1")["status"] == "pass"
    one_way = _one(findings, "OHP-022", "PROXY05", server="DC1")  # feas.test trusts outbound.test only
    assert (one_way["status"], one_way["severity"]) == ("fail", "medium")
    wrong_way = _one(findings, "OHP-022", "PROXY06", server="DC1")  # only inbound.test trusts feas.test
    assert (wrong_way["status"], wrong_way["severity"]) == ("fail", "high")
    assert _one(findings, "OHP-022", "PROXY07", server="DC1")["status"] == "pass"
    selective = _one(findings, "OHP-022", "PROXY08", server="DC1")
    assert selective["status"] == "pass"
    assert "Allowed to authenticate" in selective["message"]


def test_proxy_without_account_is_unknown_not_pass(findings):
    f = _one(findings, "OHP-021", "PROXY05", "VMS")
    assert f["status"] == "unknown"
