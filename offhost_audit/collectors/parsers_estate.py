"""PowerShell 5.1 output -> facts: cluster, Hyper-V VMs and disks, the backup server; VM disk storage kind."""

from __future__ import annotations

import re
from typing import Any

from offhost_audit.collectors import psjson as pj
from offhost_audit.collectors.parsers import CSV_STATE
from offhost_audit.names import norm_name
from offhost_audit.vbr_estate import (
    VbrCluster,
    VbrEstate,
    VbrFileServer,
    VbrHost,
    VbrProxy,
    VssKind,
    host_vss,
    source_of,
    vss_kind,
)

CSV_ROOT = re.compile(r"^[a-z]:\\clusterstorage\\", re.I)


def parse_cluster(doc: Any) -> dict[str, Any]:
    """cluster.ps1 -> ``{"cluster": {member, name}, "clusters": [...]}`` (clusters only when a member)."""
    d = pj.obj(doc)
    if d is None or pj.boolean(d.get("Member")) is None:
        return {"cluster": None, "clusters": None}
    if not pj.boolean(d.get("Member")):
        return {"cluster": {"member": False, "name": None}, "clusters": None}
    name = pj.netbios(d.get("Name"))
    nodes = []
    for n in pj.as_list(d.get("Nodes")):
        n = pj.obj(n) or ({"Name": n} if isinstance(n, str) else {})
        nn = pj.netbios(n.get("Name"))
        if nn:
            nodes.append(nn)
    dedup = []
    for v in pj.as_list(d.get("Dedup")):
        v = pj.obj(v) or {}
        dedup.append(
            (
                (pj.text(v.get("Volume")) or "").rstrip("\\").lower(),
                (pj.text(v.get("VolumeId")) or "").lower(),
                pj.boolean(v.get("Enabled")),
            )
        )
    csvs = []
    for c in pj.as_list(d.get("Csvs")):
        c = pj.obj(c) or {}
        cname = pj.text(c.get("Name"))
        if not cname:
            continue
        path = pj.text(c.get("Path"))
        vol = (pj.text(c.get("VolumeName")) or "").lower()
        enabled = None
        for dvol, did, den in dedup:
            if (path and dvol and dvol == path.rstrip("\\").lower()) or (vol and did and did == vol):
                enabled = den
        if enabled is None and pj.netbios(c.get("OwnerNode")) == pj.netbios(d.get("Self")):
            enabled = False  # this node owns the CSV: Get-DedupVolume lists it when dedup is on (or is absent)
        uid = (pj.text(c.get("DiskUniqueId")) or "").lower()
        state = pj.enum(c.get("State"), CSV_STATE)
        csvs.append(
            {
                "name": cname,
                "path": path,
                "owner_node": pj.netbios(c.get("OwnerNode")),
                "state": state,
                "disk_unique_ids": [uid] if uid else None,
                "dedup_enabled": enabled,
            }
        )
    cluster: dict[str, Any] = {"name": name, "nodes": sorted(set(nodes)) or None, "csvs": csvs}
    if "S2DEnabled" in d:  # the cluster's own answer (OHP-043); left out when the script did not say
        cluster["s2d_enabled"] = pj.boolean(d.get("S2DEnabled"))
    return {"cluster": {"member": True, "name": name}, "clusters": [cluster] if name else None}


def disk_kind(path: str) -> dict[str, Any]:
    """Where a virtual disk file lives and its format, from the path alone (csv name filled later)."""
    p = path.strip()
    low = p.lower()
    fmt = next((f for f in ("vhds", "avhdx", "vhdx", "vhd") if low.endswith("." + f)), "other")
    if low.startswith("\\\\"):
        parts = [x for x in p[2:].split("\\") if x]
        if len(parts) >= 2 and parts[0] not in ("?", "."):
            server = pj.netbios(parts[0]) or parts[0].upper()
            return {"path": p, "storage": "smb", "format": fmt, "csv": None, "share": f"\\\\{server}\\{parts[1]}"}
    if CSV_ROOT.match(p):
        return {"path": p, "storage": "csv", "format": fmt, "csv": None, "share": None}
    return {"path": p, "storage": "local", "format": fmt, "csv": None, "share": None}


def parse_hyperv(doc: Any, *, host: str, cluster: str | None = None) -> dict[str, Any]:
    """hyperv.ps1 -> ``vms`` (name, id, host, cluster, disks) for one host."""
    d = pj.obj(doc)
    if d is None or pj.boolean(d.get("HyperVModule")) is False:
        return {"vms": None}
    vms: dict[str, dict[str, Any]] = {}
    for v in pj.as_list(d.get("VMs")):
        v = pj.obj(v) or {}
        name = pj.text(v.get("Name"))
        if name:
            vms[name.lower()] = {
                "name": name,
                "id": pj.guid(v.get("Id")),
                "host": host,
                "cluster": cluster,
                "disks": [],
            }
    for x in pj.as_list(d.get("Disks")):
        x = pj.obj(x) or {}
        name, path = pj.text(x.get("VMName")), pj.text(x.get("Path"))
        if not name:
            continue
        vm = vms.setdefault(
            name.lower(), {"name": name, "id": pj.guid(x.get("VMId")), "host": host, "cluster": cluster, "disks": []}
        )
        if path:
            vm["disks"].append(disk_kind(path))
    return {"vms": list(vms.values())}


