"""Kerberos for the collectors: a ticket got with the inventory's password, kept for the run only.

``Tickets`` holds the run's credentials: for each audit account, one ticket-granting ticket got from
the KDC with the account's password (``gss_acquire_cred_with_password``). MIT Kerberos keeps it in an
in-memory credential cache private to that credential (the service tickets got with it go there too),
so nothing is written to disk, ``KRB5CCNAME`` is neither read nor set, and the user's own cache
(``klist``) is never touched. :meth:`Tickets.close` releases them at the end of the run.

The realm and its KDCs come from the machine's Kerberos set-up (``/etc/krb5.conf`` or the file named
by ``KRB5_CONFIG``; DNS SRV records when it says ``dns_lookup_kdc``). A user name ``user@feas.test``
names its realm; ``DOMAIN\\user`` and a bare ``user`` get the ``default_realm``.

The usual failures become a :class:`~offhost_audit.errors.KerberosError` whose text says what to fix
(``findings.unknowns`` words the advice from it): the clock off by more than the KDC allows, a
wrong password or unknown account, no service principal for the host (``HTTP/<name>``,
``ldap/<name>``), an IP address where Kerberos needs the host's DNS name, no KDC for the realm.

:class:`HttpKerberosAuth` is the WinRM side: a ``requests`` auth that sends a Kerberos token
(``Authorization: Negotiate``) with every request and checks the server's answer token (mutual
authentication).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from offhost_audit.errors import KerberosError
from offhost_audit.inventory.credentials import Credentials

#: MIT's com_err table for krb5 (ERROR_TABLE_BASE_krb5), as GSS minor codes (unsigned 32-bit).
_KRB5 = 0x96C73A00
_C_PRINCIPAL_UNKNOWN = _KRB5 + 6
_S_PRINCIPAL_UNKNOWN = _KRB5 + 7
_CLIENT_REVOKED = _KRB5 + 18
_KEY_EXPIRED = _KRB5 + 23
_PREAUTH_FAILED = _KRB5 + 24
_AP_ERR_SKEW = _KRB5 + 37
_KDCREP_SKEW = _KRB5 + 148  # "Clock skew too great in KDC reply" (kdc_timesync off)
_NO_KDC = (_KRB5 + 154, _KRB5 + 156, _KRB5 + 220)  # realm unknown, KDC unreachable, realm not resolved
_INSTALL = (
    "pip install 'offhost-audit[kerberos]' (it builds against the MIT Kerberos headers: apt-get install libkrb5-dev)"
)


def _gssapi() -> Any:
    try:
        import gssapi
    except ImportError:
        raise KerberosError(f"auth: kerberos needs the 'gssapi' Python package: {_INSTALL}", cause="setup") from None
    return gssapi


def principal(username: str) -> str:
    """The Kerberos principal of an inventory user name: ``user@feas.test`` -> ``user@FEAS.TEST``;
    ``DOMAIN\\user`` and ``user`` -> ``user`` (the default realm of krb5.conf)."""
    user, at, realm = username.rpartition("\\")[2].partition("@")
    return f"{user}@{realm.upper()}" if at else user


def service_host(target_name: str, address: str, service: str) -> str:
    """The host part of the target's service principal (``HTTP/<host>``, ``ldap/<host>``): its DNS
    name. An IP address has no service principal: raise before any packet is sent."""
    host = address.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host.lower()
    raise KerberosError(
        f"{target_name}: Kerberos needs the host's DNS name, not the IP address {host}: the ticket is for "
        f"the service principal {service}/<DNS name>, so give the host's DNS name as its address in the "
        "inventory (DNS name vs IP)",
        cause="ip_address",
    )


class Tickets:
    """The run's Kerberos credentials, one per audit account, got once and shared by every target
    (thread-safe). Never written to disk; released by :meth:`close`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._creds: dict[tuple[str, str], Any] = {}
        self._failed: dict[tuple[str, str], KerberosError] = {}

    def credentials(self, creds: Credentials | None, *, where: str) -> Any:
        """The ``gssapi.Credentials`` (with a TGT) for these credentials; the first call asks the KDC."""
        gssapi = _gssapi()
        if creds is None:
            raise KerberosError(f"{where}: auth: kerberos needs credentials (a user name and password)", cause="setup")
        name = principal(creds.username)
        # the password is part of the key (a digest, not the text): a second account entry with
        # another password for the same user gets its own ticket, or its own error
        key = (name.lower(), hashlib.sha256(creds.password.encode("utf-8")).hexdigest())
        with self._lock:
            if key in self._creds:
                return self._creds[key]
            if key in self._failed:  # one wrong password is one refusal at the KDC, not one per target
                raise KerberosError(f"{where}: {self._failed[key].reason}", cause=self._failed[key].cause)
            try:
                got = gssapi.raw.acquire_cred_with_password(
                    gssapi.Name(name, gssapi.NameType.user),
                    creds.password.encode("utf-8"),
                    usage="initiate",
                    mechs=[gssapi.MechType.kerberos],
                )
            except gssapi.exceptions.GSSError as exc:
                err = error(exc, where=where, user=name)
                self._failed[key] = err
                raise err from None
            cred = self._creds[key] = gssapi.Credentials(base=got.creds)
            return cred

    def close(self) -> None:
        """Release every ticket (MIT destroys the in-memory caches with their credentials)."""
        with self._lock:
            self._creds.clear()
            self._failed.clear()

    def __len__(self) -> int:
        return len(self._creds)


