"""Kerberos for real: tickets from the Samba DC's KDC (FEAS.TEST), the lab's HTTPS WinRM listener
accepting them with a keytab exported from the DC for HTTP/hv01.feas.test, and the LDAP GSSAPI bind.

The positive runs go through the CLI in a subprocess whose host names (dc1, hv01, nospn .feas.test ->
127.0.0.1) come from an nss_wrapper hosts file, as the Samba servers' do: Kerberos needs the DNS
names. The failures (clock skew, wrong password, SPN unknown, an IP address) meet the real KDC too.
Every run has KRB5CCNAME pointing at a stand-in "user's cache" that must come out untouched, and a
krb5.conf of its own (KRB5_CONFIG)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import samba_lab
import yaml

from offhost_audit.collectors import ldap_directory
from offhost_audit.collectors.base import Context, Credentials, Target
from offhost_audit.collectors.kerberos import Tickets
from offhost_audit.collectors.winrm import WinRMSession
from offhost_audit.errors import KerberosError
from offhost_audit.findings import unknowns
from offhost_audit.lab import scenario as scenarios
from offhost_audit.lab.responder import lab_hosts
from offhost_audit.lab.wsman import LabServer

pytestmark = pytest.mark.samba

HOST = "hv01.feas.test"
USER = "auditor@feas.test"
FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
KRB5_CONF = """[libdefaults]
 default_realm = FEAS.TEST
 dns_lookup_realm = false
 dns_lookup_kdc = false
 rdns = false
 dns_canonicalize_hostname = false
{extra}
[realms]
 FEAS.TEST = {{
  kdc = 127.0.0.1
 }}
[domain_realm]
 .feas.test = FEAS.TEST
 feas.test = FEAS.TEST
