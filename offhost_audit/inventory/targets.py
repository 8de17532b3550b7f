"""What collection is given and gives back: the typed contract between the inventory, the runner and the collectors.

The inventory (core) turns each entry into a :class:`Target`; the runner (:mod:`offhost_audit.collect`)
hands every collector the target and a :class:`Context`; a collector returns a :data:`Fragment`
(a partial facts document) that may carry :class:`FragmentMeta` keys for the runner. This module
imports nothing from the collectors, so the core and the collectors depend on it, not on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from offhost_audit.inventory.credentials import Credentials

WinRMAuth = Literal["ntlm", "kerberos", "credssp", "basic"]
MessageEncryption = Literal["auto", "always", "never"]


class TargetOptions(TypedDict, total=False):
    """Per-kind settings. WinRM hosts: ``roles``...``fqdn``; file servers: ``shares``; domain
    controllers: ``domain``, ``tls_mode``, ``tls_server_name`` (and ``auth: kerberos`` for LDAP)."""

    # WinRM (proxies, Hyper-V hosts, the backup server, file servers that also speak WinRM)
    roles: list[str]  # every role the inventory gave the host (one target per host)
    auth: WinRMAuth  # WinRM (default ntlm); on a domain controller, kerberos selects the SASL GSSAPI bind (absent: simple)
    scheme: str  # http | https: its presence marks a WinRM target
    path: str  # the WS-Management path, /wsman
    message_encryption: MessageEncryption  # pywinrm's setting
    cluster: str | None  # the Hyper-V cluster the host belongs to
    fqdn: str | None  # the address when it is a DNS name
    # the backup server: how its own view (jobs, proxy state, VSS settings) is read
    vbr_via: str  # auto | rest | winrm (inventory backup_server.via)
    vbr_rest: dict[str, Any]  # port, verify_tls, ca_file of the REST endpoint (inventory backup_server.rest)
    # SMB (file servers)
    shares: list[str]  # share names from the inventory
    # LDAP (domain controllers)
    domain: str  # the DNS name of the domain, lower-case
    tls_mode: str  # ldaps | starttls | plain
    tls_server_name: str  # the name the DC's certificate is checked against


@dataclass(frozen=True)
class Target:
    """One thing to collect from: a Windows host (WinRM), a domain controller (LDAP), a file server (SMB).

    ``name`` is the inventory name (NetBIOS-style); ``address`` what to connect to.
    ``kind`` is one of: ``proxy``, ``hyperv_host``, ``file_server``, ``backup_server``,
    ``domain_controller``. ``options`` carries per-kind settings (auth, TLS, shares, ...).
    """

    name: str
    kind: str
    address: str
    port: int | None = None
    credentials: Credentials | None = None
    tls: bool = True
    verify_tls: bool = True
    ca_file: str | None = None
    timeout_s: float = 60.0
    options: TargetOptions = field(default_factory=lambda: TargetOptions())


class ContextExtra(TypedDict, total=False):
    """What the runner adds to a collector's context for one target."""

    winrm: Any  # the target's shared collectors.winrm.WinRMSession (one shell for every WinRM collector)
    batch: Any  # collectors.winrm.Batch: the target's scripts in one powershell.exe (absent with --no-batch)
    call_timeout: float  # seconds per remote call
    deadline: float  # time.monotonic() by which the target's collection must end
    file_servers: list[str]  # LDAP: the inventory's file servers (their computer objects are read too)
    shares: dict[str, list[str]]  # SMB, phase two: {file server: [share, ...]} found in VM disk paths
    account_sids: list[str]  # SMB: SIDs of the proxies' and hosts' computer accounts (from LDAP)
    kerberos: Any  # the run's collectors.kerberos.Tickets, when a target says auth: kerberos
    vbr_read: str  # the backup server: how rest.backup_server ended ("rest", "fallback" or why it failed)
    vbr_rest_estate: Any  # the backup server: what REST read (a vbr_estate.VbrEstate), for what only PowerShell reads


@dataclass
class Context:
    """What a collector may know about the rest of the estate (read-only for collectors)."""

    proxies: list[str] = field(default_factory=list)  # proxy names (NetBIOS)
    domain_hint: str | None = None
    extra: ContextExtra = field(default_factory=lambda: ContextExtra())


class FragmentMeta(TypedDict, total=False):
    """The keys of a fragment that are not facts: the runner reads them; they never reach the facts document."""

    _errors: list[str]  # partial success: what could not be read, per item (the manifest entry says "partial: ...")
    _notes: list[str]  # run-level warnings (e.g. LDAP without TLS)


# A partial facts document (same keys and shapes as schema/facts.schema.json) plus FragmentMeta keys.
Fragment = dict[str, Any]


def with_meta(facts: Fragment, *, errors: Sequence[str] = (), notes: Sequence[str] = ()) -> Fragment:
    """A collector's fragment: its facts plus the FragmentMeta keys that have something to say."""
    meta: FragmentMeta = {}
    if errors:
        meta["_errors"] = [str(e) for e in errors]
    if notes:
        meta["_notes"] = [str(n) for n in notes]
    return {**facts, **meta}


def meta_of(fragment: Fragment) -> FragmentMeta:
    """The runner's side: the FragmentMeta keys of a fragment (absent when empty)."""
    meta: FragmentMeta = {}
    if fragment.get("_errors"):
        meta["_errors"] = [str(e) for e in fragment["_errors"]]
    if fragment.get("_notes"):
        meta["_notes"] = [str(n) for n in fragment["_notes"]]
    return meta


def facts_of(fragment: Fragment) -> Fragment:
    """A fragment without its FragmentMeta keys (what is merged into the facts document)."""
    return {k: v for k, v in fragment.items() if k not in FragmentMeta.__annotations__}
