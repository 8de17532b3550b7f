"""`discover`: read the estate from the backup server's REST API and write a reviewable inventory.

What is read (Backup Viewer rights are enough for all but the two marked):

* ``GET /api/v1/serverInfo`` (more than Viewer): the VBR build, ``vbr.version``;
* ``backupInfrastructure/proxies?typeFilter=HvProxy`` and ``proxies/states``: the off-host proxies,
  their max tasks and whether each is disabled, offline or out of date;
* ``backupInfrastructure/managedServers`` (Hyper-V hosts and clusters, SMB3 servers, nested hosts):
  the clusters with their nodes, the standalone Hyper-V hosts, the file servers;
* ``managedServers/{id}/volumes`` per standalone Hyper-V host (Administrator): the VSS provider VBR
  uses and whether it fails over to the software provider; refused (403), that fact is unknown;
* ``jobs?typeFilter=HyperVBackup``: which proxies serve which sources (automatic selection: every
  enabled off-host proxy; a fixed list: those proxies; on-host jobs use none).

A proxy's state, a host's VSS settings and each job are comments: the inventory has no fields for
them. Nothing secret is written (credentials stay the defaults: environment variables).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote

from offhost_audit import inventory
from offhost_audit.collectors.vbr_rest import API_VERSION, RestError, VbrRestClient, same
from offhost_audit.errors import InventoryError
from offhost_audit.inputs import read_input
from offhost_audit.names import norm_name
from offhost_audit.text import clean, redact_url

MANAGED_TYPES = ("HvServer", "HvCluster", "SmbV3Cluster", "SmbV3StandaloneHost")


@dataclass
class Estate:
    """What the backup server said; ``unknown`` lists the facts it would not give (one line each)."""

    server: str  #: the address discover was given
    url: str
    name: str | None = None  #: the server's own name (serverInfo)
    version: str | None = None
    proxies: list[dict[str, Any]] = field(default_factory=list)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # proxy id -> state
    servers: list[dict[str, Any]] = field(default_factory=list)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)  # host name -> volume settings
    jobs: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def read(client: VbrRestClient) -> Estate:
    """Read everything ``discover`` needs: requests grow with pages, plus one per standalone Hyper-V host
    for its volume settings (the API has no list call for them)."""
    est = Estate(server=client.target.name, url=redact_url(client.base_url))
    try:
        info = client.get("serverInfo", what="read the server information")
        version, name = info.get("buildVersion"), info.get("name")
        est.version = version if isinstance(version, str) and version else None
        est.name = name if isinstance(name, str) and name.strip() else None
    except RestError as e:
        if e.status != 403:
            raise
        est.unknown.append("the VBR version: GET /api/v1/serverInfo needs more than the Backup Viewer role")
    hv = [("typeFilter", "HvProxy")]
    est.proxies = _records(est, "proxies", client.pages("backupInfrastructure/proxies", hv), ("id", "name"))
    states = _records(est, "proxy states", client.pages("backupInfrastructure/proxies/states", hv), ("id",))
    est.states = {s["id"]: s for s in states}
    params = [("typeFilter", t) for t in MANAGED_TYPES] + [("includeNestedHosts", "true")]
    est.servers = _records(
        est, "managed servers", client.pages("backupInfrastructure/managedServers", params), ("id", "name", "type")
    )
    refused = False
    for s in est.servers:
        if refused or not same(s.get("type"), "HvServer") or isinstance(s.get("parentHostName"), str):
            continue  # after one 403 the others would say the same; cluster nodes have no volume settings here
        try:
            est.volumes[norm_name(s["name"])] = client.get(
                f"backupInfrastructure/managedServers/{quote(s['id'], safe='')}/volumes", what="read volume settings"
            )
        except RestError as e:
            refused = e.status == 403
            est.unknown.append(
                "the VSS provider and its failover per Hyper-V host: GET managedServers/{id}/volumes needs the "
                "Backup Administrator role (HTTP 403)"
                if refused
                else f"the VSS provider and its failover of {s['name']}: {e}"
            )
    est.jobs = _records(est, "jobs", client.pages("jobs", [("typeFilter", "HyperVBackup")]), ("name",))
    return est


def discovered_inventory(
    est: Estate,
    *,
    hand: str | os.PathLike[str] | None = None,
    hand_text: str | None = None,
    now: _dt.datetime | None = None,
) -> inventory.Inventory:
    """The inventory discovery gives (in memory, as `discover` would write it), with the hand-written
    file ``hand`` (or the text ``hand_text``) laid over it (inventory/overlay.py: its addresses, winrm settings, credentials and
    extra targets; the server's proxies, memberships and assignments). Assignments from the server
    carry ``source`` "rest" in the facts; what the overlay kept or ignored is in ``notes``."""
    from offhost_audit.inventory.overlay import overlay

    text = inventory_text(est, now=now)
    where = f"<discovered from {_c(est.server)}>"
    if hand is not None:
        hand_text = read_input(hand, "an inventory YAML file", InventoryError)
    source = str(hand) if hand is not None else "<hand-written inventory>"
    return overlay(text, hand_text or "{}", discovered_source=where, hand_source=source, via="rest")


def _records(est: Estate, what: str, items: Iterable[Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """The items that are objects with a non-empty string for each key; the others are counted, not guessed."""
    every = list(items)
    good = [i for i in every if isinstance(i, dict) and all(isinstance(i.get(k), str) and i[k].strip() for k in keys)]
    if len(good) < len(every):
        est.unknown.append(f"{len(every) - len(good)} of {len(every)} {what} without {', '.join(keys)}: left out")
    return good


# --- the inventory -------------------------------------------------------------------------------


def _q(value: Any) -> str:
    """A YAML scalar that reads back as this exact string (a JSON string is a YAML double-quoted one)."""
    return json.dumps(str(value), ensure_ascii=False)


def _c(text: str) -> str:
    """Text from the server, safe in a YAML comment (one line, no control characters)."""
    return clean(text, keep_newlines=False)  # also U+0085, U+2028, U+2029: YAML line breaks


@cache
def _name_pattern() -> re.Pattern[str]:
    return re.compile(inventory.schema()["$defs"]["name"]["pattern"])


def usable(server_name: str) -> bool:
    """Whether the inventory accepts this server's name (an IPv6 address or a name with a space does not)."""
    return bool(_name_pattern().search(norm_name(server_name)))


def _entry(indent: str, server_name: str, comment: str = "") -> list[str]:
    """A ``- name:`` entry, with ``address`` when the server gave a DNS name or an address; a name the
    inventory would refuse becomes a comment, so the file always loads."""
    name = norm_name(server_name)
    if not usable(server_name):
        return [f"{indent}# skipped: {_c(_q(server_name))} is not a name the inventory accepts; add it by hand"]
    lines = [f"{indent}- name: {_q(name)}" + (f"  # {_c(comment)}" if comment else "")]
    if server_name.strip() != name:
        lines.append(f"{indent}  address: {_q(server_name.strip())}")
    return lines


def _obj(value: Any) -> dict[str, Any]:
    """The server's answer is untrusted: a part that should be an object and is not counts as empty."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def proxy_host(p: dict[str, Any]) -> str:
    """The server a proxy runs on (its host's name), else the proxy's own name."""
    host = _obj(p.get("server")).get("hostName")
    return host if isinstance(host, str) and host.strip() else str(p["name"])


def _state(s: dict[str, Any] | None) -> str:
    if s is None:
        return "state unknown (not in proxies/states)"
    words = ["disabled" if s.get("isDisabled") else "enabled"]
    words.append("online" if s.get("isOnline") else "OFFLINE")
    words.append("components OUT OF DATE" if s.get("isOutOfDate") else "up to date")
    return ", ".join(words)


def assignments(est: Estate) -> tuple[dict[str, dict[tuple[str, str], list[str]]], list[str]]:
    """Per proxy name: {(kind, source name): [job names]}; and one note per job (mode, failover, skipped)."""
    by_id = {p["id"]: norm_name(proxy_host(p)) for p in est.proxies}
    enabled = [pid for pid in by_id if not (est.states.get(pid) or {}).get("isDisabled")]
    node_of = {
        norm_name(s["name"]): norm_name(s["parentHostName"])
        for s in est.servers
        if isinstance(s.get("parentHostName"), str) and same(s.get("type"), "HvServer")
    }
    clusters = {norm_name(s["name"]) for s in est.servers if same(s.get("type"), "HvCluster")}
    out: dict[str, dict[tuple[str, str], list[str]]] = defaultdict(lambda: defaultdict(list))
    notes = []
    for j in est.jobs:
        name = str(j.get("name"))
        bp = _obj(_obj(j.get("storage")).get("backupProxies"))
        if j.get("isDisabled"):
            notes.append(f"job {name!r}: disabled, not counted")
            continue
        if not same(bp.get("proxyType"), "OffHost"):
            notes.append(f"job {name!r}: on-host processing, no off-host proxy")
            continue
        off = _obj(bp.get("offHostSettings"))
        auto = off.get("autoSelectEnabled") is not False
        pids = enabled if auto else [p for p in _list(off.get("proxyIds")) if isinstance(p, str)]
        missing = [p for p in pids if p not in by_id]
        failover = "on" if off.get("failoverToOnHostBackup", True) else "off"
        how = "automatic proxy selection" if auto else "fixed proxy list"
        notes.append(
            f"job {name!r}: off-host, {how}, failover to on-host {failover}"
            + (f"; {len(missing)} listed proxy ID(s) not among the Hyper-V proxies" if missing else "")
        )
        sources = set()
        for inc in _list(_obj(j.get("virtualMachines")).get("includes")):
            if not isinstance(inc, dict):
                continue
            kind, obj, host = inc.get("type"), norm_name(inc.get("name") or ""), norm_name(inc.get("hostName") or "")
            if same(kind, "Cluster"):
                sources.add(("cluster", obj))
            elif same(kind, "Host"):
                sources.add(("cluster", node_of[obj]) if obj in node_of else ("host", obj))
            elif same(kind, "VirtualMachine") and host:
                if host in clusters:
                    sources.add(("cluster", host))
                else:
                    sources.add(("cluster", node_of[host]) if host in node_of else ("host", host))
            else:
                notes.append(f"job {name!r}: source {obj or '?'} of type {kind} not resolved to a host or cluster")
        for pid in pids:
            if pid in by_id:
                for src in sources:
                    out[by_id[pid]][src].append(name)
    return out, notes


def inventory_text(est: Estate, *, now: _dt.datetime | None = None) -> str:
    """The inventory YAML, comments saying what came from which endpoint."""
    stamp = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    served, job_notes = assignments(est)
    lines = [
        f"# Discovered by offhost-audit discover from the backup server {_c(est.server)}",
        f"# ({_c(est.url)}, REST API {API_VERSION}) on {stamp}. Review it before use: add addresses,",
        "# winrm settings and credentials (environment variables, keyring or prompt) where the defaults",
        "# do not fit. Nothing secret is written here.",
    ]
    lines += [f"# UNKNOWN: {_c(u)}" for u in est.unknown]
    lines += ["", "vbr:  # GET /api/v1/serverInfo"]
    lines.append(f"  version: {_q(est.version)}" if est.version else "  version: null  # unknown")
    name = norm_name(est.name or est.server)
    lines += ["", "backup_server:", f"  name: {_q(name)}"]
    if est.server.strip() != name:
        lines.append(f"  address: {_q(est.server.strip())}")
    lines += ["", "# GET /api/v1/backupInfrastructure/proxies?typeFilter=HvProxy (max_tasks), proxies/states (state);"]
    lines.append("# serves: from GET /api/v1/jobs?typeFilter=HyperVBackup")
    lines.append("proxies:" if est.proxies else "proxies: []")
    for p in est.proxies:
        host = proxy_host(p)
        lines += _entry("  ", host, _state(est.states.get(p["id"])))
        if not usable(host):
            continue
        mt = _obj(p.get("server")).get("maxTaskCount")
        if isinstance(mt, int) and mt >= 0:
            lines.append(f"    max_tasks: {mt}")
        sources = served.get(norm_name(host)) or {}
        for (_kind, src), jobs in sorted(sources.items()):
            if not usable(src):
                lines.append(
                    f"    # serves {_c(_q(src))} too (jobs: {_c(', '.join(jobs))}): not a name the inventory accepts"
                )
        good = {k: v for k, v in sources.items() if usable(k[1])}
        if good:
            lines.append("    serves:")
            for (kind, src), jobs in sorted(good.items()):
                lines.append(f"      - {kind}: {_q(src)}  # {_c('jobs: ' + ', '.join(sorted(jobs)))}")
        elif sources:
            lines.append("    serves: []  # none of its sources has a name the inventory accepts (see above)")
        else:
            lines.append(
                "    serves: []  # no enabled off-host job uses this proxy: it serves nothing (delete this line to "
                "pair it with every source)"
            )
    clusters = [s for s in est.servers if same(s.get("type"), "HvCluster")]
    nodes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in est.servers:
        if same(s.get("type"), "HvServer") and isinstance(s.get("parentHostName"), str):
            nodes[norm_name(s["parentHostName"])].append(s)
    lines += ["", "# GET /api/v1/backupInfrastructure/managedServers (HvCluster; nodes: includeNestedHosts=true)"]
    lines.append("clusters:" if clusters else "clusters: []")
    for c in clusters:
        lines += _entry("  ", c["name"], "" if same(c.get("status"), "Available") else f"status {c.get('status')}")
        if not usable(c["name"]):
            continue
        members = [n["name"] for n in nodes.get(norm_name(c["name"]), [])] or [
            ch["hvServerName"] for ch in _list(c.get("childServers")) if isinstance(_obj(ch).get("hvServerName"), str)
        ]
        lines.append(
            "    nodes:"
            if any(usable(n) for n in members)
            else "    nodes: []  # the server listed no node the inventory accepts"
        )
        for n in members:
            lines += _entry("      ", n)
    standalone = [
        s for s in est.servers if same(s.get("type"), "HvServer") and not isinstance(s.get("parentHostName"), str)
    ]
    lines += ["", "# GET .../managedServers (HvServer); VSS: GET .../managedServers/{id}/volumes"]
    lines.append("hyperv_hosts:" if standalone else "hyperv_hosts: []")
    for s in standalone:
        lines += _entry("  ", s["name"], _vss(est.volumes.get(norm_name(s["name"]))))
    smb = [s for s in est.servers if same(s.get("type"), "SmbV3StandaloneHost") or same(s.get("type"), "SmbV3Cluster")]
    lines += ["", "# GET .../managedServers (SmbV3StandaloneHost, SmbV3Cluster); shares: add the ones VMs use"]
    lines.append("file_servers:" if smb else "file_servers: []")
    for s in smb:
        lines += _entry("  ", s["name"], str(s.get("type")))
    lines += ["", "# Jobs (GET /api/v1/jobs?typeFilter=HyperVBackup):"]
    lines += [f"#   {_c(n)}" for n in job_notes] or ["#   none"]
    return "\n".join(lines) + "\n"


def _vss(v: dict[str, Any] | None) -> str:
    if v is None:
        return "VSS provider unknown"
    providers = sorted({str(_obj(_obj(x).get("volumeSettings")).get("VSSprovider")) for x in _list(v.get("volumes"))})
    failover = "on" if v.get("failoverToVSSProvider", True) else "off"
    return f"VSS provider: {', '.join(providers) or 'none listed'}; failover to software provider {failover}"
