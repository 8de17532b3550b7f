"""The inventory: the estate to audit and how to reach each part of it (YAML, see examples/inventory.yaml).

Loaded with ``yaml.compose`` so every value keeps its line: a validation error names the file, the
line and the field (``inventory.yaml:12: proxies[0].winrm.port: expected an integer 1-65535``) and
raises :class:`~offhost_audit.errors.InventoryError` (exit 2). Passwords are refused in the file:
credentials come from environment variables, a prompt or the keyring (``offhost_audit.credentials``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from offhost_audit.collectors.base import Target
from offhost_audit.credentials import KNOWN_KEYS, Resolver
from offhost_audit.errors import InventoryError

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


class _Doc:
    """Plain Python values from a composed YAML tree, with the line of every path."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: dict[tuple[Any, ...], int] = {}

    def build(self, node: yaml.Node, at: tuple[Any, ...] = ()) -> Any:
        self.lines[at] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for k, v in node.value:
                key = str(yaml.safe_load(yaml.serialize(k))) if not isinstance(k, yaml.ScalarNode) else k.value
                if key in out:
                    self.fail(at + (key,), f"duplicate key '{key}'", line=k.start_mark.line + 1)
                out[key] = self.build(v, at + (key,))
                self.lines.setdefault(at + (key,), k.start_mark.line + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, at + (i,)) for i, v in enumerate(node.value)]
        return yaml.safe_load(yaml.serialize(node)) if node.tag != "tag:yaml.org,2002:str" else node.value

    def where(self, at: tuple[Any, ...]) -> str:
        line = next((self.lines[at[:i]] for i in range(len(at), -1, -1) if at[:i] in self.lines), 1)
        return f"{self.path}:{line}"

    def fail(self, at: tuple[Any, ...], msg: str, *, line: int | None = None) -> None:
        loc = f"{self.path}:{line}" if line else self.where(at)
        raise InventoryError(f"{loc}: {_field(at) or '(top)'}: {msg}")


def _field(at: tuple[Any, ...]) -> str:
    s = ""
    for p in at:
        s += f"[{p}]" if isinstance(p, int) else (f".{p}" if s else str(p))
    return s


def load(path: str | os.PathLike[str]) -> Inventory:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InventoryError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InventoryError(f"{p}: cannot read: {e}") from None
    return loads(text, source=str(p))


def loads(text: str, *, source: str = "inventory") -> Inventory:
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise InventoryError(f"{source}{line}: not valid YAML: {getattr(e, 'problem', None) or e}") from None
    doc = _Doc(source)
    if node is None:
        raise InventoryError(f"{source}:1: the inventory is empty")
    raw = doc.build(node)
    return _Parser(doc).inventory(raw)


