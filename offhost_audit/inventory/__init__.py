"""The inventory: the estate to audit and how to reach each part of it (YAML, see examples/inventory.yaml).

Loaded with :mod:`offhost_audit.yamldoc` (depth and alias limits, the line of every value): every
error is reported, one line each naming the file, the line and the field
(``inventory.yaml:12: proxies[0].winrm.port: expected an integer 1-65535``), in one
:class:`~offhost_audit.errors.InventoryError` (exit 2). A host listed twice with another address,
winrm settings, cluster or max_tasks is refused. Passwords are refused in the file: credentials
come from environment variables, a prompt or the keyring (``offhost_audit.inventory.credentials``), and the
value of a credential field is never shown in an error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from offhost_audit.errors import InventoryError
from offhost_audit.inputs import read_input
from offhost_audit.inventory.credentials import Resolver
from offhost_audit.inventory.targets import MessageEncryption, Target, WinRMAuth
from offhost_audit.names import norm_name
from offhost_audit.resources import schema_dir
from offhost_audit.yamldoc import Doc, compose, show


@cache
def schema() -> dict[str, Any]:
    """The published inventory schema (schema/inventory.schema.json): the fields, enums and shapes the
    checker below accepts come from it, so the two cannot drift apart."""
    return json.loads((schema_dir() / "inventory.schema.json").read_text(encoding="utf-8"))


WINRM_DEFAULTS = {
    "scheme": "https",
    "port": None,
    "auth": "ntlm",
    "verify_tls": True,
    "ca_file": None,
    "message_encryption": "auto",
    "path": "/wsman",
}
DEFAULT_CREDENTIALS = {"username_env": "OFFHOST_WINRM_USER", "password_env": "OFFHOST_WINRM_PASSWORD"}
_SECRET_KEYS = {"password", "passwd", "secret", "pass"}


@dataclass
class WinRM:
    scheme: str = "https"
    port: int = 5986
    auth: WinRMAuth = "ntlm"
    verify_tls: bool = True
    ca_file: str | None = None
    message_encryption: MessageEncryption = "auto"
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
    vbr_read: VbrRead | None = None  #: the backup server's entry: how a run reads VBR's own view


@dataclass(frozen=True)
class VbrRead:
    """How a run reads the backup server's view (inventory ``backup_server.via`` and ``rest``)."""

    via: str = "auto"  # auto | rest | winrm
    rest_port: int | None = None
    rest_verify_tls: bool = True
    rest_ca_file: str | None = None


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
    #: where each proxy's ``serves`` came from when not the hand-written file ("rest", "powershell"): set by
    #: :func:`offhost_audit.inventory.overlay.overlay`; becomes the assignments' ``source`` in the facts
    origin: dict[str, str] = field(default_factory=dict)
    #: what an overlay did that the reader should know (a target kept from the hand-written file, ...)
    notes: list[str] = field(default_factory=list)

    @property
    def proxies(self) -> list[str]:
        return [h.name for h in self.hosts if "proxy" in h.roles]

    def targets(
        self, *, resolver: Resolver | None = None, call_timeout: float = 60.0, insecure: bool = False
    ) -> list[Target]:
        """Every target, credentials resolved (raises CredentialError/InventoryError, exit 2)."""
        resolver = resolver or Resolver()
        out = []
        for h in self.hosts:
            kind = next(k for k in ("proxy", "hyperv_host", "backup_server", "file_server") if k in h.roles)
            w = h.winrm
            out.append(
                Target(
                    name=h.name,
                    kind=kind,
                    address=h.address,
                    port=w.port,
                    credentials=resolver.resolve(h.credentials, where=f"{h.where}: {h.name}"),
                    tls=w.scheme == "https",
                    verify_tls=w.verify_tls and not insecure,
                    ca_file=w.ca_file,
                    timeout_s=call_timeout,
                    options={
                        "roles": list(h.roles),
                        "auth": w.auth,
                        "scheme": w.scheme,
                        "path": w.path,
                        "message_encryption": w.message_encryption,
                        "cluster": h.cluster,
                        "fqdn": h.address if "." in h.address and not h.address.replace(".", "").isdigit() else None,
                        **(
                            {
                                "vbr_via": h.vbr_read.via,
                                "vbr_rest": {
                                    "port": h.vbr_read.rest_port,
                                    "verify_tls": h.vbr_read.rest_verify_tls and not insecure,
                                    "ca_file": h.vbr_read.rest_ca_file,
                                },
                            }
                            if h.vbr_read
                            else {}
                        ),
                    },
                )
            )
        for entries in (self.domain_controllers, self.file_servers):
            for e in entries:
                creds = (
                    resolver.resolve(e["credentials"], where=f"{e['where']}: {e['target'].name}")
                    if e.get("credentials")
                    else None
                )
                out.append(
                    replace(
                        e["target"],
                        credentials=creds,
                        verify_tls=e["target"].verify_tls and not insecure,
                        timeout_s=call_timeout,
                    )
                )
        return out


