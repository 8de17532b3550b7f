"""Throwaway TLS material for the lab's HTTPS listeners.

A fresh certificate authority and one server certificate signed by it are generated for each
lab run, with the `cryptography` package. The server certificate names every address a client
may use on loopback (127.0.0.1, ::1, localhost) and every lab host name, so a client can keep
certificate validation on (pywinrm: ``server_cert_validation='validate'``,
``ca_trust_path=<ca file>``), exactly as it would against a real WinRM HTTPS listener.

Keys are EC P-256: generating them takes about a millisecond, against tens of milliseconds
for RSA, and OpenSSL clients accept them for TLS 1.2 and 1.3 alike.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_LOOPBACK_NAMES = ("localhost",)
_LOOPBACK_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files written for one lab run (all inside one private folder)."""

    ca_file: str  #: the CA certificate a client trusts
    cert_file: str  #: the server certificate
    key_file: str  #: the server private key (mode 0600)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "offhost-audit lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _san_entries(host_names: list[str], bind: str | None) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    seen: set[str] = set()
    ips = list(_LOOPBACK_IPS) + ([bind] if bind else [])
    for text in ips:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        if str(ip) not in seen:
            seen.add(str(ip))
            entries.append(x509.IPAddress(ip))
    for name in list(_LOOPBACK_NAMES) + list(host_names):
        key = name.lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return entries


def generate_ca(common_name: str = "offhost-audit lab CA") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed CA valid from yesterday for 30 days (clock skew tolerant, never long-lived)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def generate_server_cert(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    host_names: list[str],
    bind: str | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server certificate for loopback and every lab host name, signed by the lab CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("offhost-audit lab WS-Management"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(_san_entries(host_names, bind)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def write_tls_files(folder: str | os.PathLike[str], host_names: list[str], bind: str | None = None) -> TlsFiles:
    """Generate a CA and a server certificate and write them as PEM files into ``folder``.

    ``folder`` should be a private directory (the caller creates it with mode 0700). The CA's
    private key is never written: nothing else is ever signed with it.
    """
    base = Path(folder)
    ca_key, ca_cert = generate_ca()
    key, cert = generate_server_cert(ca_key, ca_cert, host_names, bind)
    ca_file, cert_file, key_file = base / "lab-ca.pem", base / "server.pem", base / "server.key"
    _write_private(ca_file, ca_cert.public_bytes(serialization.Encoding.PEM))
    os.chmod(ca_file, 0o644)
    _write_private(
        cert_file, cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    _write_private(
        key_file,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    return TlsFiles(ca_file=str(ca_file), cert_file=str(cert_file), key_file=str(key_file))


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """A server-side SSL context (TLS 1.2 or newer) loaded with the lab certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert_file, files.key_file)
    return context
