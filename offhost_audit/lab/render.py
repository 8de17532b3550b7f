"""What Windows PowerShell 5.1 prints for each shipped collector script, rendered from a scenario host.

Shapes follow PS 5.1 ``ConvertTo-Json -Compress``: enums are integers, dates ``\\/Date(ms)\\/``,
``<>&'`` escaped as ``\\u003c``..., a pipeline of one object prints an object, of several an array, of
none nothing at all; ``@(...)`` properties are always arrays.
"""

from __future__ import annotations

import json
import re
from typing import Any

from offhost_audit.collector_specs import BY_SCRIPT
from offhost_audit.lab.scenario import VEEAM_SERVICES
from offhost_audit.names import norm_name

GB = 1024**3
_BUS = {"fc": 6, "iscsi": 9, "sas": 10, "sata": 11, "nvme": 17, "raid": 8, "virtual": 14, "spaces": 16, "usb": 7}
_PORT = {"fc": 1, "iscsi": 2, "sas": 3}
_SERVICE_STATUS = {"stopped": 1, "start_pending": 2, "stop_pending": 3, "running": 4, "paused": 7}
_FEATURES = {
    "Hyper-V": "hyperv",
    "FS-Data-Deduplication": "dedup",
    "Failover-Clustering": "failover_clustering",
    "Multipath-IO": "mpio",
}
BOOT_MS = 1764000000000  # a fixed LastBootUpTime keeps renders deterministic


def ps_json(value: Any) -> str:
    """``ConvertTo-Json -Compress`` as Windows PowerShell 5.1 writes it (``None`` -> empty output)."""
    if value is None:
        return ""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(ch, esc)
    return re.sub(r'"/Date\((-?\d+)\)/"', r'"\\/Date(\1)\\/"', text)


def pipeline(items: list[Any]) -> Any:
    """A pipeline into ConvertTo-Json: nothing, one object, or an array."""
    return None if not items else items[0] if len(items) == 1 else items


def system(host: dict[str, Any], sc: dict[str, Any], args: dict[str, Any]) -> Any:
    os_, hw, dom = (
        host["os"],
        host["hardware"],
        {**sc["domain"], **(host.get("domain") or {})},
    )  # a host may be elsewhere
    names = args.get("FeatureNames") or ["Hyper-V", "FS-Data-Deduplication", "Failover-Clustering"]
    names = [names] if isinstance(names, str) else names
    return {
        "OS": {
            "Caption": os_["caption"],
            "Version": os_["version"],
            "BuildNumber": str(os_["build"]),
            "ProductType": os_["product_type"],
            "OSArchitecture": os_["architecture"],
            "OperatingSystemSKU": os_["sku"],
            "LastBootUpTime": f"/Date({BOOT_MS})/",
        },
        "Registry": {
            "InstallationType": os_["installation_type"],
            "EditionID": os_["edition"],
            "CurrentBuildNumber": str(os_["build"]),
            "UBR": os_["ubr"],
        },
        "ComputerSystem": {
            "Name": host.get("computer_name") or host["name"],
            "DNSHostName": (host.get("computer_name") or host["name"]).lower(),
            "Domain": dom["dns"],
            "PartOfDomain": True,
            "DomainRole": 3,
            "Manufacturer": hw["manufacturer"],
            "Model": hw["model"],
            "HypervisorPresent": "hyperv" in host["features"] or bool(host.get("virtual")),
            "NumberOfLogicalProcessors": hw["logical"],
            "TotalPhysicalMemory": int(hw["memory_gb"] * GB) - 4 * 1024**2,
        },
        "Cores": hw["cores"],
        "SystemDrive": {"DeviceID": "C:", "FreeSpace": int(hw["free_gb"] * GB), "Size": 500 * GB},
        "NetbiosDomain": dom["netbios"],
        "Features": [
            {
                "Name": n,
                "Installed": _FEATURES.get(n) in host["features"],
                "InstallState": 1 if _FEATURES.get(n) in host["features"] else 0,
            }
            for n in names
        ],
        "NetAdapters": [
            {
                "Name": n["name"],
                "Status": "Up" if n.get("up", True) else "Disconnected",
                "Speed": int(n.get("speed_gbps", 1) * 1_000_000_000),
            }
            for n in hw["nics"]
        ],
    }


