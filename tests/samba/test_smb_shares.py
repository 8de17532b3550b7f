"""smb.shares against the DC's smbd and a standalone smbd on port 4445: the ACE lists must equal what
Samba's own tools (sharesec, samba-tool ntacl, smbcacls) report, in order."""

from __future__ import annotations

import re

import pytest
from samba_lab import ADMIN_PASSWORD, AUDITOR_PASSWORD, SHARES  # tests/samba is put on sys.path by conftest

from offhost_audit.collectors import smb_shares
from offhost_audit.collectors.base import Context, Credentials, Target
from offhost_audit.errors import CollectorError, TargetUnreachableError
from offhost_audit.facts import validate

pytestmark = pytest.mark.samba

SDDL_ALIASES = {"BA": "S-1-5-32-544", "SY": "S-1-5-18", "AU": "S-1-5-11", "WD": "S-1-1-0", "BU": "S-1-5-32-545"}
SDDL_FLAGS = {"OI": 0x1, "CI": 0x2, "NP": 0x4, "IO": 0x8, "ID": 0x10}
SHARESEC_MASKS = {"FULL": 0x1F01FF, "CHANGE": 0x1301FF, "READ": 0x1200A9}  # Samba's CHANGE, not Windows' 0x1301bf


def sddl_aces(sddl: str) -> list[dict]:
    """ACEs of the D: part of an SDDL string as samba-tool prints it (hex masks)."""
    out = []
    for typ, flags, mask, sid in re.findall(r"\((A|D);([A-Z]*);(0x[0-9a-fA-F]+);;;([^)]+)\)", sddl.split("D:", 1)[1]):
        out.append(
            {
                "sid": SDDL_ALIASES.get(sid, sid),
                "type": "allow" if typ == "A" else "deny",
                "mask": int(mask, 16),
                "flags": sum(SDDL_FLAGS[flags[i : i + 2]] for i in range(0, len(flags), 2)),
            }
        )
    return out


def sharesec_aces(view: str) -> list[dict]:
    """ACEs from `sharesec --view` lines `ACL:SID:ALLOWED/0x0/FULL`."""
    out = []
    for sid, typ, flags, mask in re.findall(r"^ACL:(S-[0-9-]+):(ALLOWED|DENIED)/(0x[0-9a-f]+)/(\S+)$", view, re.M):
        out.append(
            {
                "sid": sid,
                "type": "allow" if typ == "ALLOWED" else "deny",
                "mask": SHARESEC_MASKS.get(mask) or int(mask, 16),
                "flags": int(flags, 16),
            }
        )
    return out


def test_share_list_merges_options_and_shares_found_in_vm_paths():
    target = Target(name="fs01", kind="file_server", address="10.0.0.5", options={"shares": ["VMS", "\\\\FS01\\Lib"]})
    ctx = Context(extra={"shares": {"FS01.CORP.EXAMPLE": {"vms", "Archive"}, "FS02": {"Other"}}})
    assert smb_shares.share_names(target, ctx) == ["VMS", "Lib", "Archive"]


@pytest.fixture(scope="module")
def shares(samba_lab_dc):
    frag = smb_shares.collect(samba_lab_dc.fs_target(SHARES), Context())
    return frag


def test_every_share_read_with_dialect_and_path(shares, samba_lab_dc):
    assert "_errors" not in shares
    by_name = {s["name"]: s for s in shares["shares"]}
    assert list(by_name) == list(SHARES)
    for name, s in by_name.items():
        assert s["unc"] == f"\\\\DC1\\{name}"
        assert s["server"] == "DC1"
        assert s["dialect"] == "3.1.1"
        assert s["path"].replace("\\", "/").endswith(str(samba_lab_dc.share_paths[name]))
    validate({"schema_version": 1, "hosts": [], **shares})


@pytest.mark.parametrize("name", SHARES)
def test_share_acl_equals_sharesec_view(shares, samba_lab_dc, name):
    view = samba_lab_dc.dc.run("sharesec", "-s", str(samba_lab_dc.dc.conf), name, "--view").stdout
    got = next(s for s in shares["shares"] if s["name"] == name)["share_acl"]
    assert got == sharesec_aces(view)
    assert got  # the parser above found something


@pytest.mark.parametrize("name", SHARES)
def test_ntfs_acl_equals_samba_tool_ntacl(shares, samba_lab_dc, name):
    dc = samba_lab_dc.dc
    stored = dc.run(
        "samba-tool",
        "ntacl",
        "get",
        str(samba_lab_dc.share_paths[name]),
        "-s",
        str(dc.conf),
        f"--service={name}",
        "--as-sddl",
    ).stdout
    got = next(s for s in shares["shares"] if s["name"] == name)["ntfs_acl"]
    assert got == sddl_aces(stored) == sddl_aces(samba_lab_dc.share_sddl[name])


