"""``ldap.directory``: the domain, its trusts and the proxies' computer accounts, read over LDAP.

Connection: LDAPS (default, port 636) or StartTLS on 389, the certificate validated against
``target.ca_file`` (or the system store) unless the inventory turns ``verify_tls`` off. Plain LDAP
on 389 only when ``options["tls_mode"] == "plain"``. Authentication: simple bind with
``DOMAIN\\user``, a UPN or a DN (ldap3's NTLM bind does not work against Samba), or Kerberos
(SASL GSSAPI) with ``options["auth"] == "kerberos"``: a ticket for ``ldap/<address>`` from the run's
:class:`~offhost_audit.collectors.kerberos.Tickets` (got with the target's credentials, never the
user's cache; needs the ``gssapi`` package, the ``kerberos`` extra).

What a network logon of a computer account carries (``logon_sids``): the account SID, its groups
(``tokenGroups``, which the DC computes transitively and which includes the primary group), and the
well-known SIDs the resource server adds at logon: Everyone (S-1-1-0), Authenticated Users
(S-1-5-11), NETWORK (S-1-5-2, logon type 3) and This Organization (S-1-5-15). Across a trust with
selective authentication (``cross_organization``) the server adds Other Organization (S-1-5-1000)
instead of This Organization; the rules see the trust flags and can swap it. Aliases local to the
file server (e.g. BUILTIN\\Users, which holds Authenticated Users by default) are read on the
server by ``smb.shares`` (``hosts[FS].local_groups``). The file servers named in
``ctx.extra["file_servers"]`` are looked up too: their computer object gives their SID and domain.
https://learn.microsoft.com/en-us/windows-server/identity/ad-ds/manage/understand-special-identities-groups
"""

from __future__ import annotations

import math
import ssl
from typing import Any

from ..collector_specs import BY_ID
from ..errors import CollectorError, TargetUnreachableError
from ..names import norm_name
from . import kerberos
from .base import Context, Fragment, Target, with_meta
from .winsec import WinsecError, sid_to_str, trust_attribute_flags, trust_direction, trust_type

LOGON_SIDS = ["S-1-1-0", "S-1-5-11", "S-1-5-2", "S-1-5-15"]
PAGE_SIZE = 500
TLS_MODES = ("ldaps", "starttls", "plain")


def dn_to_dns(dn: str) -> str:
    return ".".join(p.split("=", 1)[1] for p in dn.split(",") if p.strip().upper().startswith("DC="))


def _first(entry: dict, attr: str) -> bytes | None:
    for key, values in entry.get("raw_attributes", {}).items():
        if key.lower() == attr.lower() and values:
            return values[0]
    return None


def _text(entry: dict, attr: str) -> str | None:
    v = _first(entry, attr)
    return v.decode("utf-8") if v is not None else None


def _int(entry: dict, attr: str) -> int | None:
    v = _text(entry, attr)
    return int(v) if v is not None else None


def _sid(entry: dict, attr: str) -> str | None:
    v = _first(entry, attr)
    return sid_to_str(v) if v else None


def _escape(value: str) -> str:
    from ldap3.utils.conv import escape_filter_chars

    return escape_filter_chars(value)