# --- loading -----------------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> Inventory:
    return loads(read_input(path, "an inventory YAML file", InventoryError), source=str(Path(path)))


def loads(text: str, *, source: str = "inventory") -> Inventory:
    """Parse and check an inventory; InventoryError lists every problem, one ``file:line: field: ...`` each."""
    doc, raw = read_doc(text, source)
    direct, broken = check_doc(doc, raw)
    return parse_doc(doc, raw, direct, broken)


def read_doc(text: str, source: str) -> tuple[Doc, Any]:
    """The YAML document with the line of every path (errors: InventoryError naming the file and line)."""
    node = compose(text, source, InventoryError)
    if node is None:
        raise InventoryError(f"{source}:1: the inventory is empty")
    doc = Doc(source, InventoryError)
    return doc, doc.build(node)


def check_doc(doc: Doc, raw: Any) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """Note every schema problem on ``doc``; (the paths with one, those and every path above them)."""
    direct: set[tuple[Any, ...]] = set()  # every path with a schema problem
    broken: set[tuple[Any, ...]] = set()  # ... and every path above one
    order = {at: i for i, at in enumerate(doc.lines)}  # the paths in document order (built depth first)
    for at, msg in sorted(schema_problems(raw), key=lambda p: order.get(p[0], len(order))):
        doc.note(at, msg)
        direct.add(at)
        broken.update(at[:i] for i in range(len(at) + 1))
    return direct, broken


def parse_doc(doc: Doc, raw: Any, direct: set[tuple[Any, ...]], broken: set[tuple[Any, ...]]) -> Inventory:
    """The inventory of a schema-checked document; raises InventoryError with every problem noted on ``doc``."""
    inv = None
    if isinstance(raw, dict):
        with doc.each():
            inv = _Parser(doc, broken, direct).inventory(raw)
    doc.raise_errors()
    assert inv is not None
    return inv


# --- the schema check: jsonschema-rs says "valid?", jsonschema (imported only then) says where -------


@cache
def _checker() -> Any:
    return jsonschema_rs.validator_for(schema())


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(schema())


def schema_problems(raw: Any) -> list[tuple[tuple[Any, ...], str]]:
    """(path, message) of every schema violation; a credential field's value is never in a message."""
    if _checker().is_valid(raw):
        return []
    out: list[tuple[tuple[Any, ...], str]] = []
    for e in _validator().iter_errors(raw):
        out.extend(_messages(e, tuple(e.absolute_path)))
    return out


_PATTERNS = {
    r"\S": "expected a non-empty string",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "does not look like an environment variable name (letters, digits and _; "
    "the value is not shown: is a password pasted here?)",
    r"^[0-9]+(\.[0-9]+){0,3}$": "expected a version like 13.0.1.1071",
}
_KINDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}