def _cluster_luns(sc: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    return [csv for n in names for csv in sc["clusters"].get(norm_name(n), {}).get("csvs", [])]


def storage(host: dict[str, Any], sc: dict[str, Any], args: dict[str, Any]) -> Any:
    disks = [
        {
            "Number": 0,
            "UniqueId": f"6{host['name'].encode().hex()[:31]:0<31}",
            "SerialNumber": f"BOOT-{host['name']}",
            "FriendlyName": "DELL PERC H755",
            "BusType": 8,
            "IsOffline": False,
            "IsReadOnly": False,
            "IsClustered": False,
            "Size": 480 * GB,
        }
    ]
    san = host["san"]
    own = _cluster_luns(sc, [host["cluster"]]) if host["cluster"] else []
    seen = _cluster_luns(sc, san.get("luns_of") or [])
    for i, csv in enumerate(own + [c for c in seen if c not in own]):
        clustered = csv in own
        disks.append(
            {
                "Number": i + 1,
                "UniqueId": csv["lun"].upper(),
                "SerialNumber": csv["lun"][-12:].upper(),
                "FriendlyName": "PURE FlashArray",
                "BusType": _BUS.get(san.get("bus", "fc"), csv["bus"]),
                "IsOffline": False if clustered else san.get("offline", True),
                "IsReadOnly": False,
                "IsClustered": clustered,
                "Size": int(csv["size_gb"] * GB),
            }
        )
    bus = san.get("bus", "fc") if (own or seen) else None
    ports = []
    if bus in ("fc", "sas"):
        ports = [
            {
                "NodeAddress": "20000024ff" + host["name"].encode().hex()[:6],
                "PortAddress": san.get("wwpn") or "21000024ff" + host["name"].encode().hex()[:6],
                "ConnectionType": _PORT[bus],
            }
        ]
    iscsi = []
    if bus == "iscsi":
        ports = [
            {
                "NodeAddress": f"iqn.1991-05.com.microsoft:{host['name'].lower()}.{sc['domain']['dns']}",
                "PortAddress": "ISCSI ANY PORT",
                "ConnectionType": 2,
            }
        ]
        iscsi = [{"TargetNodeAddress": "iqn.2010-06.com.purestorage:flasharray.lab", "IsConnected": True}]
    return {"Disks": disks, "InitiatorPorts": ports, "IscsiSessions": iscsi, "NewDiskPolicy": host["san_policy"]}


def cluster(host: dict[str, Any], sc: dict[str, Any], args: dict[str, Any]) -> Any:
    if not host["cluster"]:
        return {"Member": False, "ClusterService": "failover_clustering" in host["features"]}
    c = sc["clusters"][host["cluster"]]
    csvs, dedup = [], []
    for v in c["csvs"]:
        owner = v["owner"] or c["nodes"][0]
        volume = f"\\\\?\\Volume{{{v['volume_guid']}}}\\"
        csvs.append(
            {
                "Name": v["name"],
                "State": v["state"],
                "OwnerNode": owner,
                "Path": v["path"],
                "VolumeName": volume,
                "DiskUniqueId": v["lun"].upper() if owner == host["name"] else None,
            }
        )
        if owner == host["name"] and v["dedup"]:
            dedup.append({"Volume": v["path"], "VolumeId": volume, "Enabled": True})
    out = {
        "Member": True,
        "ClusterService": True,
        "Name": c["name"],
        "Self": host["name"],
        "Nodes": [{"Name": n, "State": 0, "Id": str(i + 1)} for i, n in enumerate(c["nodes"])],
        "Csvs": csvs,
        "Dedup": dedup if "dedup" in host["features"] else None,
    }
    if c.get("s2d") is not None:  # a scenario's `s2d: true|false` on a cluster; absent: an older Windows
        out["S2DEnabled"] = int(bool(c["s2d"]))
    return out


def vss(host: dict[str, Any], sc: dict[str, Any], args: dict[str, Any]) -> Any:
    if host["vss_via"] != "cim":
        return {"Source": "vssadmin", "Providers": None, "Text": vssadmin_text(host["vss"], host["vss_via"])}
    return {
        "Source": "cim",
        "Text": None,
        "Providers": [
            {
                "ID": "{%s}" % p["id"],
                "Name": p["name"],
                "CLSID": "{%s}" % _clsid(p["id"]),
                "Type": p["type"],
                "Version": p.get("version"),
                "VersionID": "{%s}" % _clsid(p["id"] + "v"),
            }
            for p in host["vss"]
        ],
    }


def _clsid(seed: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_OID, seed))


