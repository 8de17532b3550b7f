"""smb.shares reads the file server's identity (NTLM challenge) and its local groups (SAMR)."""

from __future__ import annotations

import pytest
from samba_lab import ADMIN_PASSWORD  # tests/samba is put on sys.path by conftest

from offhost_audit.collectors import smb_shares
from offhost_audit.collectors.base import Context, Credentials, Target
from offhost_audit.facts import validate

pytestmark = pytest.mark.samba


def _standalone(name, address, port):
    return Target(
        name=name,
        kind="file_server",
        address=address,
        port=port,
        credentials=Credentials("root", ADMIN_PASSWORD),
        timeout_s=10,
        options={"shares": ["DATA"]},
    )


def test_dc_identity_and_local_groups(samba_lab_dc):
    sids = [samba_lab_dc.sids["PROXY02"], samba_lab_dc.sids["VeeamProxies"]]
    frag = smb_shares.collect(samba_lab_dc.fs_target(["USERS"]), Context(extra={"account_sids": sids}))
    (host,) = frag["hosts"]
    assert host["domain"] == {"name": "feas.test", "netbios": "FEAS", "part_of_domain": True, "source": "ntlm"}
    assert (host["computer_name"], host["dns_host_name"]) == ("DC1", "dc1.feas.test")
    groups = {g["sid"]: g for g in host["local_groups"]["groups"]}
    assert groups["S-1-5-32-545"]["name"] == "BUILTIN\\Users" and "S-1-5-11" in groups["S-1-5-32-545"]["members"]
    assert groups[samba_lab_dc.sids["FS-Readers"]]["members"] == [samba_lab_dc.sids["VeeamProxies"]]
    assert set(sids) <= set(host["local_groups"]["queried_sids"])
    validate({"schema_version": 1, "hosts": frag["hosts"], "shares": frag["shares"]})


def test_standalone_server_is_not_in_a_domain(standalone_fs):
    frag = smb_shares.collect(_standalone("FS02", "127.0.0.2", standalone_fs.port), Context())
    (host,) = frag["hosts"]
    assert host["domain"] == {"name": "fs02", "netbios": None, "part_of_domain": False, "source": "ntlm"}
    assert host["local_groups"]["source"] == "samr"


def test_server_without_samr_keeps_the_acls_and_leaves_local_groups_null(nosamr_fs):
    nosamr_fs.remove_pipe("samr", "root", ADMIN_PASSWORD)
    frag = smb_shares.collect(_standalone("FS03", "127.0.0.4", nosamr_fs.port), Context())
    (host,) = frag["hosts"]
    assert host["local_groups"] is None
    assert frag["_errors"] == [
        "FS03: local groups (alias membership) not read: SAMR not available: "
        "no \\samr pipe on the server (STATUS_OBJECT_NAME_NOT_FOUND)"
    ]
    assert frag["shares"][0]["ntfs_acl"][-1]["sid"] == "S-1-5-32-545"
