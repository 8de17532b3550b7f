"""A real two-way forest trust between two Samba DCs (FEAS.TEST and FOREST2.TEST), read from both
sides, and a proxy of the other forest judged against a share of FEAS."""

from __future__ import annotations

import ssl

import ldap3
import pytest
from samba_lab import ADMIN_PASSWORD

from offhost_audit.audit import evaluate_facts
from offhost_audit.collect import account_sids
from offhost_audit.collectors import ldap_directory, smb_shares
from offhost_audit.collectors.base import Context, Credentials, Target, merge
from offhost_audit.facts import validate

pytestmark = pytest.mark.samba


def _target2(dc2) -> Target:
    return Target(
        name="DC2",
        kind="domain_controller",
        address=dc2.ip,
        credentials=Credentials("Administrator@forest2.test", ADMIN_PASSWORD),
        ca_file=str(dc2.ca_file),
        timeout_s=10,
        options={"tls_mode": "ldaps", "tls_server_name": dc2.cert_name},
    )


@pytest.fixture(scope="module")
def both_sides(samba_lab_dc, partner_dc):
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED, ca_certs_file=str(partner_dc.ca_file), valid_names=[partner_dc.cert_name]
    )
    conn = ldap3.Connection(
        ldap3.Server(partner_dc.ip, port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE),
        user="FOREST2\\Administrator",
        password=ADMIN_PASSWORD,
        auto_bind=True,
        raise_exceptions=True,
    )
    conn.add(
        f"CN=PROXY09,CN=Computers,{partner_dc.domain_dn}",
        "computer",
        {"sAMAccountName": "PROXY09$", "userAccountControl": 4096},
    )
    conn.unbind()
    feas = ldap_directory.collect(samba_lab_dc.dc_target(), Context(proxies=["PROXY09"]))
    forest2 = ldap_directory.collect(_target2(partner_dc), Context(proxies=["PROXY09"]))
    return feas, forest2


def test_both_sides_hold_the_trust(both_sides):
    feas, forest2 = both_sides
    (d1,), (d2,) = feas["domains"], forest2["domains"]
    t1 = next(t for t in d1["trusts"] if t["partner"] == "forest2.test")
    t2 = next(t for t in d2["trusts"] if t["partner"] == "feas.test")
    assert t1 == {
        "partner": "forest2.test",
        "flat_name": "FOREST2",
        "sid": d2["sid"],
        "direction": "bidirectional",
        "type": "uplevel",
        "attributes": 8,
        "attribute_flags": ["FOREST_TRANSITIVE"],
    }
    assert t2 == {
        "partner": "feas.test",
        "flat_name": "FEAS",
        "sid": d1["sid"],
        "direction": "bidirectional",
        "type": "uplevel",
        "attributes": 8,
        "attribute_flags": ["FOREST_TRANSITIVE"],
    }
    assert d2["forest"] == "forest2.test" and d2["netbios_name"] == "FOREST2"
    # PROXY09 lives in FOREST2: absent (and noted) on FEAS, present on FOREST2
    assert feas["computer_accounts"] == [] and "PROXY09$ not found in feas.test" in feas["_errors"][0]
    (acct,) = forest2["computer_accounts"]
    assert acct["domain"] == "forest2.test" and acct["sid"].startswith(d2["sid"] + "-")


def test_cross_forest_proxy_judged(both_sides, samba_lab_dc):
    feas, forest2 = both_sides
    sids = account_sids(forest2["computer_accounts"])  # what the runner passes on from the directory
    shares = smb_shares.collect(samba_lab_dc.fs_target(["PUBLIC", "VMS"]), Context(extra={"account_sids": sids}))
    feas_dom = {"name": "feas.test", "netbios": "FEAS", "part_of_domain": True}
    hosts = [
        {
            "name": "PROXY09",
            "roles": ["proxy"],
            "domain": {"name": "forest2.test", "netbios": "FOREST2", "part_of_domain": True},
        },
        {"name": "HV01", "roles": ["hyperv_host"], "domain": feas_dom},
        {"name": "DC1", "roles": ["file_server"], "domain": feas_dom},
    ]
    vms = [
        {
            "name": f"VM-{s}",
            "host": "HV01",
            "disks": [{"path": f"\\\\DC1\\{s}\\d.vhdx", "storage": "smb", "share": f"\\\\DC1\\{s}"}],
        }
        for s in ("PUBLIC", "VMS")
    ]
    collected = merge(
        [{"hosts": hosts}] + [{k: v for k, v in f.items() if not k.startswith("_")} for f in (feas, forest2, shares)]
    )
    facts = {"schema_version": 1, "vms": vms, **collected}
    validate(facts)
    found = {
        (f["rule_id"], f["subject"].get("share") or f["subject"].get("server")): f
        for f in evaluate_facts(facts)
        if f["subject"].get("proxy") == "PROXY09"
    }
    trust = found[("OHP-022", "DC1")]
    assert trust["status"] == "pass", trust["message"]
    assert "forest2.test" in trust["message"]
    assert found[("OHP-021", "\\\\DC1\\PUBLIC")]["status"] == "pass"  # Authenticated Users crosses the trust
    assert found[("OHP-021", "\\\\DC1\\VMS")]["status"] == "fail"
