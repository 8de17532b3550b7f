"""The backup server's estate in one normalized form, whichever way it was read.

Discovery and the run read the backup server over REST (VBR 13, ``collectors/vbr_read.py``) or
through the Veeam PowerShell module over WinRM (``collectors/ps/backup_server.ps1`` parsed by
``collectors/parsers_estate.py``). Both give a :class:`VbrEstate`; everything after reads only it:
the discovered inventory (:func:`offhost_audit.discover.inventory_text`), the facts' ``vbr``
section (:func:`vbr_facts`) and the proxy assignments the jobs imply (:func:`assignments`).

A value the server did not give is ``None`` (an unknown fact), never a guess; ``unknown`` says, one
line each, what could not be read and why.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from offhost_audit.names import norm_name

Source = Literal["rest", "powershell"]
VssKind = Literal["hardware", "software"]


@dataclass
class VbrProxy:
    """A Hyper-V off-host proxy registered on the backup server."""

    name: str  #: the proxy's name in VBR
    host: str  #: the server it runs on (the inventory names the proxy after it)
    id: str | None = None
    max_tasks: int | None = None
    disabled: bool | None = None
    online: bool | None = None
    out_of_date: bool | None = None


@dataclass
class VbrCluster:
    name: str
    nodes: list[str] = field(default_factory=list)
    available: bool | None = None


@dataclass
class VbrHost:
    """A Hyper-V host VBR manages (``cluster``: the cluster it is a node of, None when standalone)."""

    name: str
    cluster: str | None = None
    available: bool | None = None
    vss_provider: VssKind | None = None  #: the provider VBR uses for the host's volumes
    vss_provider_names: list[str] = field(default_factory=list)  #: as the server named them
    failover_to_software: bool | None = None
    vss_source: Source | None = None  #: where the VSS settings came from, when not the estate's own path

    def vss_known(self) -> bool:
        return self.vss_provider is not None or self.failover_to_software is not None


@dataclass
class VbrFileServer:
    name: str
    cluster: bool = False  #: an SMB3 cluster (scale-out file server), not a standalone host


@dataclass
class VbrEstate:
    """What the backup server said. ``jobs`` are in the facts schema's job shape (``$defs/vbr`` jobs,
    without ``source``); ``None`` for a list means it was not read (unknown), ``[]`` that it is empty."""

    server: str  #: the address it was read from
    endpoint: str  #: how: the REST URL or the WinRM endpoint (no credentials)
    via: Literal["rest", "winrm"]
    name: str | None = None  #: the server's own name
    version: str | None = None
    proxies: list[VbrProxy] | None = None
    clusters: list[VbrCluster] | None = None
    hosts: list[VbrHost] | None = None  #: every Hyper-V host, cluster nodes included
    file_servers: list[VbrFileServer] | None = None
    scvmm: list[str] = field(default_factory=list)  #: SCVMM servers registered (PowerShell only)
    jobs: list[dict[str, Any]] | None = None
    notes: list[str] = field(default_factory=list)  #: what a reader of the jobs should know (one line each)
    unknown: list[str] = field(default_factory=list)
    fallback: str | None = None  #: why REST was not used (read over WinRM because REST did not answer)
    requests: int = 0  #: REST requests or WinRM script runs it took

    @property
    def source(self) -> Source:
        return "rest" if self.via == "rest" else "powershell"

    def standalone_hosts(self) -> list[VbrHost]:
        return [h for h in self.hosts or [] if h.cluster is None]


def vss_kind(provider_name: str | None) -> VssKind | None:
    """Hardware or Microsoft's software provider, from the name VBR gives; None when it gives none."""
    name = (provider_name or "").strip().lower()
    if not name:
        return None
    return "software" if "microsoft software shadow copy" in name else "hardware"


def host_vss(kinds: list[VssKind | None]) -> VssKind | None:
    """One host's provider from its volumes': software when any volume uses it, hardware when every
    volume names a hardware one; None otherwise (no volume, or one without a provider)."""
    if "software" in kinds:
        return "software"
    return "hardware" if kinds and all(kinds) else None


def on_off(value: Any) -> str:
    """A setting as a word: on, off, or unknown (not read)."""
    return "on" if value is True else "off" if value is False else "unknown"


def source_of(kind: Any, name: Any, host: Any = None) -> dict[str, Any] | None:
    """A job source in the facts shape from VBR's object type (REST ``VirtualMachine``/``Host``/
    ``Cluster``; PowerShell ``Vm``/``Host``/``Cluster``...); None for a type that is none of them."""
    word = str(kind or "").lower().replace("_", "").replace(" ", "")
    text = str(name or "").strip()
    if not text:
        return None
    if word in ("virtualmachine", "vm", "hvvm"):
        h = str(host or "").strip()
        return {"kind": "vm", "name": text, "host": h or None}
    if word in ("host", "hvserver", "server", "hvhost"):
        return {"kind": "host", "name": text}
    if word in ("cluster", "hvcluster"):
        return {"kind": "cluster", "name": text}
    return None