_VSSADMIN = {
    "en": (
        "vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool\r\n(C) Copyright 2001-2013 Microsoft Corp.",
        "Provider name",
        "Provider type",
        "Provider Id",
        "Version",
        {1: "System", 2: "Software", 3: "Hardware", 4: "Fileshare"},
        "'",
    ),
    "de": (
        "vssadmin 1.1 - Verwaltungsbefehlszeilenprogramm des Volumeschattenkopie-Dienstes\r\n(C) Copyright 2001-2013 Microsoft Corp.",
        "Anbietername",
        "Anbietertyp",
        "Anbieterkennung",
        "Version",
        {1: "System", 2: "Software", 3: "Hardware", 4: "Dateifreigabe"},
        '"',
    ),
}


def vssadmin_text(providers: list[dict[str, Any]], lang: str) -> str:
    head, name, typ, pid, ver, types, q = _VSSADMIN.get(lang, _VSSADMIN["en"])
    blocks = [
        f"{name}: {q}{p['name']}{q}\r\n   {typ}: {types.get(p['type'], 'Unknown')}\r\n   {pid}: {{{p['id']}}}\r\n"
        f"   {ver}: {p.get('version') or '1.0'}\r\n"
        for p in providers
    ]
    return head + "\r\n\r\n" + "\r\n".join(blocks)


def hyperv(host: dict[str, Any], sc: dict[str, Any], args: dict[str, Any]) -> Any:
    if "hyperv" not in host["features"]:
        return {"HyperVModule": False, "VMs": None, "Disks": None}
    vms = [{"Name": vm["name"], "Id": vm["id"], "State": 2, "IsClustered": bool(host["cluster"])} for vm in host["vms"]]
    disks = [
        {
            "VMName": vm["name"],
            "VMId": vm["id"],
            "ComputerName": host["name"],
            "Path": path,
            "ControllerType": 1,
            "SupportPersistentReservations": path.lower().endswith(".vhds"),
        }
        for vm in host["vms"]
        for path in vm["disks"]
    ]
    return {"HyperVModule": True, "VMs": vms, "Disks": disks}


def services(host: dict[str, Any], sc: dict[str, Any], args: dict[str, Any]) -> Any:
    names = args.get("Names") or list(VEEAM_SERVICES)
    names = [names] if isinstance(names, str) else names
    found = [
        {
            "Name": n,
            "DisplayName": VEEAM_SERVICES.get(n, n),
            "Status": _SERVICE_STATUS[host["services"][n]],
            "StartType": 2 if host["services"][n] == "running" else 3,
        }
        for n in names
        if n in host["services"]
    ]
    return pipeline(found)


def smb_client(host: dict[str, Any], sc: dict[str, Any], args: dict[str, Any]) -> Any:
    return pipeline(
        [
            {"ServerName": c["server"], "ShareName": c["share"], "Dialect": str(c.get("dialect", "3.1.1"))}
            for c in host["smb_connections"]
        ]
    )


_PS_SERVER_TYPE = {
    "HvServer": "HvServer",
    "HvCluster": "HvCluster",
    "SmbV3StandaloneHost": "SmbServer",
    "SmbV3Cluster": "SmbCluster",
}
_PS_OBJECT_TYPE = {"VirtualMachine": "Vm", "Host": "Host", "Cluster": "Cluster"}
# backup_server.ps1's property paths and cmdlets -> (section, field) of its answer that they fill: a
# scenario's ``backup_server.powershell_absent`` drops them, as an older Veeam module would.
PS_FIELDS = {
    "Host.IsUnavailable": ("Proxies", "Unavailable"),
    "MaxTasksCount": ("Proxies", "MaxTasks"),
    "IsDisabled": ("Proxies", "Disabled"),
    "IsOutOfDate": ("Proxies", "OutOfDate"),
    "ParentId": ("Servers", "ParentId"),
    "VssProvider.Name": ("Volumes", "Provider"),
    "FailoverToSoftwareProvider": ("Volumes", "Failover"),
    "IsScheduleEnabled": ("Jobs", "Enabled"),
    "HvSourceOptions.OffHostBackup": ("Jobs", "OffHost"),
    "HvSourceOptions.FailoverToOnHostBackup": ("Jobs", "Failover"),
    "Options.JobOptions.SourceProxyAutoDetect": ("Jobs", "AutoProxy"),
    "Get-VBRJobProxy": ("Jobs", "Proxies"),
    "Get-VBRJobObject": ("Jobs", "Objects"),
}