def parse_backup_server(doc: Any, *, server: str, endpoint: str) -> VbrEstate | None:
    """backup_server.ps1 -> the backup server's estate (None: the Veeam module is absent).

    A property the module did not have is None (unknown) and ``Missing`` lists its path; a host or
    job the script could not read is in ``Errors``: both become ``unknown`` lines."""
    d = pj.obj(doc) or {}
    if (pj.text(d.get("Module")) or "").lower() != "present":
        return None
    est = VbrEstate(server=server, endpoint=endpoint, via="winrm", name=pj.netbios(d.get("Server")))
    version = pj.text(d.get("Version"))
    est.version = version if version and re.fullmatch(r"[0-9]+(\.[0-9]+){0,3}", version) else None
    for m in pj.as_list(d.get("Missing")):
        if pj.text(m):
            est.unknown.append(f"the Veeam module has no {pj.text(m)} in this release: what it gives is unknown")
    for e in pj.as_list(d.get("Errors")):
        if pj.text(e):
            est.unknown.append(f"not read: {pj.text(e)}")
    _servers(est, pj.as_list(d.get("Servers")))
    est.proxies = []
    for p in pj.as_list(d.get("Proxies")):
        p = pj.obj(p) or {}
        name = pj.text(p.get("Name"))
        if not name:
            continue
        mt = pj.integer(p.get("MaxTasks"))
        unavailable = pj.boolean(p.get("Unavailable"))
        est.proxies.append(
            VbrProxy(
                name=name,
                host=pj.text(p.get("Host")) or name,
                max_tasks=mt if mt is not None and mt >= 0 else None,
                disabled=pj.boolean(p.get("Disabled")),
                online=None if unavailable is None else not unavailable,
                out_of_date=pj.boolean(p.get("OutOfDate")),
            )
        )
    by_name = {norm_name(h.name): h for h in est.hosts or []}
    for h in pj.as_list(d.get("Hosts")):
        h = pj.obj(h) or {}
        host = by_name.get(norm_name(pj.text(h.get("Name")) or ""))
        if host is None:
            continue
        kinds: list[VssKind | None] = []
        names, failover = set(), set()
        for v in pj.as_list(h.get("Volumes")):
            v = pj.obj(v) or {}
            provider = pj.text(v.get("Provider"))
            kinds.append(vss_kind(provider))
            if provider:
                names.add(provider)
            failover.add(pj.boolean(v.get("Failover")))
        host.vss_provider = host_vss(kinds)
        host.vss_provider_names = sorted(names)
        # on when any volume fails over; off when none does and every volume said so
        host.failover_to_software = True if True in failover else False if failover == {False} else None
    if d.get("Jobs") is not None:
        est.jobs = [job for job in (_ps_job(est, j) for j in pj.as_list(d.get("Jobs"))) if job]
    return est


_PS_SERVER = {
    "hvserver": "host",
    "hvcluster": "cluster",
    "smbserver": "smb",
    "smbcluster": "smb_cluster",
    "scvmm": "scvmm",
}


def _servers(est: VbrEstate, servers: list[Any]) -> None:
    clusters: dict[str, VbrCluster] = {}
    ids: dict[str, str] = {}
    hosts: list[tuple[VbrHost, str | None]] = []
    est.file_servers = []
    for s in servers:
        s = pj.obj(s) or {}
        name, kind = pj.text(s.get("Name")), _PS_SERVER.get((pj.text(s.get("Type")) or "").lower())
        if not name or kind is None:
            continue
        if kind == "cluster":
            clusters[norm_name(name)] = VbrCluster(name, [])
            if pj.text(s.get("Id")):
                ids[str(pj.text(s.get("Id"))).lower()] = norm_name(name)
        elif kind == "scvmm":
            est.scvmm.append(name)
        elif kind == "host":
            hosts.append((VbrHost(name), (pj.text(s.get("ParentId")) or "").lower() or None))
        else:
            est.file_servers.append(VbrFileServer(name, cluster=kind == "smb_cluster"))
    for h, parent in hosts:
        c = clusters.get(ids.get(parent or "", ""))
        if c is not None:
            h.cluster = c.name
            c.nodes.append(h.name)
    est.clusters, est.hosts = list(clusters.values()), [h for h, _ in hosts]


def _ps_job(est: VbrEstate, j: Any) -> dict[str, Any] | None:
    j = pj.obj(j) or {}
    name = pj.text(j.get("Name"))
    if not name:
        return None
    off = pj.boolean(j.get("OffHost"))
    auto = pj.boolean(j.get("AutoProxy"))
    listed = None if j.get("Proxies") is None else [t for t in map(pj.text, pj.as_list(j.get("Proxies"))) if t]
    job: dict[str, Any] = {
        "name": name,
        "enabled": pj.boolean(j.get("Enabled")),
        "mode": None if off is None else "off_host" if off else "on_host",
        "proxies": None,
        "failover_to_on_host": None,
    }
    if off is not False:
        job["proxies"] = {"automatic": auto, "names": None if auto is not False else listed}
        job["failover_to_on_host"] = pj.boolean(j.get("Failover"))
    if j.get("Objects") is None:
        job["sources"] = None
        return job
    sources = []
    for o in pj.as_list(j.get("Objects")):
        o = pj.obj(o) or {}
        if pj.boolean(o.get("Excluded")):
            continue
        src = source_of(pj.text(o.get("Kind")), pj.text(o.get("Name")), pj.text(o.get("Host")))
        if src is None:
            est.notes.append(
                f"job {name!r}: source {pj.text(o.get('Name')) or '?'} of type {pj.text(o.get('Kind'))} "
                "not resolved to a VM, host or cluster"
            )
        else:
            sources.append(src)
    job["sources"] = sources
    return job
