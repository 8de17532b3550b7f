"""ldap.directory against the real Samba AD DC: domain, trusts, computer accounts, error cases."""

from __future__ import annotations

import dataclasses

import pytest

from offhost_audit.collectors import ldap_directory
from offhost_audit.collectors.base import Context, Credentials
from offhost_audit.errors import CollectorError, TargetUnreachableError
from offhost_audit.facts import validate

pytestmark = pytest.mark.samba

PROXIES = ["PROXY01", "proxy02.feas.test", "PROXY03", "PROXY04"]


@pytest.fixture(scope="module")
def directory(samba_lab_dc):
    return ldap_directory.collect(samba_lab_dc.dc_target("ldaps"), Context(proxies=PROXIES))


def test_domain_facts(directory, samba_lab_dc):
    (domain,) = directory["domains"]
    assert domain["dns_name"] == "feas.test"
    assert domain["netbios_name"] == "FEAS"
    assert domain["sid"] == samba_lab_dc.domain_sid
    assert domain["forest"] == "feas.test"
    assert domain["functional_level"] == 4  # Samba 4.17 provisions 2008 R2 level


def test_trusts_direction_type_and_flags(directory):
    trusts = {t["partner"]: t for t in directory["domains"][0]["trusts"]}
    # forest2.test appears once the real-trust fixture (test_real_trust.py) has run
    assert set(trusts) - {"forest2.test"} == {"partner.test", "inbound.test", "outbound.test", "guarded.test"}
    assert trusts["partner.test"] == {
        "partner": "partner.test",
        "flat_name": "PARTNER",
        "sid": "S-1-5-21-1000-2000-3001",
        "direction": "bidirectional",
        "type": "uplevel",
        "attributes": 8,
        "attribute_flags": ["FOREST_TRANSITIVE"],
    }
    assert trusts["inbound.test"]["direction"] == "inbound"
    assert trusts["inbound.test"]["attribute_flags"] == []
    assert trusts["outbound.test"]["direction"] == "outbound"
    guarded = trusts["guarded.test"]
    assert guarded["attributes"] == 0x94
    # SID filtering, selective authentication, RC4 at 0x80 (not 0x40 as in S.DS.P)
    assert guarded["attribute_flags"] == ["QUARANTINED_DOMAIN", "CROSS_ORGANIZATION", "USES_RC4_ENCRYPTION"]


def test_computer_accounts_and_token_groups(directory, samba_lab_dc):
    accounts = {a["name"]: a for a in directory["computer_accounts"]}
    assert set(accounts) == {"PROXY01", "PROXY02", "PROXY03", "PROXY04"}
    sids, dom = samba_lab_dc.sids, samba_lab_dc.domain_sid
    p2 = accounts["PROXY02"]
    assert p2["sam_account_name"] == "PROXY02$"
    assert p2["domain"] == "feas.test"
    assert p2["sid"] == sids["PROXY02"]
    assert p2["primary_group_sid"] == f"{dom}-515"  # Domain Computers
    assert sids["VeeamProxies"] in p2["token_groups"]
    assert f"{dom}-515" in p2["token_groups"]  # Samba includes the primary group in tokenGroups
    assert sids["VeeamProxies"] not in accounts["PROXY01"]["token_groups"]
    assert sids["VeeamProxies"] in accounts["PROXY04"]["token_groups"]
    for acct in accounts.values():
        assert acct["logon_sids"] == ["S-1-1-0", "S-1-5-11", "S-1-5-2", "S-1-5-15"]


def test_fragment_is_valid_facts(directory):
    validate({"schema_version": 1, "hosts": [], **directory})


@pytest.mark.parametrize("mode", ["starttls", "ldaps"])
def test_tls_modes_give_the_same_facts(samba_lab_dc, directory, mode):
    frag = ldap_directory.collect(samba_lab_dc.dc_target(mode), Context(proxies=PROXIES))
    assert frag == directory