class _Parser:
    def __init__(self, doc: _Doc) -> None:
        self.doc = doc
        self.hosts: dict[str, Host] = {}

    # helpers
    def mapping(self, value: Any, at: tuple[Any, ...], allowed: set[str], required: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.doc.fail(at, f"expected a mapping, got {_kind(value)}")
        for k in value:
            if k.lower() in _SECRET_KEYS:
                self.doc.fail(at + (k,), "secrets do not belong in the inventory: use password_env, keyring or prompt")
            if k not in allowed:
                self.doc.fail(at + (k,), f"unknown field (expected one of: {', '.join(sorted(allowed))})")
        for k in required:
            if value.get(k) in (None, ""):
                self.doc.fail(at, f"missing required field '{k}'")
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
        if any(c in s for c in " \\/:*?\"<>|"):
            self.doc.fail(at, f"'{s}' is not a computer name")
        return s.split(".")[0].upper()

    def port(self, value: Any, at: tuple[Any, ...]) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
            self.doc.fail(at, f"expected an integer 1-65535, got {value!r}")
        return value

    def boolean(self, value: Any, at: tuple[Any, ...]) -> bool:
        if not isinstance(value, bool):
            self.doc.fail(at, f"expected true or false, got {value!r}")
        return value

    # sections
    def winrm(self, value: Any, at: tuple[Any, ...], base: dict[str, Any]) -> dict[str, Any]:
        if value is None:
            return dict(base)
        v = self.mapping(value, at, set(WINRM_DEFAULTS))
        out = dict(base)
        if "scheme" in v:
            if v["scheme"] not in ("http", "https"):
                self.doc.fail(at + ("scheme",), f"expected http or https, got {v['scheme']!r}")
            out["scheme"] = v["scheme"]
            if "port" not in v and base.get("port") in (None, 5985, 5986):
                out["port"] = None
        if "port" in v:
            out["port"] = self.port(v["port"], at + ("port",))
        if "auth" in v:
            if v["auth"] not in AUTHS:
                self.doc.fail(at + ("auth",), f"expected one of {', '.join(AUTHS)}, got {v['auth']!r}")
            out["auth"] = v["auth"]
        if "verify_tls" in v:
            out["verify_tls"] = self.boolean(v["verify_tls"], at + ("verify_tls",))
        if "ca_file" in v:
            out["ca_file"] = None if v["ca_file"] is None else self.string(v["ca_file"], at + ("ca_file",))
        if "message_encryption" in v:
            if v["message_encryption"] not in ("auto", "always", "never"):
                self.doc.fail(at + ("message_encryption",), "expected auto, always or never")
            out["message_encryption"] = v["message_encryption"]
        if "path" in v:
            out["path"] = self.string(v["path"], at + ("path",))
        return out

    def credentials(self, value: Any, at: tuple[Any, ...], base: dict[str, Any]) -> dict[str, Any]:
        if value is None:
            return base
        v = self.mapping(value, at, KNOWN_KEYS)
        if not ({"password_env", "keyring"} & set(v) or v.get("prompt")):
            self.doc.fail(at, "give password_env, keyring or prompt: true (passwords never go in the file)")
        if ("keyring" in v or v.get("prompt")) and not v.get("username"):
            self.doc.fail(at, "keyring and prompt need 'username'")
        return dict(v)

    def host(self, value: Any, at: tuple[Any, ...], role: str, extra: set[str] = frozenset(), cluster: str | None = None) -> Host:
        v = self.mapping(value, at, {"name", "address", "winrm", "credentials"} | set(extra), ("name",))
        name = self.name(v["name"], at + ("name",))
        w = self.winrm(v.get("winrm"), at + ("winrm",), self.default_winrm)
        if w["port"] is None:
            w["port"] = 5986 if w["scheme"] == "https" else 5985
        creds = self.credentials(v.get("credentials"), at + ("credentials",), self.default_creds)
        address = self.string(v.get("address") or v["name"], at + ("address",))
        where = self.doc.where(at)
        if name in self.hosts:
            h = self.hosts[name]
            if role not in h.roles:
                h.roles.append(role)
            h.cluster = h.cluster or cluster
            return h
        h = Host(name, address, [role], WinRM(**w), creds, where, cluster)
        self.hosts[name] = h
        return h

    def inventory(self, raw: Any) -> Inventory:
        doc = self.doc
        top = self.mapping(raw, (), _TOP)
        inv = Inventory(path=doc.path)
        vbr = self.mapping(top.get("vbr") or {}, ("vbr",), {"version", "profile"})
        if vbr.get("version") is not None:
            ver = str(vbr["version"])
            if not all(p.isdigit() for p in ver.split(".")) or len(ver.split(".")) > 4:
                doc.fail(("vbr", "version"), f"expected a version like 13.0.1.1071, got {ver!r}")
            inv.vbr_version = ver
        inv.vbr_profile = vbr.get("profile")
        defaults = self.mapping(top.get("defaults") or {}, ("defaults",), {"winrm", "credentials"})
        self.default_winrm = self.winrm(defaults.get("winrm"), ("defaults", "winrm"), WINRM_DEFAULTS)
        self.default_creds = self.credentials(defaults.get("credentials"), ("defaults", "credentials"), DEFAULT_CREDENTIALS)
        if top.get("backup_server") is not None:
            self.host(top["backup_server"], ("backup_server",), "backup_server")
        for i, c in enumerate(self.seq(top.get("clusters"), ("clusters",))):
            at = ("clusters", i)
            c = self.mapping(c, at, {"name", "nodes"}, ("name", "nodes"))
            cname = self.name(c["name"], at + ("name",))
            nodes = [self.host(n, at + ("nodes", j), "hyperv_host", cluster=cname).name
                     for j, n in enumerate(self.seq(c["nodes"], at + ("nodes",)))]
            inv.clusters[cname] = nodes
        for i, h in enumerate(self.seq(top.get("hyperv_hosts"), ("hyperv_hosts",))):
            self.host(h, ("hyperv_hosts", i), "hyperv_host")
        for i, p in enumerate(self.seq(top.get("proxies"), ("proxies",))):
            at = ("proxies", i)
            h = self.host(p, at, "proxy", {"max_tasks", "serves"})
            mt = p.get("max_tasks")
            if mt is not None and (not isinstance(mt, int) or isinstance(mt, bool) or mt < 0):
                doc.fail(at + ("max_tasks",), f"expected a non-negative integer, got {mt!r}")
            sources = []
            for j, s in enumerate(self.seq(p.get("serves"), at + ("serves",))):
                s = self.mapping(s, at + ("serves", j), {"cluster", "host"})
                if len(s) != 1:
                    doc.fail(at + ("serves", j), "give exactly one of cluster: NAME or host: NAME")
                kind, name = next(iter(s.items()))
                sources.append({"kind": kind, "name": self.name(name, at + ("serves", j, kind))})
            if sources or mt is not None:  # no serves: it serves everything (filled in below)
                inv.assignments.append({"proxy": h.name, "max_tasks": mt, "sources": sources})
        for i, f in enumerate(self.seq(top.get("file_servers"), ("file_servers",))):
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
        for i, d in enumerate(self.seq(top.get("domain_controllers"), ("domain_controllers",))):
            at = ("domain_controllers", i)
            d = self.mapping(d, at, {"name", "address", "domain", "ldap", "credentials"}, ("name", "domain"))
            ldap = self.mapping(d.get("ldap") or {}, at + ("ldap",), {"tls", "port", "verify_tls", "ca_file", "tls_server_name"})
            mode = ldap.get("tls", "ldaps")
            if mode not in ("ldaps", "starttls", "plain"):
                doc.fail(at + ("ldap", "tls"), f"expected ldaps, starttls or plain, got {mode!r}")
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
        for i, a in enumerate(inv.assignments):
            for s in a["sources"]:
                if s["kind"] == "cluster" and s["name"] not in inv.clusters:
                    doc.fail(("proxies", i, "serves"), f"cluster {s['name']} is not in clusters:")
                if s["kind"] == "host" and s["name"] not in known:
                    doc.fail(("proxies", i, "serves"), f"host {s['name']} is not in the inventory")
        if not inv.hosts and not inv.file_servers and not inv.domain_controllers:
            doc.fail((), "the inventory lists no targets (proxies, hyperv_hosts, clusters, ...)")
        return inv


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "nothing", bool: "a boolean", str: "a string",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)
