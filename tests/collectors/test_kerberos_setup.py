"""Kerberos set-up decided before any packet: principals from inventory user names, an IP address
refused, no gssapi package, WinRM over HTTP; and the advice each Kerberos failure gets. (The KDC's
answers are tested against Samba's real KDC in tests/samba/test_kerberos.py.)"""

from __future__ import annotations

import sys

import pytest

from offhost_audit.collectors import kerberos
from offhost_audit.collectors.base import Credentials, Target
from offhost_audit.collectors.winrm import WinRMSession
from offhost_audit.errors import KerberosError
from offhost_audit.findings import unknowns


@pytest.mark.parametrize(
    ("username", "principal"),
    [
        ("auditor@corp.example", "auditor@CORP.EXAMPLE"),
        ("CORP\\auditor", "auditor"),
        ("auditor", "auditor"),
    ],
)
def test_principal_of_an_inventory_user_name(username, principal):
    assert kerberos.principal(username) == principal


@pytest.mark.parametrize("address", ["10.0.0.7", "::1", "[fe80::1]"])
def test_an_ip_address_has_no_service_principal(address):
    with pytest.raises(KerberosError) as err:
        kerberos.service_host("HV01", address, "HTTP")
    assert err.value.cause == "ip_address" and "HTTP/<DNS name>" in str(err.value)
    assert kerberos.service_host("HV01", "HV01.Corp.Example", "HTTP") == "hv01.corp.example"


def _target(**kw):
    args = dict(
        name="HV01",
        kind="hyperv_host",
        address="hv01.corp.example",
        port=1,  # nothing listens: every failure here comes before a connection
        credentials=Credentials("auditor@corp.example", "S3cret-Pw!"),
        timeout_s=5,
        options={"auth": "kerberos", "scheme": "https"},
    )
    args.update(kw)
    return Target(**args)


def test_without_the_gssapi_package_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gssapi", None)  # import gssapi raises ImportError
    with pytest.raises(KerberosError) as err:
        WinRMSession(_target()).run("system.ps1")
    assert err.value.cause == "setup" and "pip install 'offhost-audit[kerberos]'" in str(err.value)
    assert "libkrb5-dev" in str(err.value) and "S3cret" not in str(err.value)


@pytest.mark.parametrize(("scheme", "encryption"), [("http", "auto"), ("http", "always"), ("https", "always")])
def test_kerberos_with_message_encryption_says_use_https(scheme, encryption):
    t = _target(tls=scheme == "https", options={"auth": "kerberos", "scheme": scheme, "message_encryption": encryption})
    with pytest.raises(KerberosError) as err:
        WinRMSession(t).run("system.ps1")
    assert err.value.cause == "setup" and "HTTPS listener" in str(err.value)


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ("HV01: Kerberos: clock skew too great: this machine's clock and the KDC's ...", "w32tm /resync"),
        ("HV01: Kerberos: the KDC refused the password of a@B (wrong password: no ticket)", "user name and password"),
        ("HV01: Kerberos: the KDC knows no service principal HTTP/x (SPN unknown): ...", "setspn -S"),
        ("HV01: Kerberos needs the host's DNS name, not the IP address 10.0.0.1: ...", "DNS name as the address"),
        ("HV01: Kerberos: no KDC answers for the realm (...)", "krb5.conf"),
        ("HV01: authentication failed (HTTP 401) at u: the host refused the Kerberos ticket of a", "setspn -L"),
    ],
)
def test_advice_for_kerberos_failures(error, words):
    assert words in unknowns.advice({"target": "HV01", "collector": "host.system", "error": error})