def _messages(e: Any, at: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Messages written here from the keyword (jsonschema's own quote the value, which may be a password)."""
    secret = "credentials" in at
    got = " (the value is not shown)" if secret else f", got {_shown(e.instance)}"
    sch, kw = e.schema, e.validator
    if kw == "additionalProperties":
        allowed = set(sch.get("properties", {}))
        for k in e.instance:
            if k in allowed:
                continue
            if k.lower() in _SECRET_KEYS:
                yield at + (k,), "secrets do not belong in the inventory: use password_env, keyring or prompt"
            else:
                yield at + (k,), f"unknown field (expected one of: {', '.join(sorted(allowed))})"
    elif kw == "required":
        for k in e.validator_value:
            if k not in e.instance:
                yield at, f"missing required field '{k}'"
    elif kw in ("type", "minimum", "maximum") and "integer" in sch.get("type", ()) and "minimum" in sch:
        what = f"an integer {sch['minimum']}-{sch['maximum']}" if "maximum" in sch else "a non-negative integer"
        yield at, f"expected {what}{got}"
    elif kw == "type":
        types = [e.validator_value] if isinstance(e.validator_value, str) else e.validator_value
        kinds = [_KINDS[t] for t in types if t != "null"]
        yield at, f"expected {' or '.join(kinds)}{got}"
    elif kw == "enum":
        yield at, f"expected one of {', '.join(e.validator_value)}{got}"
    elif kw == "pattern" and e.validator_value in _PATTERNS:
        yield at, _PATTERNS[e.validator_value] + ("" if "not shown" in _PATTERNS[e.validator_value] else got)
    elif kw == "pattern":  # the computer-name pattern
        yield at, f"{_shown(e.instance)} is not a computer name"
    elif kw in ("minProperties", "maxProperties"):
        yield at, "give exactly one of cluster: NAME or host: NAME"
    elif kw == "anyOf":
        yield at, "give password_env, keyring or prompt: true (passwords never go in the file)"
    elif kw == "dependentRequired":
        yield at, "keyring and prompt need 'username'"
    else:
        yield at, f"not allowed by the schema ({kw}){'' if secret else got}"


def _shown(value: Any) -> str:
    return show(value) if isinstance(value, (str, int, float, bool)) or value is None else _kind(value)


class _Parser:
    """What a schema cannot say, on a document whose shapes the schema has checked (entries with a schema
    problem, ``broken``, are skipped): defaults, names normalised, a host listed twice, cross references."""

    def __init__(self, doc: Doc, broken: set[tuple[Any, ...]], direct: set[tuple[Any, ...]]) -> None:
        self.doc = doc
        self.broken = broken
        self.direct = direct
        self.hosts: dict[str, Host] = {}
        self.given: dict[str, dict[str, Any]] = {}  # per host: the address / winrm given explicitly
        self.default_winrm: dict[str, Any] = dict(WINRM_DEFAULTS)
        self.default_creds: dict[str, Any] = dict(DEFAULT_CREDENTIALS)

    def entries(self, top: dict[str, Any], key: str, nested: str = "") -> Iterator[tuple[tuple[Any, ...], Any]]:
        """(path, entry) of a top-level list, without the entries the schema refused (an entry whose
        ``nested`` list has a bad item is kept: only that item is skipped)."""
        items = top.get(key)
        for i, v in enumerate(items if isinstance(items, list) else []):
            at = (key, i)
            if at in self.broken and not (
                nested
                and at not in self.direct
                and at + (nested,) not in self.direct
                and not any(at + (k,) in self.broken for k in v if k != nested)
            ):
                continue
            yield at, v

    def winrm(self, value: Any, base: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        if value:
            if "scheme" in value and "port" not in value and base.get("port") in (None, 5985, 5986):
                out["port"] = None
            out.update(value)
        return out

    def address(self, v: dict[str, Any], at: tuple[Any, ...]) -> str:
        """The entry's address (its name when none is given); never a URL's ``user:password@`` (the
        value is not shown: it may hold a password)."""
        address = str(v.get("address") or v["name"]).strip()
        if "@" in address:
            self.doc.fail(
                at + ("address",),
                "give a host name or an IP address, without user:password@ (the value is not shown: "
                "credentials never go in the inventory)",
            )
        return address

    def host(self, v: dict[str, Any], at: tuple[Any, ...], role: str, cluster: str | None = None) -> Host:
        doc = self.doc
        name = _name(v["name"])
        w = self.winrm(v.get("winrm"), self.default_winrm)
        creds = dict(v["credentials"]) if v.get("credentials") else self.default_creds
        address = self.address(v, at)
        if w["port"] is None:
            w["port"] = 5986 if w["scheme"] == "https" else 5985
        given: dict[str, Any] = {
            k: (address if k == "address" else WinRM(**w)) for k in ("address", "winrm") if v.get(k) is not None
        }
        if name in self.hosts:
            h, before = self.hosts[name], self.given[name]
            first = f"first listed at {h.where}"
            if "address" in given and "address" in before and before["address"].lower() != address.lower():
                doc.fail(
                    at + ("address",),
                    f"{name} is listed again with address {show(address)} ({first} "
                    f"with {show(h.address)}): give one address",
                )
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

    def inventory(self, top: dict[str, Any]) -> Inventory:
        doc, each, broken = self.doc, self.doc.each, self.broken
        inv = Inventory(path=doc.path)
        vbr: dict[str, Any] = top["vbr"] if ("vbr",) not in broken and top.get("vbr") else {}
        inv.vbr_profile = vbr.get("profile")
        inv.vbr_version = None if vbr.get("version") is None else str(vbr["version"])
        defaults: dict[str, Any] = top["defaults"] if ("defaults",) not in broken and top.get("defaults") else {}
        self.default_winrm = self.winrm(defaults.get("winrm"), WINRM_DEFAULTS)
        self.default_creds = dict(defaults.get("credentials") or DEFAULT_CREDENTIALS)
        if top.get("backup_server") is not None and ("backup_server",) not in broken:
            with each():
                bs = top["backup_server"]
                rest = bs.get("rest") or {}
                self.host(bs, ("backup_server",), "backup_server").vbr_read = VbrRead(
                    via=bs.get("via") or "auto",
                    rest_port=rest.get("port"),
                    rest_verify_tls=rest.get("verify_tls", True),
                    rest_ca_file=rest.get("ca_file"),
                )
        for at, c in self.entries(top, "clusters", nested="nodes"):
            with each():
                cname = _name(c["name"])
                if cname in inv.clusters:
                    doc.fail(at + ("name",), f"cluster {cname} is listed twice")
                nodes = inv.clusters[cname] = []
                for j, n in enumerate(c["nodes"]):
                    if at + ("nodes", j) in broken:
                        continue
                    with each():
                        nodes.append(self.host(n, at + ("nodes", j), "hyperv_host", cluster=cname).name)
        for at, h in self.entries(top, "hyperv_hosts"):
            with each():
                self.host(h, at, "hyperv_host")
        assignment_at: list[tuple[Any, ...]] = []
        proxies: dict[str, tuple[Any, ...]] = {}
        every: set[str] = set()  # the proxies without serves
        for at, p in self.entries(top, "proxies"):
            with each():
                mt = p.get("max_tasks")
                h = self.host(p, at, "proxy")
                serves = p.get("serves")  # absent or null: every source; [] serves nothing
                sources = [{"kind": k, "name": _name(n)} for s in serves or [] for k, n in s.items()]
                entry = {"proxy": h.name, "max_tasks": mt, "sources": sources}
                if h.name in proxies:
                    before: dict[str, Any] = next(
                        (a for a in inv.assignments if a["proxy"] == h.name),
                        {"proxy": h.name, "max_tasks": None, "sources": []},
                    )
                    if before != entry or (serves is None) != (h.name in every):
                        doc.fail(
                            at,
                            f"proxy {h.name} is listed twice with different max_tasks or serves (first at "
                            f"{doc.where(proxies[h.name])}): list it once",
                        )
                    continue
                proxies[h.name] = at
                if serves is None:
                    every.add(h.name)  # it serves everything (filled in below)
                if serves is not None or mt is not None:
                    inv.assignments.append(entry)
                    assignment_at.append(at)
        for at, f in self.entries(top, "file_servers"):
            with each():
                if f.get("winrm") is not None:  # also a Windows host: its OS facts over WinRM, same credentials
                    self.host(
                        {k: f[k] for k in ("name", "address", "winrm", "credentials") if k in f}, at, "file_server"
                    )
                t = Target(
                    name=_name(f["name"]),
                    kind="file_server",
                    address=self.address(f, at),
                    port=f.get("port", 445),
                    options={"shares": [str(s).strip() for s in f.get("shares") or []]},
                )
                inv.file_servers.append(
                    {
                        "target": t,
                        "where": doc.where(at),
                        "credentials": dict(f.get("credentials") or self.default_creds),
                    }
                )
        for at, d in self.entries(top, "domain_controllers"):
            ldap = d.get("ldap") or {}
            mode = ldap.get("tls", "ldaps")
            t = Target(
                name=_name(d["name"]),
                kind="domain_controller",
                address=self.address(d, at),
                port=ldap.get("port", 636 if mode == "ldaps" else 389),
                tls=mode != "plain",
                verify_tls=ldap.get("verify_tls", True),
                ca_file=ldap.get("ca_file"),
                options={
                    "domain": d["domain"].strip().lower(),
                    "tls_mode": mode,
                    **({"auth": "kerberos"} if ldap.get("auth") == "kerberos" else {}),
                    **({"tls_server_name": ldap["tls_server_name"].strip()} if ldap.get("tls_server_name") else {}),
                },
            )
            inv.domain_controllers.append(
                {"target": t, "where": doc.where(at), "credentials": dict(d.get("credentials") or self.default_creds)}
            )
        inv.hosts = list(self.hosts.values())
        everything = [{"kind": "cluster", "name": c} for c in inv.clusters] + [
            {"kind": "host", "name": h.name} for h in inv.hosts if "hyperv_host" in h.roles and not h.cluster
        ]
        for a in inv.assignments:
            if a["proxy"] in every:
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


def _name(value: Any) -> str:
    return norm_name(str(value).strip())


def _kind(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        type(None): "nothing",
        bool: "a boolean",
        str: "a string",
        int: "an integer",
        float: "a number",
    }.get(type(value), type(value).__name__)