def error(exc: Exception, *, where: str, user: str = "", spn: str = "") -> KerberosError:
    """A GSSAPI failure as a KerberosError that says what to fix (never a secret: GSS messages carry none)."""
    minor = int(getattr(exc, "min_code", 0) or 0)
    text = str(exc.gen_message() if hasattr(exc, "gen_message") else exc)
    lower = text.lower()
    if minor in (_AP_ERR_SKEW, _KDCREP_SKEW) or "clock skew" in lower:
        return KerberosError(
            f"{where}: Kerberos: clock skew too great: this machine's clock and the KDC's (or the host's) differ "
            "by more than the 5 minutes Kerberos allows",
            cause="clock_skew",
        )
    if minor == _PREAUTH_FAILED:
        return KerberosError(
            f"{where}: Kerberos: the KDC refused the password of {user} (wrong password: no ticket)",
            cause="password",
        )
    if minor == _C_PRINCIPAL_UNKNOWN:
        return KerberosError(
            f"{where}: Kerberos: the KDC does not know the user {user} (no ticket): check the user name "
            "(user@realm) and the realm",
            cause="password",
        )
    if minor in (_CLIENT_REVOKED, _KEY_EXPIRED):
        return KerberosError(
            f"{where}: Kerberos: the account {user} is disabled, locked out or its password expired (no ticket)",
            cause="password",
        )
    if minor == _S_PRINCIPAL_UNKNOWN:
        return KerberosError(
            f"{where}: Kerberos: the KDC knows no service principal {spn or 'for the host'} (SPN unknown): "
            "register it on the host's computer account (setspn -S), or give the name it is registered under",
            cause="spn_unknown",
        )
    if minor in _NO_KDC:
        return KerberosError(
            f"{where}: Kerberos: no KDC answers for the realm ({text.strip()}): check krb5.conf "
            "([realms], default_realm) or the DNS SRV records _kerberos._tcp.<realm>",
            cause="no_kdc",
        )
    return KerberosError(f"{where}: Kerberos failed: {text.strip()}", cause="other")


def initiate(creds: Any, spn: str, *, where: str) -> tuple[Any, bytes]:
    """A client security context for ``spn`` (``service/host``) and its first token (the AP-REQ). The
    service ticket is asked for here, once per run and SPN (then it is in the credential's cache), so an
    SPN the KDC does not know fails here, with its own error."""
    gssapi = _gssapi()
    service, _, host = spn.partition("/")
    ctx = gssapi.SecurityContext(
        name=gssapi.Name(f"{service}@{host}", gssapi.NameType.hostbased_service),
        creds=creds,
        usage="initiate",
        mech=gssapi.MechType.kerberos,
        flags=gssapi.RequirementFlag.mutual_authentication | gssapi.RequirementFlag.out_of_sequence_detection,
    )
    try:
        return ctx, ctx.step()
    except gssapi.exceptions.GSSError as exc:
        raise error(exc, where=where, spn=spn) from None


class HttpKerberosAuth(AuthBase):
    """``Authorization: Negotiate <Kerberos AP-REQ>`` on every request (the host name of the URL is
    the service principal's, ``HTTP/<host>``), and the server's AP-REP checked on its answer."""

    def __init__(self, creds: Any, *, where: str, service: str = "HTTP") -> None:
        self.creds, self.where, self.service = creds, where, service

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        host = service_host(self.where, urlsplit(str(r.url)).hostname or "", self.service)
        spn = f"{self.service}/{host}"
        ctx, token = initiate(self.creds, spn, where=self.where)
        r.headers["Authorization"] = "Negotiate " + base64.b64encode(token).decode("ascii")
        r.register_hook("response", self._answer(ctx, spn))
        return r

    def _answer(self, ctx: Any, spn: str) -> Any:
        def check(response: requests.Response, **kwargs: Any) -> requests.Response:
            if response.status_code == 401:
                return response  # the transport reports it (AuthenticationError, with the Kerberos hints)
            header = response.headers.get("WWW-Authenticate") or ""
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "negotiate" or not value.strip():
                if response.status_code >= 300:  # a fault may come without it; the transport reports the fault
                    return response
                raise KerberosError(
                    f"{self.where}: Kerberos: {spn} answered without proving its identity (no mutual "
                    "authentication token)",
                    cause="mutual",
                )
            gssapi = _gssapi()
            try:
                ctx.step(base64.b64decode(value.strip()))
            except (gssapi.exceptions.GSSError, ValueError) as exc:
                raise error(exc, where=self.where, spn=spn) from None
            if not ctx.complete:
                raise KerberosError(f"{self.where}: Kerberos: {spn} did not complete the exchange", cause="mutual")
            return response

        return check
