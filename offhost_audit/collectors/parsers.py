"""PowerShell 5.1 script output -> ``schema/facts.schema.json`` shapes (host facts).

Each parser takes the decoded JSON value (``psjson.loads``; ``None`` for empty output) and returns a
plain dict in facts shapes. Unknown or unreadable values become ``None`` (=> rules say unknown),
never a guess. Localized text is never keyed on: numbers, GUIDs and names are.
"""

from __future__ import annotations

import re
from typing import Any

from offhost_audit.collectors import psjson as pj
from offhost_audit.collectors.textparsers import parse_vssadmin

PRODUCT_TYPE = {1: "workstation", 2: "domain_controller", 3: "server"}
SERVICE_STATUS = {
    1: "stopped",
    2: "start_pending",
    3: "stop_pending",
    4: "running",
    5: "continue_pending",
    6: "pause_pending",
    7: "paused",
}
START_TYPE = {0: "boot", 1: "system", 2: "automatic", 3: "manual", 4: "disabled"}
START_NAMES = {"auto": "automatic"}
# MSFT_Disk.BusType
BUS_TYPE = {
    1: "other",
    2: "other",
    3: "other",
    4: "other",
    5: "other",
    6: "fc",
    7: "usb",
    8: "raid",
    9: "iscsi",
    10: "sas",
    11: "sata",
    12: "other",
    13: "other",
    14: "virtual",
    15: "virtual",
    16: "spaces",
    17: "nvme",
    18: "other",
}
BUS_NAMES = {
    "fibrechannel": "fc",
    "fibre channel": "fc",
    "storagespaces": "spaces",
    "filebackedvirtual": "virtual",
    "scsi": "other",
    "ata": "other",
    "sd": "other",
    "mmc": "other",
    "unknown": "other",
}
# MSFT_InitiatorPort.ConnectionType
PORT_TYPE = {0: "other", 1: "fc", 2: "iscsi", 3: "sas"}
PORT_NAMES = {"fibrechannel": "fc", "fibre channel": "fc"}
# MSFT_StorageSetting.NewDiskPolicy
SAN_POLICY = {1: "online_all", 2: "offline_shared", 3: "offline_all", 4: "offline_internal"}
# Win32_ShadowProvider.Type / VSS_PROVIDER_TYPE (4 = file share: no value in the schema)
VSS_TYPE = {0: "unknown", 1: "system", 2: "software", 3: "hardware", 4: "unknown"}
# CLUSTER_RESOURCE_STATE (CSV)
CSV_STATE = {
    -1: "unknown",
    0: "inherited",
    1: "initializing",
    2: "online",
    3: "offline",
    4: "failed",
    128: "pending",
    129: "online_pending",
    130: "offline_pending",
}
ISCSI_ANY_PORT = "ISCSI ANY PORT"  # Get-InitiatorPort PortAddress of every iSCSI initiator port
FEATURES = {"hyper-v": "hyperv", "fs-data-deduplication": "dedup", "failover-clustering": "failover_clustering"}


def parse_system(doc: Any) -> dict[str, Any]:
    """system.ps1 -> host ``os``, ``hardware``, ``features``, ``domain``, ``computer_name``, ``dns_host_name``
    (and ``fqdn``)."""
    d = pj.obj(doc) or {}
    os_ = pj.obj(d.get("OS")) or {}
    reg = pj.obj(d.get("Registry")) or {}
    cs = pj.obj(d.get("ComputerSystem")) or {}
    drive = pj.obj(d.get("SystemDrive")) or {}
    build = pj.integer(os_.get("BuildNumber")) or pj.integer(reg.get("CurrentBuildNumber"))
    arch = pj.text(os_.get("OSArchitecture"))
    out: dict[str, Any] = {
        "os": {
            "build": build,
            "ubr": pj.integer(reg.get("UBR")),
            "version": pj.text(os_.get("Version")),
            "caption": pj.text(os_.get("Caption")),
            "edition": pj.text(reg.get("EditionID")),
            "product_type": pj.enum(os_.get("ProductType"), PRODUCT_TYPE),
            "is_64bit": ("64" in arch) if arch else None,  # "64-bit", "64 Bit", "64 bits": digits survive localization
            "installation_type": pj.text(reg.get("InstallationType")),
        }
        if (os_ or reg)
        else None,
        "hardware": {
            "manufacturer": pj.text(cs.get("Manufacturer")),
            "model": pj.text(cs.get("Model")),
            "is_virtual": None,
            "hypervisor_present": pj.boolean(cs.get("HypervisorPresent")),
            "cpu_cores": pj.integer(d.get("Cores")),
            "logical_processors": pj.integer(cs.get("NumberOfLogicalProcessors")),
            "memory_bytes": _nonneg(cs.get("TotalPhysicalMemory")),
            "system_drive_free_bytes": _nonneg(drive.get("FreeSpace")),
            "nics": _nics(d.get("NetAdapters")),
        }
        if cs
        else None,
        "features": _features(d.get("Features")),
        "domain": None,
    }
    if cs:
        part = pj.boolean(cs.get("PartOfDomain"))
        out["domain"] = {
            "name": (pj.text(cs.get("Domain")) or "").lower() or None,
            "netbios": (pj.text(d.get("NetbiosDomain")) or "").upper() or None,
            "part_of_domain": part,
        }
        dns, dom = pj.text(cs.get("DNSHostName")), pj.text(cs.get("Domain"))
        if dns and dom and part:
            out["fqdn"] = f"{dns}.{dom}".lower()
        out["computer_name"] = pj.netbios(cs.get("Name"))
        out["dns_host_name"] = (
            f"{dns}.{dom}" if dns and dom and part and "." not in dns else dns or ""
        ).lower() or None
    return out