def supplement_vss(est: VbrEstate, other: VbrEstate) -> list[str]:
    """Fill the hosts whose VSS settings ``est`` lacks from ``other`` (REST has none for cluster nodes:
    PowerShell reads them); the names of the hosts filled."""
    theirs = {norm_name(h.name): h for h in other.hosts or [] if h.vss_known()}
    filled = []
    for h in est.hosts or []:
        o = theirs.get(norm_name(h.name))
        if o is not None and not h.vss_known():
            h.vss_provider, h.vss_provider_names = o.vss_provider, list(o.vss_provider_names)
            h.failover_to_software, h.vss_source = o.failover_to_software, other.source
            filled.append(h.name)
    return filled


def vbr_facts(est: VbrEstate, source: Source) -> dict[str, Any]:
    """The facts' ``vbr`` section (schema ``$defs/vbr``) from the estate; every entry says its source.

    ``managed_servers``: the clusters and the standalone Hyper-V hosts; ``hyperv_hosts``: every
    Hyper-V host with its VSS settings (a cluster node over REST: unknown, the API has none), null
    when no host's settings could be read (not collected)."""
    managed = None
    if est.clusters is not None or est.hosts is not None:
        managed = (
            [{"name": c.name, "type": "cluster"} for c in est.clusters or []]
            + [{"name": h.name, "type": "host"} for h in est.standalone_hosts()]
            + [{"name": n, "type": "scvmm"} for n in est.scvmm]
        )
    proxies = None
    if est.proxies is not None:
        proxies = [
            {
                "name": norm_name(p.host),
                "id": p.id,
                "max_tasks": p.max_tasks if p.max_tasks is None or p.max_tasks >= 0 else None,
                "disabled": p.disabled,
                "online": p.online,
                "out_of_date": p.out_of_date,
                "source": source,
            }
            for p in est.proxies
        ]
    hosts = None
    if any(h.vss_known() for h in est.hosts or []):
        hosts = [
            {
                "name": h.name,
                "vss_provider": h.vss_provider,
                "failover_to_software": h.failover_to_software,
                "source": h.vss_source or source,
            }
            for h in est.hosts or []
        ]
    jobs = None if est.jobs is None else [{**j, "source": source} for j in est.jobs]
    return {
        "server": norm_name(est.name) if est.name else None,
        "version": est.version,
        "managed_servers": managed,
        "proxies": proxies,
        "jobs": jobs,
        "hyperv_hosts": hosts,
    }


Served = dict[str, dict[tuple[str, str], list[str]]]  # proxy (norm) -> {(kind, source name): [job names]}


def assignments(est: VbrEstate) -> tuple[Served, list[str]]:
    """Which proxy serves which host or cluster, by the jobs: per proxy name (normalized) the sources
    with the jobs that imply them; and one line per job (mode, selection, failover, what was skipped).

    Automatic selection: every enabled off-host proxy; a fixed list: the listed ones; on-host and
    disabled jobs: none. A VM counts as its host, a host or VM on a cluster node as the cluster."""
    proxies = est.proxies or []
    known = {norm_name(p.host) for p in proxies}
    enabled = [norm_name(p.host) for p in proxies if not p.disabled]
    node_of = {norm_name(h.name): norm_name(h.cluster) for h in est.hosts or [] if h.cluster}
    for c in est.clusters or []:
        for n in c.nodes:
            node_of.setdefault(norm_name(n), norm_name(c.name))
    clusters = {norm_name(c.name) for c in est.clusters or []}
    out: Served = defaultdict(lambda: defaultdict(list))
    notes = []
    for j in est.jobs or []:
        name = str(j.get("name"))
        if j.get("enabled") is False:
            notes.append(f"job {name!r}: disabled, not counted")
            continue
        if j.get("mode") == "on_host":
            notes.append(f"job {name!r}: on-host processing, no off-host proxy")
            continue
        sel = j.get("proxies") or {}
        auto = sel.get("automatic") is not False
        listed = [norm_name(p) for p in sel.get("names") or []]
        chosen = enabled if auto else listed
        missing = [p for p in listed if p not in known] if not auto else []
        failover = on_off(j.get("failover_to_on_host"))
        mode = "off-host" if j.get("mode") == "off_host" else "processing mode unknown"
        how = "automatic proxy selection" if auto else "fixed proxy list"
        notes.append(
            f"job {name!r}: {mode}, {how}, failover to on-host {failover}"
            + (f"; listed proxies not among the Hyper-V proxies: {', '.join(missing)}" if missing else "")
        )
        sources = set()
        for s in j.get("sources") or []:
            obj = norm_name(s["name"])
            if s["kind"] == "cluster":
                sources.add(("cluster", obj))
            elif s["kind"] == "host":
                sources.add(("cluster", node_of[obj]) if obj in node_of else ("host", obj))
            elif s.get("host"):
                h = norm_name(s["host"])
                sources.add(
                    ("cluster", h) if h in clusters else ("cluster", node_of[h]) if h in node_of else ("host", h)
                )
            else:
                notes.append(f"job {name!r}: VM {s['name']} without its host: not resolved to a host or cluster")
        for p in chosen:
            if p in known:
                for src in sources:
                    out[p][src].append(name)
    return out, notes