def test_vms_share_carries_the_deny_ace_first(shares, samba_lab_dc):
    vms = next(s for s in shares["shares"] if s["name"] == "VMS")
    assert vms["ntfs_acl"][0] == {"sid": samba_lab_dc.sids["PROXY04"], "type": "deny", "mask": 0x1F01FF, "flags": 3}


def test_missing_share_and_access_denied_are_per_share_errors(samba_lab_dc):
    target = samba_lab_dc.fs_target(["VMS", "NOSUCH", "LOCKED"], user="FEAS\\auditor", password=AUDITOR_PASSWORD)
    frag = smb_shares.collect(target, Context(extra={"shares": {"DC1": ["PUBLIC", "vms"]}}))
    by_name = {s["name"]: s for s in frag["shares"]}
    assert list(by_name) == ["VMS", "NOSUCH", "LOCKED", "PUBLIC"]  # ctx.extra merged, duplicates dropped
    assert by_name["VMS"]["ntfs_acl"] and by_name["PUBLIC"]["ntfs_acl"]
    assert by_name["NOSUCH"]["share_acl"] is None and by_name["NOSUCH"]["ntfs_acl"] is None
    assert by_name["LOCKED"]["ntfs_acl"] is None
    errors = frag["_errors"]
    assert "\\\\DC1\\NOSUCH: cannot read the root folder ACL: no such share (STATUS_BAD_NETWORK_NAME)" in errors
    assert "\\\\DC1\\LOCKED: cannot read the root folder ACL: access denied (STATUS_ACCESS_DENIED)" in errors
    assert any(e.startswith("\\\\DC1\\NOSUCH: cannot read the share ACL: no such share") for e in errors)
    # Samba's rpcd_classic returns the level-502 security descriptor to a non-administrator or not,
    # depending on what the process served before; either way the gap must be recorded.
    for s in frag["shares"]:
        if s["share_acl"] is None and s["name"] != "NOSUCH":
            assert (
                f"\\\\DC1\\{s['name']}: the server returned no share security descriptor "
                "(reading it needs administrator rights on the server)"
            ) in errors


def test_nothing_readable_raises(samba_lab_dc):
    with pytest.raises(CollectorError, match="no share ACL could be read.*NOSUCH"):
        smb_shares.collect(samba_lab_dc.fs_target(["NOSUCH"]), Context())


def test_wrong_password_is_a_clear_error(samba_lab_dc):
    target = samba_lab_dc.fs_target(["VMS"], password="S3cret-wrong")
    with pytest.raises(CollectorError, match="rejected") as err:
        smb_shares.collect(target, Context())
    assert "S3cret-wrong" not in str(err.value)


def test_unreachable_port(samba_lab_dc):
    with pytest.raises(TargetUnreachableError, match="127.0.0.1:4999"):
        smb_shares.collect(samba_lab_dc.fs_target(["VMS"], port=4999), Context())


def test_standalone_server_on_port_4445(standalone_fs, samba_lab_dc):
    """smbcacls (on 445: it cannot change port) then sharesec write the ACLs; the collector reads on 4445."""
    env, conf = standalone_fs.env, str(standalone_fs.conf)
    sid = "S-1-5-21-1000-2000-3001-1105"  # a SID of a trusted domain: acl_xattr keeps arbitrary SIDs
    import subprocess

    res = subprocess.run(
        [
            "smbcacls",
            "-s",
            conf,
            "//127.0.0.2/DATA",
            "",
            "-U",
            f"root%{ADMIN_PASSWORD}",
            "--set",
            f"ACL:{sid}:DENIED/OI|CI/0x00000001,ACL:S-1-5-32-544:ALLOWED/OI|CI/FULL",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr + res.stdout
    # after smbcacls: it needs FULL on the share (the default share ACL is Everyone FULL)
    subprocess.run(
        ["sharesec", "-s", conf, "DATA", f"--replace=S-1-1-0:ALLOWED/0/FULL,{sid}:DENIED/0/CHANGE"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    target = Target(
        name="FS02",
        kind="file_server",
        address="127.0.0.2",
        port=standalone_fs.port,
        credentials=Credentials("root", ADMIN_PASSWORD),
        timeout_s=10,
        options={"shares": ["DATA"]},
    )
    frag = smb_shares.collect(target, Context())
    (share,) = frag["shares"]
    assert "_errors" not in frag, frag["_errors"]
    assert share["unc"] == "\\\\FS02\\DATA" and share["dialect"] == "3.1.1"
    # Samba's sharesec writes CHANGE as 0x1301ff (Windows' Change preset is 0x1301bf)
    assert share["share_acl"] == [
        {"sid": sid, "type": "deny", "mask": 0x1301FF, "flags": 0},
        {"sid": "S-1-1-0", "type": "allow", "mask": 0x1F01FF, "flags": 0},
    ]
    assert share["ntfs_acl"] == [
        {"sid": sid, "type": "deny", "mask": 0x1, "flags": 3},
        {"sid": "S-1-5-32-544", "type": "allow", "mask": 0x1F01FF, "flags": 3},
    ]