def test_an_ordinary_domain_user_is_enough(samba_lab_dc, directory):
    """Least privilege: a non-admin user (bound by UPN) reads the same domain, trusts and tokenGroups."""
    from samba_lab import AUDITOR_PASSWORD

    target = dataclasses.replace(
        samba_lab_dc.dc_target(), credentials=Credentials("auditor@feas.test", AUDITOR_PASSWORD)
    )
    assert ldap_directory.collect(target, Context(proxies=PROXIES)) == directory


def test_missing_proxy_account_is_absent_and_noted(samba_lab_dc):
    frag = ldap_directory.collect(samba_lab_dc.dc_target(), Context(proxies=["PROXY01", "GHOST09"]))
    assert [a["name"] for a in frag["computer_accounts"]] == ["PROXY01"]
    assert frag["_errors"] == ["computer account GHOST09$ not found in feas.test: its access facts are unknown"]


def test_wrong_password_is_a_clear_error_without_the_secret(samba_lab_dc):
    target = dataclasses.replace(
        samba_lab_dc.dc_target(), credentials=Credentials("FEAS\\Administrator", "S3cret-wrong")
    )
    with pytest.raises(CollectorError) as err:
        ldap_directory.collect(target, Context())
    assert "invalid credentials" in str(err.value)
    assert "S3cret-wrong" not in str(err.value)


def test_unreachable_port(samba_lab_dc):
    target = samba_lab_dc.dc_target(port=6399)
    with pytest.raises(TargetUnreachableError, match="127.0.0.1:6399.*cannot connect"):
        ldap_directory.collect(target, Context())


@pytest.mark.parametrize("mode", ["ldaps", "starttls"])
def test_certificate_from_another_ca_is_rejected(samba_lab_dc, tmp_path, mode):
    other = tmp_path / "other-ca.pem"
    other.write_text(_other_ca_pem(tmp_path))
    target = samba_lab_dc.dc_target(mode, ca_file=str(other))
    with pytest.raises(CollectorError, match="certificate does not validate"):
        ldap_directory.collect(target, Context())


def test_certificate_name_mismatch_is_rejected(samba_lab_dc):
    target = samba_lab_dc.dc_target(options={"tls_server_name": "other.feas.test"})
    with pytest.raises(CollectorError, match="TLS failed"):
        ldap_directory.collect(target, Context())


def test_kerberos_without_a_ticket_is_a_clear_error(samba_lab_dc, monkeypatch, tmp_path):
    """The GSSAPI path cannot be exercised here (no krb5 client, no ticket): it must fail clearly."""
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path}/no-such-ccache")
    with pytest.raises(CollectorError, match="Kerberos"):
        ldap_directory.collect(samba_lab_dc.dc_target(options={"auth": "kerberos"}), Context())


def test_plain_ldap_refused_while_strong_auth_is_required(samba_lab_dc):
    with pytest.raises(CollectorError, match="requires a TLS or signed bind"):
        ldap_directory.collect(samba_lab_dc.dc_target("plain"), Context())


def test_plain_ldap_when_the_dc_allows_simple_binds(samba_lab_dc, directory):
    """tls_mode plain (an explicit inventory choice) on 389, against a DC with strong auth = no."""
    samba_lab_dc.dc.restart(strong_auth=False)
    try:
        frag = ldap_directory.collect(samba_lab_dc.dc_target("plain"), Context(proxies=PROXIES))
    finally:
        samba_lab_dc.dc.restart(strong_auth=True)
    assert frag.pop("_notes") == [
        "DC1: LDAP without TLS (tls_mode plain): the bind password crossed the network in clear"
    ]
    assert frag == directory


def test_unverified_tls_still_collects_and_warns(samba_lab_dc, directory):
    frag = ldap_directory.collect(samba_lab_dc.dc_target(verify_tls=False, ca_file=None), Context(proxies=PROXIES))
    assert frag.pop("_notes") == ["DC1: LDAP TLS certificate validation is turned off (verify_tls false)"]
    assert frag == directory


def _other_ca_pem(tmp_path) -> str:
    """A self-signed CA certificate that did not sign the DC's certificate."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other Test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()
