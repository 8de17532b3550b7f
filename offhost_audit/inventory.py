"""The inventory: the estate to audit and how to reach each part of it (YAML, see examples/inventory.yaml).

Loaded with :mod:`offhost_audit.yamldoc` (depth and alias limits, the line of every value): every
error is reported, one line each naming the file, the line and the field
(``inventory.yaml:12: proxies[0].winrm.port: expected an integer 1-65535``), in one
:class:`~offhost_audit.errors.InventoryError` (exit 2). A host listed twice with another address,
winrm settings, cluster or max_tasks is refused. Passwords are refused in the file: credentials
come from environment variables, a prompt or the keyring (``offhost_audit.credentials``), and the
value of a credential field is never shown in an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


from offhost_audit.collectors.base import Target
from offhost_audit.credentials import KNOWN_KEYS, Resolver
from offhost_audit.errors import InventoryError
from offhost_audit.yamldoc import Doc, Skip, compose, show

AUTHS = ("ntlm", "kerberos", "credssp", "basic")
WINRM_DEFAULTS = {"scheme": "https", "port": None, "auth": "ntlm", "verify_tls": True, "ca_file": None,
                  "message_encryption": "auto", "path": "/wsman"}
DEFAULT_CREDENTIALS = {"username_env": "OFFHOST_WINRM_USER", "password_env": "OFFHOST_WINRM_PASSWORD"}
_TOP = {"vbr", "defaults", "backup_server", "proxies", "hyperv_hosts", "clusters", "file_servers", "domain_controllers"}
_SECRET_KEYS = {"password", "passwd", "secret", "pass"}


@dataclass
class WinRM:
    scheme: str = "https"
    port: int = 5986
    auth: str = "ntlm"
    verify_tls: bool = True
    ca_file: str | None = None
    message_encryption: str = "auto"
    path: str = "/wsman"


@dataclass
class Host:
    """A Windows host reached over WinRM; one entry per computer (roles merged by name)."""

    name: str
    address: str
    roles: list[str]
    winrm: WinRM
    credentials: dict[str, Any]
    where: str
    cluster: str | None = None


@dataclass
class Inventory:
    path: str
    vbr_version: str | None = None
    vbr_profile: str | None = None
    hosts: list[Host] = field(default_factory=list)
    clusters: dict[str, list[str]] = field(default_factory=dict)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    file_servers: list[dict[str, Any]] = field(default_factory=list)
    domain_controllers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def proxies(self) -> list[str]:
        return [h.name for h in self.hosts if "proxy" in h.roles]

    def targets(self, *, resolver: Resolver | None = None, call_timeout: float = 60.0,
                insecure: bool = False) -> list[Target]:
        """Every target, credentials resolved (raises CredentialError/InventoryError, exit 2)."""
        resolver = resolver or Resolver()
        out = []
        for h in self.hosts:
            kind = next(k for k in ("proxy", "hyperv_host", "backup_server", "file_server") if k in h.roles)
            w = h.winrm
            out.append(Target(
                name=h.name, kind=kind, address=h.address, port=w.port,
                credentials=resolver.resolve(h.credentials, where=h.where),
                tls=w.scheme == "https", verify_tls=w.verify_tls and not insecure, ca_file=w.ca_file,
                timeout_s=call_timeout,
                options={"roles": list(h.roles), "auth": w.auth, "scheme": w.scheme, "path": w.path,
                         "message_encryption": w.message_encryption, "cluster": h.cluster,
                         "fqdn": h.address if "." in h.address and not h.address.replace(".", "").isdigit() else None},
            ))
        for entries in (self.domain_controllers, self.file_servers):
            for e in entries:
                creds = resolver.resolve(e["credentials"], where=e["where"]) if e.get("credentials") else None
                out.append(replace(e["target"], credentials=creds,
                                   verify_tls=e["target"].verify_tls and not insecure, timeout_s=call_timeout))
        return out


# --- loading -----------------------------------------------------------------------------------

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def load(path: str | os.PathLike[str]) -> Inventory:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InventoryError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise InventoryError(f"{p}: is a directory, expected an inventory YAML file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InventoryError(f"{p}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    return loads(text, source=str(p))


def loads(text: str, *, source: str = "inventory") -> Inventory:
    """Parse and check an inventory; InventoryError lists every problem, one ``file:line: field: ...`` each."""
    node = compose(text, source, InventoryError)
    if node is None:
        raise InventoryError(f"{source}:1: the inventory is empty")
    doc = Doc(source, InventoryError)
    raw = doc.build(node)
    try:
        inv = _Parser(doc).inventory(raw)
    except Skip:
        inv = None
    doc.raise_errors()
    assert inv is not None
    return inv


class _Parser:
    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.hosts: dict[str, Host] = {}
        self.given: dict[str, dict[str, Any]] = {}  # per host: the address / winrm given explicitly
        self.default_winrm: dict[str, Any] = dict(WINRM_DEFAULTS)
        self.default_creds: dict[str, Any] = dict(DEFAULT_CREDENTIALS)

    # helpers: a wrong value is recorded (doc.fail) and skips the entry being parsed
    def mapping(self, value: Any, at: tuple[Any, ...], allowed: set[str], required: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.doc.fail(at, f"expected a mapping, got {_kind(value)}")
        for k in value:
            if k.lower() in _SECRET_KEYS:
                self.doc.note(at + (k,), "secrets do not belong in the inventory: use password_env, keyring or prompt")
            elif k not in allowed:
                self.doc.note(at + (k,), f"unknown field (expected one of: {', '.join(sorted(allowed))})")
        missing = [k for k in required if value.get(k) in (None, "")]
        for k in missing:
            self.doc.note(at, f"missing required field '{k}'")
        if missing:
            raise Skip
        return value

    def seq(self, value: Any, at: tuple[Any, ...]) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.doc.fail(at, f"expected a list, got {_kind(value)}")
        return value

    def string(self, value: Any, at: tuple[Any, ...]) -> str:
        if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
            self.doc.fail(at, f"expected a non-empty string, got {_kind(value)}")
        return str(value).strip()

    def name(self, value: Any, at: tuple[Any, ...]) -> str:
        s = self.string(value, at)
        if any(c in s for c in " \\/:*?\"<>|") or not s.isprintable():
            self.doc.fail(at, f"{show(s)} is not a computer name")
        return s.split(".")[0].upper()

    def port(self, value: Any, at: tuple[Any, ...]) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
            self.doc.fail(at, f"expected an integer 1-65535, got {show(value)}")
        return value

    def boolean(self, value: Any, at: tuple[Any, ...]) -> bool:
        if not isinstance(value, bool):
            self.doc.fail(at, f"expected true or false, got {show(value)}")
        return value

    def choice(self, value: Any, at: tuple[Any, ...], options: tuple[str, ...]) -> str:
        if value not in options:
            self.doc.fail(at, f"expected one of {', '.join(options)}, got {show(value)}")
        return value

    # sections
    def winrm(self, value: Any, at: tuple[Any, ...], base: dict[str, Any]) -> dict[str, Any]:
        if value is None:
            return dict(base)
        v = self.mapping(value, at, set(WINRM_DEFAULTS))
        out = dict(base)
        if "scheme" in v:
            with self.doc.each():
                out["scheme"] = self.choice(v["scheme"], at + ("scheme",), ("http", "https"))
                if "port" not in v and base.get("port") in (None, 5985, 5986):
                    out["port"] = None
        checks = {"port": self.port, "auth": lambda x, a: self.choice(x, a, AUTHS), "verify_tls": self.boolean,
                  "ca_file": lambda x, a: None if x is None else self.string(x, a), "path": self.string,
                  "message_encryption": lambda x, a: self.choice(x, a, ("auto", "always", "never"))}
        for key, check in checks.items():
            if key in v:
                with self.doc.each():
                    out[key] = check(v[key], at + (key,))
        return out

    def credentials(self, value: Any, at: tuple[Any, ...], base: dict[str, Any]) -> dict[str, Any]:
        """A credential spec; its values are never echoed in an error (a password may be pasted in one)."""
        if value is None:
            return base
        v = self.mapping(value, at, KNOWN_KEYS)
        for key in ("username_env", "password_env"):
            if key in v and not (isinstance(v[key], str) and _ENV_NAME.match(v[key])):
                self.doc.fail(at + (key,), "does not look like an environment variable name (letters, digits and _; "
                                           "the value is not shown: is a password pasted here?)")
        if "prompt" in v and not isinstance(v["prompt"], bool):
            self.doc.fail(at + ("prompt",), "expected true or false (the value is not shown)")
        for key in ("username", "keyring"):
            if key in v and (not isinstance(v[key], str) or not v[key].strip()):
                self.doc.fail(at + (key,), "expected a non-empty string (the value is not shown)")
        if not ({"password_env", "keyring"} & set(v) or v.get("prompt")):
            self.doc.fail(at, "give password_env, keyring or prompt: true (passwords never go in the file)")
        if ("keyring" in v or v.get("prompt")) and not v.get("username"):
            self.doc.fail(at, "keyring and prompt need 'username'")
        return dict(v)

    def host(self, value: Any, at: tuple[Any, ...], role: str, extra: set[str] = frozenset(), cluster: str | None = None) -> Host:
        doc = self.doc
        v = self.mapping(value, at, {"name", "address", "winrm", "credentials"} | set(extra), ("name",))
        name = self.name(v["name"], at + ("name",))
        w, creds, address, ok = dict(self.default_winrm), self.default_creds, name, True
        for part in ("winrm", "credentials", "address"):
            with doc.each():
                if part == "winrm":
                    w = self.winrm(v.get("winrm"), at + ("winrm",), self.default_winrm)
                elif part == "credentials":
                    creds = self.credentials(v.get("credentials"), at + ("credentials",), self.default_creds)
                else:
                    address = self.string(v.get("address") or v["name"], at + ("address",))
                continue
            ok = False
        if not ok:
            raise Skip
        if w["port"] is None:
            w["port"] = 5986 if w["scheme"] == "https" else 5985
        given = {k: (address if k == "address" else WinRM(**w)) for k in ("address", "winrm") if v.get(k) is not None}
        if name in self.hosts:
            h, before = self.hosts[name], self.given[name]
            first = f"first listed at {h.where}"
            if "address" in given and "address" in before and before["address"].lower() != address.lower():
                doc.fail(at + ("address",), f"{name} is listed again with address {show(address)} ({first} "
                                            f"with {show(h.address)}): give one address")
            if "winrm" in given and "winrm" in before and before["winrm"] != given["winrm"]:
                doc.fail(at + ("winrm",), f"{name} is listed again with other winrm settings ({first}): give one")
            if "address" in given and "address" not in before:
                h.address = address
            if "winrm" in given and "winrm" not in before:
                h.winrm = given["winrm"]
            before.update(given)
            if cluster and h.cluster and h.cluster != cluster:
                doc.fail(at, f"{name} is already a node of cluster {h.cluster} ({first}): a host is in one cluster")
            if role not in h.roles:
                h.roles.append(role)
            h.cluster = h.cluster or cluster
            return h
        h = Host(name, address, [role], WinRM(**w), creds, doc.where(at), cluster)
        self.hosts[name], self.given[name] = h, given
        return h

    def inventory(self, raw: Any) -> Inventory:
        doc, each = self.doc, self.doc.each
        top = self.mapping(raw, (), _TOP)
        inv = Inventory(path=doc.path)
        with each():
            vbr = self.mapping(top.get("vbr") or {}, ("vbr",), {"version", "profile"})
            inv.vbr_profile = vbr.get("profile")
            if vbr.get("version") is not None:
                ver = str(vbr["version"])
                if not all(p.isdigit() for p in ver.split(".")) or len(ver.split(".")) > 4:
                    doc.fail(("vbr", "version"), f"expected a version like 13.0.1.1071, got {show(ver)}")
                inv.vbr_version = ver
        with each():
            defaults = self.mapping(top.get("defaults") or {}, ("defaults",), {"winrm", "credentials"})
            with each():
                self.default_winrm = self.winrm(defaults.get("winrm"), ("defaults", "winrm"), WINRM_DEFAULTS)
            with each():
                self.default_creds = self.credentials(defaults.get("credentials"), ("defaults", "credentials"),
                                                      DEFAULT_CREDENTIALS)
        if top.get("backup_server") is not None:
            with each():
                self.host(top["backup_server"], ("backup_server",), "backup_server")
        for i, c in self.entries(top, "clusters"):
            with each():
                at = ("clusters", i)
                c = self.mapping(c, at, {"name", "nodes"}, ("name", "nodes"))
                cname = self.name(c["name"], at + ("name",))
                if cname in inv.clusters:
                    doc.fail(at + ("name",), f"cluster {cname} is listed twice")
                nodes = inv.clusters[cname] = []
                for j, n in enumerate(self.seq(c["nodes"], at + ("nodes",))):
                    with each():
                        nodes.append(self.host(n, at + ("nodes", j), "hyperv_host", cluster=cname).name)
        for i, h in self.entries(top, "hyperv_hosts"):
            with each():
                self.host(h, ("hyperv_hosts", i), "hyperv_host")
        assignment_at: list[tuple[Any, ...]] = []
        proxies: dict[str, tuple[Any, ...]] = {}
        for i, p in self.entries(top, "proxies"):
            with each():
                at = ("proxies", i)
                mt = p.get("max_tasks") if isinstance(p, dict) else None
                if mt is not None and (not isinstance(mt, int) or isinstance(mt, bool) or mt < 0):
                    doc.note(at + ("max_tasks",), f"expected a non-negative integer, got {show(mt)}")
                h = self.host(p, at, "proxy", {"max_tasks", "serves"})
                sources = []
                for j, s in enumerate(self.seq(p.get("serves"), at + ("serves",))):
                    with each():
                        s = self.mapping(s, at + ("serves", j), {"cluster", "host"})
                        if len(s) != 1:
                            doc.fail(at + ("serves", j), "give exactly one of cluster: NAME or host: NAME")
                        kind, name = next(iter(s.items()))
                        sources.append({"kind": kind, "name": self.name(name, at + ("serves", j, kind))})
                entry = {"proxy": h.name, "max_tasks": mt, "sources": sources}
                if h.name in proxies:
                    before = next((a for a in inv.assignments if a["proxy"] == h.name),
                                  {"proxy": h.name, "max_tasks": None, "sources": []})
                    if before != entry:
                        doc.fail(at, f"proxy {h.name} is listed twice with different max_tasks or serves (first at "
                                     f"{doc.where(proxies[h.name])}): list it once")
                    continue
                proxies[h.name] = at
                if sources or mt is not None:  # no serves: it serves everything (filled in below)
                    inv.assignments.append(entry)
                    assignment_at.append(at)
        for i, f in self.entries(top, "file_servers"):
            with each():
                at = ("file_servers", i)
                f = self.mapping(f, at, {"name", "address", "port", "shares", "credentials", "winrm"}, ("name",))
                if f.get("winrm") is not None:  # also a Windows host: its OS facts over WinRM, same credentials
                    self.host({k: f[k] for k in ("name", "address", "winrm", "credentials") if k in f}, at, "file_server")
                shares = [self.string(s, at + ("shares", j)) for j, s in enumerate(self.seq(f.get("shares"), at + ("shares",)))]
                name = self.name(f["name"], at + ("name",))
                t = Target(name=name, kind="file_server", address=self.string(f.get("address") or f["name"], at + ("address",)),
                           port=self.port(f.get("port", 445), at + ("port",)), options={"shares": shares})
                inv.file_servers.append({"target": t, "where": doc.where(at),
                                         "credentials": self.credentials(f.get("credentials"), at + ("credentials",), self.default_creds)})
        for i, d in self.entries(top, "domain_controllers"):
            with each():
                at = ("domain_controllers", i)
                d = self.mapping(d, at, {"name", "address", "domain", "ldap", "credentials"}, ("name", "domain"))
                ldap = self.mapping(d.get("ldap") or {}, at + ("ldap",), {"tls", "port", "verify_tls", "ca_file", "tls_server_name"})
                mode = self.choice(ldap.get("tls", "ldaps"), at + ("ldap", "tls"), ("ldaps", "starttls", "plain"))
                port = self.port(ldap.get("port", 636 if mode == "ldaps" else 389), at + ("ldap", "port"))
                t = Target(name=self.name(d["name"], at + ("name",)), kind="domain_controller",
                           address=self.string(d.get("address") or d["name"], at + ("address",)), port=port,
                           tls=mode != "plain", verify_tls=self.boolean(ldap.get("verify_tls", True), at + ("ldap", "verify_tls")),
                           ca_file=ldap.get("ca_file"),
                           options={"domain": self.string(d["domain"], at + ("domain",)).lower(), "tls_mode": mode,
                                    **({"tls_server_name": self.string(ldap["tls_server_name"], at + ("ldap", "tls_server_name"))}
                                       if ldap.get("tls_server_name") else {})})
                inv.domain_controllers.append({"target": t, "where": doc.where(at),
                                               "credentials": self.credentials(d.get("credentials"), at + ("credentials",), self.default_creds)})
        inv.hosts = list(self.hosts.values())
        everything = [{"kind": "cluster", "name": c} for c in inv.clusters] + [
            {"kind": "host", "name": h.name} for h in inv.hosts if "hyperv_host" in h.roles and not h.cluster]
        for a in inv.assignments:
            if not a["sources"]:
                a["sources"] = [s for s in everything if s["name"] != a["proxy"]]
        known = {h.name for h in inv.hosts} | set(inv.clusters)
        for a, at in zip(inv.assignments, assignment_at):
            for s in a["sources"]:
                if s["kind"] == "cluster" and s["name"] not in inv.clusters:
                    doc.note(at + ("serves",), f"cluster {s['name']} is not in clusters:")
                if s["kind"] == "host" and s["name"] not in known:
                    doc.note(at + ("serves",), f"host {s['name']} is not in the inventory")
        if not inv.hosts and not inv.file_servers and not inv.domain_controllers and not doc.errors:
            doc.fail((), "the inventory lists no targets (proxies, hyperv_hosts, clusters, ...)")
        return inv

    def entries(self, top: dict[str, Any], key: str) -> Iterator[tuple[int, Any]]:
        """(index, entry) of a top-level list (nothing when it is not a list: that error is recorded)."""
        items: list[Any] = []
        with self.doc.each():
            items = self.seq(top.get(key), (key,))
        yield from enumerate(items)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "nothing", bool: "a boolean", str: "a string",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)
