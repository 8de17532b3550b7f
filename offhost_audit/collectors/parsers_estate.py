"""PowerShell 5.1 output -> facts: cluster, Hyper-V VMs and disks, the backup server; VM disk storage kind."""

from __future__ import annotations

import re
from typing import Any

from offhost_audit.collectors import psjson as pj
from offhost_audit.collectors.parsers import CSV_STATE

CSV_ROOT = re.compile(r"^[a-z]:\\clusterstorage\\", re.I)
VBR_SERVER_TYPE = {"hvserver": "host", "hvcluster": "cluster", "scvmm": "scvmm"}


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


def parse_backup_server(doc: Any) -> dict[str, Any]:
    """backup_server.ps1 -> ``vbr`` (server, version, managed_servers, proxies); module absent -> nulls."""
    d = pj.obj(doc) or {}
    if (pj.text(d.get("Module")) or "").lower() != "present":
        return {"vbr": {"managed_servers": None, "proxies": None}, "module": "absent"}
    servers = []
    for s in pj.as_list(d.get("Servers")):
        s = pj.obj(s) or {}
        name = pj.netbios(s.get("Name"))
        if name:
            kind = VBR_SERVER_TYPE.get((pj.text(s.get("Type")) or "").lower(), "other")
            servers.append({"name": name, "type": kind})
    proxies = []
    for p in pj.as_list(d.get("Proxies")):
        p = pj.obj(p) or {}
        name = pj.netbios(p.get("Name"))
        if name:
            mt = pj.integer(p.get("MaxTasks"))
            proxies.append(
                {
                    "name": name,
                    "max_tasks": mt if mt is not None and mt >= 0 else None,
                    "disabled": pj.boolean(p.get("Disabled")),
                }
            )
    version = pj.text(d.get("Version"))
    if version and not re.fullmatch(r"[0-9]+(\.[0-9]+){0,3}", version):
        version = None
    return {
        "vbr": {
            "server": pj.netbios(d.get("Server")),
            "version": version,
            "managed_servers": servers,
            "proxies": proxies,
        },
        "module": "present",
    }