def _nonneg(v: Any) -> int | None:
    n = pj.integer(v)
    return n if n is not None and n >= 0 else None


def _nics(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    nics = []
    for n in pj.as_list(value):
        n = pj.obj(n)
        if not n:
            continue
        status = pj.text(n.get("Status"))
        up = status.lower() == "up" if status and pj.integer(status) is None else None
        nics.append({"name": pj.text(n.get("Name")) or "?", "speed_bps": _nonneg(n.get("Speed")), "up": up})
    return nics


def _features(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    out: dict[str, Any] = {"hyperv": None, "dedup": None, "failover_clustering": None}
    for f in pj.as_list(value):
        f = pj.obj(f) or {}
        key = FEATURES.get((pj.text(f.get("Name")) or "").lower())
        if key:
            installed = pj.boolean(f.get("Installed"))
            if installed is None and pj.integer(f.get("InstallState")) is not None:
                installed = pj.integer(f.get("InstallState")) == 1
            out[key] = installed
    return out


def parse_storage(doc: Any) -> dict[str, Any]:
    """storage.ps1 -> host ``storage``."""
    d = pj.obj(doc)
    if d is None:
        return {"storage": None}
    disks = []
    for x in pj.as_list(d.get("Disks")):
        x = pj.obj(x) or {}
        if not x:
            continue
        disks.append(
            {
                "number": pj.integer(x.get("Number")),
                "unique_id": (pj.text(x.get("UniqueId")) or "").lower() or None,
                "friendly_name": pj.text(x.get("FriendlyName")),
                "bus_type": pj.enum(x.get("BusType"), BUS_TYPE, BUS_NAMES, default="other"),
                "size_bytes": _nonneg(x.get("Size")),
                "is_offline": pj.boolean(x.get("IsOffline")),
                "is_read_only": pj.boolean(x.get("IsReadOnly")),
                "is_clustered": pj.boolean(x.get("IsClustered")),
            }
        )
    ports = []
    for p in pj.as_list(d.get("InitiatorPorts")):
        p = pj.obj(p) or {}
        if p:
            kind = pj.enum(p.get("ConnectionType"), PORT_TYPE, PORT_NAMES, default="other") or "other"
            node, port = pj.text(p.get("NodeAddress")), pj.text(p.get("PortAddress"))
            if kind == "iscsi" or (port or "").upper() == ISCSI_ANY_PORT:  # the IQN is the node address
                port = None
            ports.append({"type": kind, "address": port or node, "node_address": node})
    sessions = []
    for s in pj.as_list(d.get("IscsiSessions")):
        s = pj.obj(s) or {}
        if s and pj.text(s.get("TargetNodeAddress")):
            sessions.append(
                {"target": pj.text(s.get("TargetNodeAddress")), "connected": pj.boolean(s.get("IsConnected"))}
            )
    return {
        "storage": {
            "disks": disks,
            "initiator_ports": ports,
            "iscsi_sessions": sessions,
            "san_policy": pj.enum(d.get("NewDiskPolicy"), SAN_POLICY),
        }
    }


def parse_vss(doc: Any) -> dict[str, Any]:
    """vss.ps1 -> host ``vss_providers`` (CIM objects, or ``vssadmin list providers`` text)."""
    d = pj.obj(doc)
    if d is None:
        return {"vss_providers": None}
    if d.get("Providers") is None and pj.text(d.get("Text")):
        return {"vss_providers": parse_vssadmin(d["Text"])}
    if "Providers" not in d:
        return {"vss_providers": None}
    out = []
    for p in pj.as_list(d.get("Providers")):
        p = pj.obj(p) or {}
        gid = pj.guid(p.get("ID"))
        if gid:
            name = pj.text(p.get("Name"))
            out.append(
                {
                    "id": gid,
                    "name": name,
                    "type": pj.enum(p.get("Type"), VSS_TYPE, {"fileshare": "unknown"}, "unknown"),
                    "vendor": _vendor(name),
                    "version": pj.text(p.get("Version")),
                }
            )
    return {"vss_providers": out}


def _vendor(name: str | None) -> str | None:
    if not name:
        return None
    m = re.match(r"^(.*?)\s+(VSS|Software Shadow|Hardware|Shadow)\b", name, re.I)
    return m.group(1).strip() if m and m.group(1).strip() else None


def parse_services(doc: Any) -> dict[str, Any]:
    """services.ps1 -> host ``veeam_services`` (empty output: none installed)."""
    out = []
    for s in pj.as_list(doc):
        s = pj.obj(s) or {}
        name = pj.text(s.get("Name"))
        if name:
            out.append(
                {
                    "name": name,
                    "display_name": pj.text(s.get("DisplayName")),
                    "status": pj.enum(s.get("Status"), SERVICE_STATUS, default="unknown") or "unknown",
                    "start_type": pj.enum(s.get("StartType"), START_TYPE, START_NAMES),
                }
            )
    return {"veeam_services": out}


def parse_smb_client(doc: Any) -> dict[str, Any]:
    """smb_client.ps1 -> host ``smb_connections``."""
    out = []
    for c in pj.as_list(doc):
        c = pj.obj(c) or {}
        server, share = pj.netbios(c.get("ServerName")), pj.text(c.get("ShareName"))
        if server and share:
            out.append({"server": server, "share": share, "dialect": pj.text(c.get("Dialect"))})
    return {"smb_connections": out}