def backup_server(host: dict[str, Any], sc: dict[str, Any], args: dict[str, Any]) -> Any:
    """backup_server.ps1 from the scenario keys the REST lab reads (``lab/vbr_rest_data.py``): the same
    estate over both paths; cluster nodes' VSS settings too (PowerShell has them, REST does not).
    A scenario without ``jobs`` gets no jobs and (without ``volumes``) no volume settings over
    PowerShell: its runs judge no jobs, as before the backup server's jobs were read (REST still
    derives one job per proxy from ``serves`` for discovery)."""
    from offhost_audit.lab import vbr_rest_data as data

    bs = sc.get("backup_server") or {}
    if not bs.get("veeam_module"):
        return {"Module": "absent"}
    absent = list(bs.get("powershell_absent") or [])
    servers = [
        {
            "Name": s["name"],
            "Type": _PS_SERVER_TYPE[s["type"]],
            "Id": s["id"],
            "ParentId": s.get("parentHostId"),
        }
        for s in data.managed_servers(sc)
        if s["type"] in _PS_SERVER_TYPE
    ]
    proxies, states = data.proxies(sc)
    ps_proxies = [
        {
            "Name": p["name"],
            "Host": p["server"]["hostName"],
            "MaxTasks": p["server"]["maxTaskCount"],
            "Disabled": st["isDisabled"],
            "Unavailable": not st["isOnline"],
            "OutOfDate": st["isOutOfDate"],
        }
        for p, st in zip(proxies, states)
    ]
    hosts = []
    for s in servers:
        settings = data.volume_settings(sc, s["Name"]) if s["Type"] == "HvServer" else None
        if settings:
            provider, failover = settings
            volume = {"Provider": provider, "Failover": failover}
            hosts.append({"Name": s["Name"], "Volumes": [volume]})
    names = {p["id"]: p["server"]["hostName"] for p in proxies}
    jobs = []
    for j in data.jobs(sc):
        bp = j["storage"]["backupProxies"]
        off = bp.get("offHostSettings") or {}
        jobs.append(
            {
                "Name": j["name"],
                "Enabled": not j["isDisabled"],
                "OffHost": bp["proxyType"] == "OffHost",
                "Failover": off.get("failoverToOnHostBackup", True),
                "AutoProxy": off.get("autoSelectEnabled", True),
                "Proxies": [names.get(i, i) for i in off.get("proxyIds") or []],
                "Objects": [
                    {"Name": o["name"], "Kind": _PS_OBJECT_TYPE[o["type"]], "Host": o["hostName"], "Excluded": False}
                    for o in j["virtualMachines"]["includes"]
                ],
            }
        )
    sections: dict[str, list[dict[str, Any]]] = {
        "Servers": servers,
        "Proxies": ps_proxies,
        "Volumes": [v for h in hosts for v in h["Volumes"]],
        "Jobs": jobs,
    }
    for path in absent:
        section, key = PS_FIELDS[path]
        for item in sections[section]:
            item[key] = None
    modelled = bs.get("jobs") is not None  # the shipped scenarios that predate jobs: none read, as before
    return {
        "Module": "present",
        "Server": host["name"],
        "Version": bs["version"],
        "Servers": servers,
        "Proxies": ps_proxies,
        "Hosts": hosts if modelled or bs.get("volumes") else [],
        "Jobs": jobs if modelled else None,
        "Missing": absent,
        "Errors": [],
    }


# What the lab answers for each WinRM collector's script, by collector id (offhost_audit.collector_specs).
RENDERERS = {
    "winrm.system": system,
    "winrm.storage": storage,
    "winrm.cluster": cluster,
    "winrm.vss": vss,
    "winrm.hyperv": hyperv,
    "winrm.services": services,
    "winrm.smb_client": smb_client,
    "winrm.backup_server": backup_server,
}


def renderer(script: str) -> Any:
    """The renderer of a shipped script (KeyError for a script no collector declares)."""
    return RENDERERS[BY_SCRIPT[script].id]