"""
USER_CACHE = b"the user's own credential cache: not ours to read or write\n"


@pytest.fixture(scope="module")
def krb(samba_lab_dc, tmp_path_factory):
    """HV01$ with the SPN HTTP/hv01.feas.test and its keytab; the krb5.conf files; the lab on HTTPS."""
    if not Path(FAKETIME).exists():
        pytest.fail(f"{FAKETIME} is missing: apt-get install libfaketime (scripts/test-deps)", pytrace=False)
    dc, root = samba_lab_dc.dc, tmp_path_factory.mktemp("krb")
    conf = str(dc.conf)
    dc.run("samba-tool", "computer", "add", "HV01", "-s", conf)
    # the account's keys: samba-tool computer add sets none, and exportkeytab (4.17) exports by account
    dc.run("samba-tool", "user", "setpassword", "HV01$", "--newpassword=Hv01-Machine!Key7", "-s", conf)
    dc.run("samba-tool", "spn", "add", f"HTTP/{HOST}", "HV01$", "-s", conf)
    # a DC registers ldap/<its name> itself (samba_spnupdate, with the DNS updates this DC runs without)
    dc.run("samba-tool", "spn", "add", "ldap/dc1.feas.test", "DC1$", "-s", conf)
    keytab = root / "hv01.keytab"
    dc.run("samba-tool", "domain", "exportkeytab", str(keytab), "--principal=HV01$", "-s", conf)
    (root / "krb5.conf").write_text(KRB5_CONF.format(extra=""))
    # MIT corrects its own clock from the KDC's answer by default (kdc_timesync); Windows and Heimdal
    # clients do not, and neither does a host that checks a ticket: the skew case turns it off
    (root / "krb5-strict-time.conf").write_text(KRB5_CONF.format(extra=" kdc_timesync = 0"))
    (root / "hosts").write_text(f"127.0.0.1 dc1.feas.test dc1\n127.0.0.1 {HOST} hv01\n127.0.0.1 nospn.feas.test\n")
    raw = {"name": "krb", "domain": {"dns": "feas.test", "netbios": "FEAS"}, "hosts": [{"name": "HV01"}]}
    sc = scenarios.normalise(raw)
    # one lab host named by its DNS name: the lab's certificate names it, so TLS validates
    host = replace(lab_hosts(sc)[0], name=HOST, username="auditor@FEAS.TEST", password="unused: Kerberos only")
    with LabServer([host], https=True, auth=("kerberos",), keytab=str(keytab)) as lab:
        yield {"root": root, "lab": lab, "dc": dc}


def _env(krb, *, conf="krb5.conf", faketime: str | None = None, **extra: str) -> dict[str, str]:
    root: Path = krb["root"]
    cache = root / "user-ccache"
    cache.write_bytes(USER_CACHE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NSS_WRAPPER", "KRB5", "LD_PRELOAD"))}
    env.update(
        KRB5_CONFIG=str(root / conf),
        KRB5CCNAME=f"FILE:{cache}",
        KRB_PW=samba_lab.AUDITOR_PASSWORD,
        LD_PRELOAD=samba_lab.NSS_WRAPPER,
        NSS_WRAPPER_HOSTS=str(root / "hosts"),
        **extra,
    )
    if faketime:
        env.update(
            LD_PRELOAD=f"{samba_lab.NSS_WRAPPER} {FAKETIME}", FAKETIME=faketime, FAKETIME_DONT_FAKE_MONOTONIC="1"
        )
    return env


def _inventory(krb, tmp_path, *, host=HOST, dc=True, user=USER, password_env="KRB_PW", winrm=None) -> Path:
    lab, samba = krb["lab"], krb["dc"]
    winrm = winrm or {"port": lab.address[1], "ca_file": lab.ca_file}
    doc = {
        "defaults": {"credentials": {"username": user, "password_env": password_env}},
        "hyperv_hosts": [
            {
                "name": "HV01",
                "address": host,
                "winrm": {"scheme": "https", "port": winrm["port"], "auth": "kerberos", "ca_file": winrm["ca_file"]},
            }
        ],
    }
    if dc:
        doc["domain_controllers"] = [
            {
                "name": "DC1",
                "address": "dc1.feas.test",
                "domain": "feas.test",
                "ldap": {
                    "tls": "ldaps",
                    "ca_file": str(samba.ca_file),
                    "tls_server_name": samba.cert_name,
                    "auth": "kerberos",
                },
            }
        ]
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _collect(krb, tmp_path, inventory: Path, **env_kw):
    out = tmp_path / "facts.json"
    before = set(Path("/tmp").glob("krb5cc*"))
    res = subprocess.run(
        [sys.executable, "-m", "offhost_audit", "--debug", "collect", "-i", str(inventory), "-o", str(out)],
        env=_env(krb, **env_kw),
        capture_output=True,
        text=True,
        timeout=120,
    )
    # the user's cache is untouched and no cache file was left behind
    assert (krb["root"] / "user-ccache").read_bytes() == USER_CACHE
    assert set(Path("/tmp").glob("krb5cc*")) == before
    assert samba_lab.AUDITOR_PASSWORD not in res.stdout + res.stderr
    facts = json.loads(out.read_text()) if out.exists() else None
    if facts is not None:
        assert samba_lab.AUDITOR_PASSWORD not in out.read_text()
    return res, facts


def _entries(facts, target):
    return {e["collector"]: e for e in facts["collection"] if e["target"] == target}


def test_winrm_and_ldap_over_kerberos(krb, tmp_path):
    """The host over the lab's HTTPS listener and the DC over LDAPS, each with a ticket from the KDC."""
    lab = krb["lab"]
    rejected = lab.stats(HOST).get("auth_rejected", 0)
    res, facts = _collect(krb, tmp_path, _inventory(krb, tmp_path))
    assert facts is not None, res.stderr
    hv = _entries(facts, "HV01")
    assert hv and all(e["status"] == "ok" for e in hv.values()), hv
    assert _entries(facts, "DC1")["ldap.directory"]["status"] == "ok", _entries(facts, "DC1")
    assert [d["dns_name"] for d in facts["domains"]] == ["feas.test"], facts["domains"]
    stats = lab.stats(HOST)
    assert stats["http_requests"] >= len(hv) and stats.get("auth_rejected", 0) == rejected, stats


