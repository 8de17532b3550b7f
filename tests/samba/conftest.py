"""Session fixtures: a real Samba AD DC (FEAS.TEST, 127.0.0.1) with trusts, proxy computer accounts
and shares whose ACLs cover every OHP-021 case, plus a standalone smbd on 127.0.0.2:4445.

Share / ACL layout (P1..P4 = PROXY01$..PROXY04$, G = group VeeamProxies {PROXY02$, PROXY04$},
AUD = the non-admin user ``auditor``):

=========  ====================================  ==============================================
share      share ACL (sharesec)                  root folder ACL (samba-tool ntacl)
=========  ====================================  ==============================================
VMS        Everyone FULL                         deny P4 full; allow BA, SY, P1 full; G, AUD read
PUBLIC     deny P4 FULL; Everyone READ; BA FULL  allow BA full; Authenticated Users read
SHAREONLY  Everyone FULL                         allow BA full; AUD read        (P1 not here)
NTFSONLY   BA FULL; AUD READ                     allow BA, P1 full; AUD read    (P1 not on share)
LOCKED     Everyone FULL                         allow BA, SY full              (AUD cannot read)
USERS      Everyone FULL                         allow BA full; BU (BUILTIN/Users) read, via the alias only
LOCALGRP   Everyone FULL                         allow BA full; FS-Readers read (domain-local group holding G)
=========  ====================================  ==============================================

The trust partner's DC (FOREST2.TEST) serves PVMS (share Everyone FULL; root BA full, BU
read), UNTRUSTED.TEST's (127.0.0.5, no trust at all) UVMS likewise. A second standalone smbd (FS03, 127.0.0.4) serves DATA (root BA full, BU read) and, once
its \\samr pipe is removed, no SAMR.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import samba_lab

from offhost_audit.collectors.base import Credentials, Target

ADMIN = "FEAS\\Administrator"
AUDITOR_PASSWORD = samba_lab.AUDITOR_PASSWORD
FULL, CHANGE, READ = "0x001f01ff", "0x001301bf", "0x001200a9"
SHARES = samba_lab.SHARES
PARTNER_REALM, PARTNER_IP = "FOREST2.TEST", "127.0.0.3"  # 127.0.0.2 is the standalone smbd's
UNTRUSTED_REALM, UNTRUSTED_IP = "UNTRUSTED.TEST", "127.0.0.5"  # a third forest, no trust with the others
TRUSTS = {
    # partner: (flat name, SID, direction, type, attributes)
    "partner.test": ("PARTNER", "S-1-5-21-1000-2000-3001", 3, 2, 0x8),
    "inbound.test": ("INBOUND", "S-1-5-21-1000-2000-3002", 1, 2, 0x0),
    "outbound.test": ("OUTBOUND", "S-1-5-21-1000-2000-3003", 2, 2, 0x8),
    "guarded.test": ("GUARDED", "S-1-5-21-1000-2000-3004", 3, 2, 0x4 | 0x10 | 0x80),
}


@dataclass
class Lab:
    dc: samba_lab.SambaDC
    domain_sid: str = ""
    sids: dict[str, str] = field(default_factory=dict)  # PROXY01.., VeeamProxies, auditor
    share_sddl: dict[str, str] = field(default_factory=dict)
    share_paths: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    partner: samba_lab.SambaDC | None = None  # provisioned alongside this DC when a test needs it
    partner_provisioned: Future | None = None
    untrusted: samba_lab.SambaDC | None = None  # likewise, the DC of a domain nobody trusts
    untrusted_provisioned: Future | None = None

    def dc_target(self, mode: str = "ldaps", **kw) -> Target:
        opts = {"domain": "feas.test", "tls_mode": mode, "tls_server_name": self.dc.cert_name}
        opts.update(kw.pop("options", {}))
        args = dict(
            name="DC1",
            kind="domain_controller",
            address="127.0.0.1",
            credentials=Credentials(ADMIN, samba_lab.ADMIN_PASSWORD),
            ca_file=str(self.dc.ca_file),
            timeout_s=10,
            options=opts,
        )
        args.update(kw)
        return Target(**args)

    def fs_target(self, shares, user: str = ADMIN, password: str = samba_lab.ADMIN_PASSWORD, **kw) -> Target:
        args = dict(
            name="DC1",
            kind="file_server",
            address="127.0.0.1",
            credentials=Credentials(user, password),
            timeout_s=10,
            options={"shares": list(shares)},
        )
        args.update(kw)
        return Target(**args)

    def ldap_admin(self):
        import ssl

        import ldap3

        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(self.dc.ca_file), valid_names=[self.dc.cert_name])
        server = ldap3.Server("127.0.0.1", port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE)
        return ldap3.Connection(
            server, user=ADMIN, password=samba_lab.ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True
        )


def _create_accounts(lab: Lab) -> None:
    from offhost_audit.collectors.winsec import sid_to_str

    base = lab.dc.domain_dn
    conn = lab.ldap_admin()
    conn.add(f"CN=VeeamProxies,CN=Users,{base}", "group", {"sAMAccountName": "VeeamProxies"})
    for n in ("PROXY01", "PROXY02", "PROXY03", "PROXY04"):
        conn.add(f"CN={n},CN=Computers,{base}", "computer", {"sAMAccountName": n + "$", "userAccountControl": 4096})
    conn.modify(
        f"CN=VeeamProxies,CN=Users,{base}",
        {"member": [("MODIFY_ADD", [f"CN=PROXY02,CN=Computers,{base}", f"CN=PROXY04,CN=Computers,{base}"])]},
    )
    # a domain-local group: on a DC, SAMR's account domain lists these as the server's aliases
    conn.add(
        f"CN=FS-Readers,CN=Users,{base}",
        "group",
        {"sAMAccountName": "FS-Readers", "groupType": -2147483644, "member": [f"CN=VeeamProxies,CN=Users,{base}"]},
    )
    conn.unbind()
    lab.dc.run("samba-tool", "user", "create", "auditor", AUDITOR_PASSWORD, "-s", str(lab.dc.conf))
    conn = lab.ldap_admin()
    for cn, key in [
        ("CN=VeeamProxies,CN=Users", "VeeamProxies"),
        ("CN=auditor,CN=Users", "auditor"),
        ("CN=FS-Readers,CN=Users", "FS-Readers"),
    ] + [(f"CN=PROXY0{i},CN=Computers", f"PROXY0{i}") for i in range(1, 5)]:
        conn.search(f"{cn},{base}", "(objectClass=*)", "BASE", attributes=["objectSid"])
        lab.sids[key] = sid_to_str(conn.response[0]["raw_attributes"]["objectSid"][0])
    conn.search(base, "(objectClass=*)", "BASE", attributes=["objectSid"])
    lab.domain_sid = sid_to_str(conn.response[0]["raw_attributes"]["objectSid"][0])
    conn.unbind()


def _add_trusts(lab: Lab) -> None:
    # ldap3 cannot add trustedDomain objects ("LSA objectclasses ... cannot be created over LDAP");
    # ldbadd into sam.ldb while the DC runs can. The SID goes in string form: a base64 (::) value
    # for securityIdentifier made ldbadd add 0 records without an error.
    ldif = "".join(
        f"dn: CN={p},CN=System,{lab.dc.domain_dn}\nobjectClass: trustedDomain\ntrustPartner: {p}\n"
        f"flatName: {flat}\ntrustDirection: {d}\ntrustType: {t}\ntrustAttributes: {a}\n"
        f"securityIdentifier: {sid}\n\n"
        for p, (flat, sid, d, t, a) in TRUSTS.items()
    )
    lab.dc.ldbadd(ldif)


def _set_acls(lab: Lab) -> None:
    s = lab.sids
    p1, p4, grp, aud = s["PROXY01"], s["PROXY04"], s["VeeamProxies"], s["auditor"]
    share = {
        "VMS": "S-1-1-0:ALLOWED/0/FULL",
        "PUBLIC": f"{p4}:DENIED/0/FULL,S-1-1-0:ALLOWED/0/READ,S-1-5-32-544:ALLOWED/0/FULL",
        "SHAREONLY": "S-1-1-0:ALLOWED/0/FULL",
        "NTFSONLY": f"S-1-5-32-544:ALLOWED/0/FULL,{aud}:ALLOWED/0/READ",
        "LOCKED": "S-1-1-0:ALLOWED/0/FULL",
        "USERS": "S-1-1-0:ALLOWED/0/FULL",
        "LOCALGRP": "S-1-1-0:ALLOWED/0/FULL",
    }
    ntfs = {
        "VMS": f"(D;OICI;{FULL};;;{p4})(A;OICI;{FULL};;;BA)(A;OICI;{FULL};;;SY)(A;OICI;{FULL};;;{p1})"
        f"(A;OICI;{READ};;;{grp})(A;OICI;{READ};;;{aud})",
        "PUBLIC": f"(A;OICI;{FULL};;;BA)(A;OICI;{READ};;;AU)",
        "SHAREONLY": f"(A;OICI;{FULL};;;BA)(A;OICI;{READ};;;{aud})",
        "NTFSONLY": f"(A;OICI;{FULL};;;BA)(A;OICI;{FULL};;;{p1})(A;OICI;{READ};;;{aud})",
        "LOCKED": f"(A;OICI;{FULL};;;BA)(A;OICI;{FULL};;;SY)",
        "USERS": f"(A;OICI;{FULL};;;BA)(A;OICI;{READ};;;S-1-5-32-545)",
        "LOCALGRP": f"(A;OICI;{FULL};;;BA)(A;OICI;{READ};;;{s['FS-Readers']})",
    }
    conf = str(lab.dc.conf)
    for name in SHARES:
        lab.dc.run("sharesec", "-s", conf, name, f"--replace={share[name]}")
        lab.share_sddl[name] = f"O:BAG:DUD:P{ntfs[name]}"
        lab.dc.run(
            "samba-tool",
            "ntacl",
            "set",
            lab.share_sddl[name],
            str(lab.share_paths[name]),
            "-s",
            conf,
            f"--service={name}",
        )


@pytest.fixture(scope="session")
def samba_lab_dc(request, tmp_path_factory) -> Lab:
    try:
        samba_lab.check_installed()
    except samba_lab.LabError as exc:
        pytest.fail(str(exc), pytrace=False)
    root = tmp_path_factory.mktemp("samba")
    # Share folders outside pytest's 0700 temp tree: smbd runs as the (non-root) connecting user
    # and must be able to traverse to the share path.
    share_root = Path(tempfile.mkdtemp(prefix="ohp-samba-shares-"))
    share_root.chmod(0o755)
    paths = {n: share_root / n.lower() for n in SHARES}
    for p in paths.values():
        p.mkdir()
    hosts = root / "hosts"  # NSS_WRAPPER_HOSTS: the trust partner DC's name (no DNS here)
    hosts.write_text(
        f"127.0.0.1 dc1.feas.test dc1\n{PARTNER_IP} dc2.{PARTNER_REALM.lower()} dc2\n"
        f"{UNTRUSTED_IP} dc3.{UNTRUSTED_REALM.lower()} dc3\n"
    )
    dc = samba_lab.SambaDC(root, shares=paths, hosts_file=hosts)
    lab = Lab(dc=dc, share_paths=paths)
    pool = ThreadPoolExecutor(2)
    wanted = {n for item in request.session.items for n in getattr(item, "fixturenames", ())}

    def other_dc(key: str, share: str, realm: str, ip: str, host_name: str):
        # provisioning is CPU-bound and takes 7-20 s: do the other DCs' at the same time as ours
        droot = tmp_path_factory.mktemp(key)
        shutil.copy(hosts, droot / "hosts")
        (share_root / share.lower()).mkdir()
        other = samba_lab.SambaDC(
            droot,
            {share: share_root / share.lower()},
            realm=realm,
            domain=realm.split(".")[0],
            ip=ip,
            interfaces=f"{ip}/8",
            host_name=host_name,
            hosts_file=droot / "hosts",
        )
        return other, pool.submit(other.provision)

    if "partner_dc" in wanted:
        lab.partner, lab.partner_provisioned = other_dc("partner", "PVMS", PARTNER_REALM, PARTNER_IP, "dc2")
    if "untrusted_dc" in wanted:
        lab.untrusted, lab.untrusted_provisioned = other_dc("untrusted", "UVMS", UNTRUSTED_REALM, UNTRUSTED_IP, "dc3")
    try:
        dc.provision()
        dc.start()
        t0 = time.monotonic()
        _create_accounts(lab)
        _add_trusts(lab)
        _set_acls(lab)
        lab.timings = dict(dc.timings, populate_s=time.monotonic() - t0)
        print(f"\nsamba lab timings: {lab.timings}")
        yield lab
    finally:
        dc.stop()
        pool.shutdown(wait=True)
        shutil.rmtree(share_root, ignore_errors=True)


@pytest.fixture(scope="session")
def standalone_fs(samba_lab_dc, tmp_path_factory):
    """smbd on 127.0.0.2:4445 (and 445 for smbcacls, which cannot change port) with one share DATA."""
    root = tmp_path_factory.mktemp("fs")
    data = root / "data"
    data.mkdir()
    # Not the DC's environment: with SELFTEST_WINBINDD_SOCKET_DIR set, logons to this smbd fail.
    env = {k: v for k, v in samba_lab_dc.dc.env.items() if k != "SELFTEST_WINBINDD_SOCKET_DIR"}
    fs = samba_lab.StandaloneSmbd(root, {"DATA": data}, env)
    try:
        fs.start()
        yield fs
    finally:
        fs.stop()


def _users_read(dc: samba_lab.SambaDC, share: str) -> None:
    """Share ACL Everyone FULL; root folder: BA full, BUILTIN\\Users read."""
    dc.run("sharesec", "-s", str(dc.conf), share, "--replace=S-1-1-0:ALLOWED/0/FULL")
    dc.run(
        "samba-tool",
        "ntacl",
        "set",
        f"O:BAG:DUD:P(A;OICI;{FULL};;;BA)(A;OICI;{READ};;;S-1-5-32-545)",
        str(dc.shares[share]),
        "-s",
        str(dc.conf),
        f"--service={share}",
    )


@pytest.fixture(scope="session")
def partner_dc(samba_lab_dc, tmp_path_factory):
    """A second DC (FOREST2.TEST on 127.0.0.3) and a real two-way forest trust with FEAS.TEST,
    made by `samba-tool domain trust create` (objects on both sides)."""
    dc2 = samba_lab_dc.partner
    assert dc2 is not None and samba_lab_dc.partner_provisioned is not None
    samba_lab_dc.partner_provisioned.result()
    try:
        dc2.start()
        t0 = time.monotonic()
        dc1 = samba_lab_dc.dc
        dc1.run(
            "samba-tool",
            "domain",
            "trust",
            "create",
            PARTNER_REALM.lower(),
            "--type=forest",
            "--direction=both",
            "--create-location=both",
            "-U",
            f"FOREST2\\Administrator%{samba_lab.ADMIN_PASSWORD}",
            f"--ipaddress={PARTNER_IP}",
            "--local-dc-ipaddress=127.0.0.1",
            "--local-dc-username=Administrator",
            f"--local-dc-password={samba_lab.ADMIN_PASSWORD}",
            "--skip-validation",
            "-s",
            str(dc1.conf),
        )
        dc2.timings["trust_create_s"] = time.monotonic() - t0
        _users_read(dc2, "PVMS")
        print(f"\npartner DC timings: {dc2.timings}")
        yield dc2
    finally:
        dc2.stop()


@pytest.fixture(scope="session")
def nosamr_fs(samba_lab_dc, tmp_path_factory):
    """FS03: a standalone smbd on 127.0.0.4:4445 (and 445 for smbcacls) whose share DATA grants
    read only to BUILTIN\\Users. Call ``fs.remove_pipe("samr", "root", ADMIN_PASSWORD)`` right
    before collecting: its SAMR is then unreachable while srvsvc still answers."""
    import subprocess

    root = tmp_path_factory.mktemp("fs3")
    data = root / "data"
    data.mkdir()
    env = {k: v for k, v in samba_lab_dc.dc.env.items() if k != "SELFTEST_WINBINDD_SOCKET_DIR"}
    fs = samba_lab.StandaloneSmbd(root, {"DATA": data}, env, ip="127.0.0.4", name="FS03")
    try:
        fs.start()
        res = subprocess.run(
            [
                "smbcacls",
                "-s",
                str(fs.conf),
                "//127.0.0.4/DATA",
                "",
                "-U",
                f"root%{samba_lab.ADMIN_PASSWORD}",
                "--set",
                "ACL:S-1-5-32-544:ALLOWED/OI|CI/FULL,ACL:S-1-5-32-545:ALLOWED/OI|CI/READ",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 0, res.stderr + res.stdout
        yield fs
    finally:
        fs.stop()


@pytest.fixture(scope="session")
def untrusted_dc(samba_lab_dc):
    """A third DC (UNTRUSTED.TEST on 127.0.0.5) in its own forest, with no trust to or from the
    others; its share UVMS grants read to BUILTIN\\Users."""
    dc3 = samba_lab_dc.untrusted
    assert dc3 is not None and samba_lab_dc.untrusted_provisioned is not None
    samba_lab_dc.untrusted_provisioned.result()
    try:
        dc3.start()
        _users_read(dc3, "UVMS")
        yield dc3
    finally:
        dc3.stop()