def _connect(target: Target, tickets: kerberos.Tickets | None = None):
    import ldap3
    from ldap3.core import exceptions as lx

    opts = target.options or {}
    mode = str(opts.get("tls_mode", "ldaps")).lower()
    if mode not in TLS_MODES:
        raise CollectorError(f"{target.name}: tls_mode must be one of {', '.join(TLS_MODES)}, not {mode!r}")
    port = target.port or (636 if mode == "ldaps" else 389)
    tls = None
    if mode != "plain":
        names = [opts["tls_server_name"]] if opts.get("tls_server_name") else None
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED if target.verify_tls else ssl.CERT_NONE,
            ca_certs_file=target.ca_file if target.verify_tls else None,
            valid_names=names,
        )
    server = ldap3.Server(
        target.address,
        port=port,
        use_ssl=(mode == "ldaps"),
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=target.timeout_s,
    )
    use_kerberos = opts.get("auth") == "kerberos"
    # whole seconds: ldap3 packs the receive timeout into SO_RCVTIMEO as integers ("required argument is
    # not an integer" for the CLI's --timeout 60.0)
    receive_timeout = max(1, math.ceil(target.timeout_s))
    where = f"{target.name} ({target.address}:{port}, {mode})"
    if use_kerberos:
        host = kerberos.service_host(target.name, target.address, "ldap")  # an IP address: fail before connecting
        own = tickets is None
        tickets = tickets or kerberos.Tickets()
        try:
            creds = tickets.credentials(target.credentials, where=target.name)
            # the service ticket first: a GSS failure inside ldap3's SASL bind comes out as a TypeError
            # (ldap3 2.9.1 aborts the bind badly), this way an unknown SPN or skew gets its own error
            kerberos.initiate(creds, f"ldap/{host}", where=target.name)
        finally:
            if own:
                tickets.close()  # the connection keeps its own reference to the credential
        conn = ldap3.Connection(
            server,
            authentication=ldap3.SASL,
            sasl_mechanism=ldap3.KERBEROS,
            sasl_credentials=(host, None, creds),
            receive_timeout=receive_timeout,
            raise_exceptions=True,
            read_only=True,
        )
    else:
        if target.credentials is None:
            raise CollectorError(f"{where}: no credentials given for the simple bind")
        conn = ldap3.Connection(
            server,
            user=target.credentials.username,
            password=target.credentials.password,
            authentication=ldap3.SIMPLE,
            receive_timeout=receive_timeout,
            raise_exceptions=True,
            read_only=True,
        )
    user = "the Kerberos ticket" if use_kerberos or target.credentials is None else repr(target.credentials.username)
    try:
        conn.open()
        if mode == "starttls":
            conn.start_tls()
        conn.bind()
    except lx.LDAPInvalidCredentialsResult as exc:
        raise CollectorError(f"{where}: bind as {user} rejected: invalid credentials") from exc
    except lx.LDAPStrongerAuthRequiredResult as exc:
        raise CollectorError(f"{where}: the DC requires a TLS or signed bind; use tls_mode ldaps or starttls") from exc
    except (lx.LDAPStartTLSError, ssl.SSLError) as exc:
        raise CollectorError(f"{where}: TLS failed: {_tls_reason(exc)}") from exc
    except lx.LDAPSocketOpenError as exc:
        if "ssl" in str(exc).lower() or "certificate" in str(exc).lower():
            raise CollectorError(f"{where}: TLS failed: {_tls_reason(exc)}") from exc
        raise TargetUnreachableError(f"{where}: cannot connect: {exc}") from exc
    except lx.LDAPOperationResult as exc:
        raise CollectorError(f"{where}: bind as {user} failed: {exc.description}: {exc.message}") from exc
    except lx.LDAPException as exc:
        raise CollectorError(f"{where}: LDAP error during connect/bind: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # gssapi raises its own errors (SPN unknown, clock skew)
        if not use_kerberos or not hasattr(exc, "min_code"):
            raise
        raise kerberos.error(exc, where=target.name, spn=f"ldap/{target.address.lower()}") from None
    return conn


def _tls_reason(exc: Exception) -> str:
    text = str(exc)
    if "certificate verify failed" in text or "CERTIFICATE_VERIFY_FAILED" in text:
        return "the server certificate does not validate (check ca_file, or the name via options.tls_server_name)"
    if "doesn't match" in text or "hostname" in text.lower():
        return "the certificate's name does not match (set options.tls_server_name)"
    return text


def _search(conn, base: str, flt: str, attrs: list[str], scope: str = "SUBTREE") -> list[dict]:
    import ldap3

    if scope == "BASE":
        conn.search(base, flt, ldap3.BASE, attributes=attrs)
        return [e for e in conn.response if e.get("type") == "searchResEntry"]
    gen = conn.extend.standard.paged_search(
        base, flt, ldap3.SUBTREE, attributes=attrs, paged_size=PAGE_SIZE, generator=True
    )
    return [e for e in gen if e.get("type") == "searchResEntry"]


def _trust(entry: dict, errors: list[str]) -> dict[str, Any] | None:
    partner = _text(entry, "trustPartner")
    try:
        attrs = _int(entry, "trustAttributes")
        attrs = attrs & 0xFFFFFFFF if attrs is not None else None
        sid = None
        try:
            sid = _sid(entry, "securityIdentifier")
        except WinsecError as exc:
            errors.append(f"trust {partner}: securityIdentifier unreadable: {exc}")
        return {
            "partner": partner or _text(entry, "cn") or entry.get("dn", "?"),
            "flat_name": _text(entry, "flatName"),
            "sid": sid,
            "direction": trust_direction(_int(entry, "trustDirection")),
            "type": trust_type(_int(entry, "trustType")),
            "attributes": attrs,
            "attribute_flags": trust_attribute_flags(attrs),
        }
    except (WinsecError, ValueError) as exc:
        errors.append(f"trust {partner or entry.get('dn')}: left out: {exc}")
        return None


def _computer(
    conn, name: str, domain_dn: str, domain_dns: str, domain_sid: str | None, errors: list[str], missing_means: str
) -> dict[str, Any] | None:
    short = norm_name(name)
    sam = short + "$"
    found = _search(
        conn,
        domain_dn,
        f"(&(objectCategory=computer)(sAMAccountName={_escape(sam)}))",
        ["objectSid", "primaryGroupID", "sAMAccountName"],
    )
    if not found:
        errors.append(f"computer account {sam} not found in {domain_dns}: {missing_means}")
        return None
    entry = found[0]
    sid = _sid(entry, "objectSid")
    pgid = _int(entry, "primaryGroupID")
    token = _search(conn, entry["dn"], "(objectClass=*)", ["tokenGroups"], scope="BASE")
    groups = None
    if token:
        values = token[0].get("raw_attributes", {}).get("tokenGroups")
        if values is None:
            errors.append(f"{sam}: tokenGroups not returned (no rights, or no global catalog)")
        else:
            groups = sorted({sid_to_str(v) for v in values})
    return {
        "name": short,
        "sam_account_name": _text(entry, "sAMAccountName") or sam,
        "domain": domain_dns,
        "sid": sid,
        "primary_group_sid": f"{domain_sid}-{pgid}" if domain_sid and pgid is not None else None,
        "token_groups": groups,
        "logon_sids": list(LOGON_SIDS),
    }


def collect(target: Target, ctx: Context) -> Fragment:
    from ldap3.core import exceptions as lx

    conn = _connect(target, ctx.extra.get("kerberos"))
    errors: list[str] = []
    try:
        root = _search(
            conn,
            "",
            "(objectClass=*)",
            ["defaultNamingContext", "rootDomainNamingContext", "configurationNamingContext"],
            "BASE",
        )
        domain_dn = _text(root[0], "defaultNamingContext") if root else None
        if not domain_dn:
            raise CollectorError(f"{target.name}: the rootDSE has no defaultNamingContext (not an AD DC?)")
        config_dn = _text(root[0], "configurationNamingContext")
        forest_dn = _text(root[0], "rootDomainNamingContext")
        head = _search(conn, domain_dn, "(objectClass=*)", ["objectSid", "msDS-Behavior-Version"], "BASE")
        domain_sid = _sid(head[0], "objectSid") if head else None
        dns_name = dn_to_dns(domain_dn)
        netbios = None
        if config_dn:
            parts = _search(
                conn,
                f"CN=Partitions,{config_dn}",
                f"(&(objectClass=crossRef)(nCName={_escape(domain_dn)}))",
                ["nETBIOSName", "dnsRoot"],
            )
            if parts:
                netbios = _text(parts[0], "nETBIOSName")
                dns_name = _text(parts[0], "dnsRoot") or dns_name
        trusts: list[dict[str, Any]] | None = None
        try:
            trusts = [
                t
                for e in _search(
                    conn,
                    f"CN=System,{domain_dn}",
                    "(objectClass=trustedDomain)",
                    [
                        "cn",
                        "trustPartner",
                        "flatName",
                        "securityIdentifier",
                        "trustDirection",
                        "trustType",
                        "trustAttributes",
                    ],
                )
                if (t := _trust(e, errors)) is not None
            ]
        except lx.LDAPOperationResult as exc:  # e.g. no read right on CN=System: trusts stay unknown
            errors.append(f"trustedDomain objects not readable: {exc.description}: {exc.message}")
        domain = {
            "dns_name": dns_name.lower(),
            "netbios_name": netbios,
            "sid": domain_sid,
            "forest": dn_to_dns(forest_dn).lower() if forest_dn else None,
            "functional_level": _int(head[0], "msDS-Behavior-Version") if head else None,
            "trusts": sorted(trusts, key=lambda t: t["partner"].lower()) if trusts is not None else None,
        }
        accounts = []
        file_servers = [n for n in (ctx.extra or {}).get("file_servers") or [] if n not in ctx.proxies]
        for proxy in list(ctx.proxies) + file_servers:  # file servers: their computer object (SID, domain)
            try:
                why = (
                    "a file server of another domain, or of none"
                    if proxy in file_servers
                    else "its access facts are unknown"
                )
                acct = _computer(conn, proxy, domain_dn, dns_name.lower(), domain_sid, errors, why)
            except (lx.LDAPOperationResult, WinsecError) as exc:
                errors.append(f"computer account of {proxy} not readable: {exc}")
                continue
            if acct is not None:
                accounts.append(acct)
    except lx.LDAPException as exc:
        raise CollectorError(f"{target.name}: LDAP search failed: {type(exc).__name__}: {exc}") from exc
    except WinsecError as exc:
        raise CollectorError(f"{target.name}: undecodable SID in the directory: {exc}") from exc
    finally:
        try:
            conn.unbind()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass
    # the runner shows the notes as run-level warnings
    return with_meta({"domains": [domain], "computer_accounts": accounts}, errors=errors, notes=_security_notes(target))


def _security_notes(target: Target) -> list[str]:
    mode = str((target.options or {}).get("tls_mode", "ldaps")).lower()
    if mode == "plain":
        if (target.options or {}).get("auth") == "kerberos":
            return [
                f"{target.name}: LDAP without TLS (tls_mode plain): the directory's answers crossed the network in clear"
            ]
        return [f"{target.name}: LDAP without TLS (tls_mode plain): the bind password crossed the network in clear"]
    if not target.verify_tls:
        return [f"{target.name}: LDAP TLS certificate validation is turned off (verify_tls false)"]
    return []


class DirectoryCollector:
    """The collector in the registry: its declaration and this module's :func:`collect`."""

    spec = BY_ID["ldap.directory"]

    def collect(self, target: Target, ctx: Context) -> Fragment:
        return collect(target, ctx)