def test_a_ticket_for_another_account_is_refused_by_the_host(krb, tmp_path):
    """The lab host takes only its own user's tickets (as a host takes only its allowed users): the
    KDC gives Administrator a ticket, the host answers 401, the error says what to check."""
    rejected = krb["lab"].stats(HOST).get("auth_rejected", 0)
    inventory = _inventory(krb, tmp_path, dc=False, user="Administrator@feas.test", password_env="ADMIN_PW")
    res, facts = _collect(krb, tmp_path, inventory, ADMIN_PW=samba_lab.ADMIN_PASSWORD)
    assert facts is not None, res.stderr
    errors = [e["error"] for e in _entries(facts, "HV01").values() if e["error"]]
    assert "refused the Kerberos ticket of Administrator@FEAS.TEST for HTTP/hv01.feas.test" in errors[0], errors
    assert samba_lab.ADMIN_PASSWORD not in res.stdout + res.stderr + json.dumps(facts)
    assert krb["lab"].stats(HOST)["auth_rejected"] == rejected + 1
    advice = unknowns.advice({"target": "HV01", "collector": "host.system", "error": errors[0]})
    assert "setspn -L" in advice and "clock" in advice, advice


LAB_PROCESS = """
import json, sys
from dataclasses import replace
from offhost_audit.lab import scenario
from offhost_audit.lab.responder import lab_hosts
from offhost_audit.lab.wsman import LabServer
sc = scenario.normalise({"name": "krb", "domain": {"dns": "feas.test", "netbios": "FEAS"}, "hosts": [{"name": "HV01"}]})
host = replace(lab_hosts(sc)[0], name=sys.argv[1], username="auditor@FEAS.TEST", password="unused")
with LabServer([host], https=True, auth=("kerberos",), keytab=sys.argv[2]) as lab:
    print(json.dumps({"port": lab.address[1], "ca_file": lab.ca_file}), flush=True)
    sys.stdin.read()
"""


def test_a_host_whose_clock_is_off_refuses_the_ticket(krb, tmp_path):
    """The host (a lab listener in its own process, its clock 15 minutes ahead with libfaketime) takes
    the KDC's ticket but refuses the authenticator as skewed: HTTP 401, and the error names the clock.
    (With FAKETIME="+0" the same run collects: checked when this test was written.)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRB5", "LD_PRELOAD"))}
    env.update(LD_PRELOAD=FAKETIME, FAKETIME="+15m", FAKETIME_DONT_FAKE_MONOTONIC="1")
    lab = subprocess.Popen(
        [sys.executable, "-c", LAB_PROCESS, HOST, str(krb["root"] / "hv01.keytab")],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(lab.stdout.readline())
        skewed = {"port": info["port"], "ca_file": info["ca_file"]}
        res, facts = _collect(krb, tmp_path, _inventory(krb, tmp_path, dc=False, winrm=skewed))
    finally:
        lab.stdin.close()
        lab.wait(timeout=30)
    assert facts is not None, res.stderr
    errors = [e["error"] for e in _entries(facts, "HV01").values() if e["error"]]
    assert errors and "the host refused the Kerberos ticket" in errors[0] and "5 minutes" in errors[0], errors


def test_lab_listener_mutual_auth_and_replays(krb, monkeypatch):
    """The lab's acceptor answers with the server token (the client context completes with it) and
    refuses the same authenticator sent again (its own replay cache)."""
    import base64

    import requests

    from offhost_audit.collectors import kerberos

    monkeypatch.setenv("KRB5_CONFIG", str(krb["root"] / "krb5.conf"))
    lab, tickets = krb["lab"], Tickets()
    creds = tickets.credentials(Credentials(USER, samba_lab.AUDITOR_PASSWORD), where="test")
    ctx, token = kerberos.initiate(creds, f"HTTP/{HOST}", where="test")
    header = {"Authorization": "Negotiate " + base64.b64encode(token).decode(), "Connection": "close"}
    url = f"https://127.0.0.1:{lab.address[1]}/wsman"
    first = requests.post(url, data=b"", headers=header, verify=lab.ca_file, timeout=10)
    assert first.status_code == 200
    scheme, answer = first.headers["WWW-Authenticate"].split(" ", 1)
    assert scheme == "Negotiate" and not ctx.complete
    ctx.step(base64.b64decode(answer))
    assert ctx.complete
    again = requests.post(url, data=b"", headers=header, verify=lab.ca_file, timeout=10)
    assert again.status_code == 401
    tickets.close()


def test_ip_address_is_refused_before_any_packet(krb):
    lab = krb["lab"]
    requests_before = lab.stats(HOST).get("http_requests", 0)
    target = Target(
        name="HV01",
        kind="hyperv_host",
        address="127.0.0.1",
        port=lab.address[1],
        credentials=Credentials(USER, samba_lab.AUDITOR_PASSWORD),
        ca_file=lab.ca_file,
        timeout_s=10,
        options={"auth": "kerberos", "scheme": "https"},
    )
    with pytest.raises(KerberosError) as err:
        WinRMSession(target).run("system.ps1")
    assert err.value.cause == "ip_address" and "DNS name" in str(err.value), err.value
    assert lab.stats(HOST).get("http_requests", 0) == requests_before
    dc = Target(
        name="DC1",
        kind="domain_controller",
        address="127.0.0.1",
        credentials=Credentials(USER, samba_lab.AUDITOR_PASSWORD),
        timeout_s=10,
        options={"domain": "feas.test", "tls_mode": "ldaps", "auth": "kerberos"},
    )
    with pytest.raises(KerberosError) as err:
        ldap_directory.collect(dc, Context())
    assert err.value.cause == "ip_address" and "ldap/<DNS name>" in str(err.value)


def test_wrong_password_and_unknown_user(krb, monkeypatch):
    monkeypatch.setenv("KRB5_CONFIG", str(krb["root"] / "krb5.conf"))
    tickets = Tickets()
    with pytest.raises(KerberosError) as err:
        tickets.credentials(Credentials(USER, "not-the-password"), where="HV01")
    assert err.value.cause == "password" and "wrong password" in str(err.value), err.value
    assert "not-the-password" not in str(err.value)
    with pytest.raises(KerberosError) as again:  # asked once: the next target gets the same answer
        tickets.credentials(Credentials(USER, "not-the-password"), where="HV02")
    assert str(again.value).startswith("HV02: ") and again.value.cause == "password"
    with pytest.raises(KerberosError) as err:
        tickets.credentials(Credentials("nobody@feas.test", "x"), where="HV01")
    assert err.value.cause == "password" and "does not know the user nobody@FEAS.TEST" in str(err.value)
    ok = tickets.credentials(Credentials("FEAS\\auditor", samba_lab.AUDITOR_PASSWORD), where="HV01")
    assert str(ok.name) == "auditor@FEAS.TEST" and len(tickets) == 1
    tickets.close()
    assert len(tickets) == 0


def test_spn_unknown(krb, monkeypatch):
    """nospn.feas.test has no HTTP/ SPN in the directory: the KDC says so when the ticket is asked for."""
    monkeypatch.setenv("KRB5_CONFIG", str(krb["root"] / "krb5.conf"))
    target = Target(
        name="NOSPN",
        kind="hyperv_host",
        address="nospn.feas.test",  # never resolved: the ticket is asked for before connecting
        port=krb["lab"].address[1],
        credentials=Credentials(USER, samba_lab.AUDITOR_PASSWORD),
        timeout_s=10,
        options={"auth": "kerberos", "scheme": "https"},
    )
    with pytest.raises(KerberosError) as err:
        WinRMSession(target).run("system.ps1")
    assert err.value.cause == "spn_unknown" and "HTTP/nospn.feas.test" in str(err.value), err.value


def test_clock_skew_through_the_cli(krb, tmp_path):
    """The audit machine's clock 15 minutes ahead (libfaketime) and a krb5.conf that does not adopt the
    KDC's time: the KDC's answer is refused as skewed; the collector error and the advice say so."""
    res, facts = _collect(
        krb, tmp_path, _inventory(krb, tmp_path, dc=False), conf="krb5-strict-time.conf", faketime="+15m"
    )
    assert facts is not None, res.stderr
    errors = [e["error"] for e in _entries(facts, "HV01").values()]
    assert errors and "clock skew too great" in errors[0], errors
    advice = unknowns.advice({"target": "HV01", "collector": "host.system", "error": errors[0]})
    assert "on the time" in advice and "5 minutes" in advice, advice
