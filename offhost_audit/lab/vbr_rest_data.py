"""What the lab's backup server answers over REST (and, through ``lab/render.py``, over PowerShell): a
scenario's ``backup_server`` section as VBR 13 objects.

The scenario keys read here (all optional, additive to the section the WinRM lab reads):

* ``proxies[]``: ``name``, ``max_tasks``, ``disabled``, and for REST ``online`` (default true) and
  ``out_of_date`` (default false);
* ``managed_servers[]``: ``{name, type}`` (HvServer, HvCluster); the file servers of the scenario
  (hosts with the ``file_server`` role) are added as SmbV3StandaloneHost; a cluster's nodes come
  from the scenario's hosts;
* ``jobs[]``: ``name``, ``enabled`` (true), ``mode`` (``off_host`` | ``on_host``), ``auto`` (automatic
  proxy selection, default true when no ``proxies`` are listed), ``proxies`` (names), ``failover``
  (fail over to on-host, default true) and ``sources``: ``{cluster|host|vm: NAME}``. Without
  ``jobs``, one fixed-list job per proxy host that ``serves`` something, covering what it serves;
* ``volumes``: ``{HOST: {provider: NAME, failover: bool}}`` (default: the host's hardware VSS
  provider, failover on); REST gives them for standalone hosts, PowerShell for every Hyper-V host;
* ``powershell_absent``: property paths or cmdlets the lab's Veeam module lacks (``backup_server.ps1``
  answers null for them and lists them in ``Missing``; see ``lab/render.py``);
* ``rest``: ``role`` (``administrator`` | ``viewer``), ``token_expiry_s`` (900), ``max_page`` (the
  largest ``limit`` the server honours, 1000), ``api_versions`` (``[1.3-rev0, 1.3-rev1]``),
  ``latency_s`` (a pause before each answer, 0).

Every object carries the fields the OpenAPI subset requires (tests validate every answer).
"""

from __future__ import annotations

import uuid
from typing import Any

from offhost_audit.names import norm_name

REST_DEFAULTS: dict[str, Any] = {
    "role": "administrator",
    "token_expiry_s": 900,
    "max_page": 1000,
    "api_versions": ["1.3-rev0", "1.3-rev1"],
}


def object_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"offhost-lab/vbr/{kind}/{name}"))


_CREDS = object_id("credentials", "lab")


def _server(name: str, kind: str, status: str = "Available", **extra: Any) -> dict[str, Any]:
    return {"id": object_id("server", name), "name": name, "description": "", "type": kind, "status": status, **extra}


def managed_servers(sc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every managed server, cluster nodes included (with their parent); filtered per request."""
    bs = sc["backup_server"]
    hosts = {h["name"]: h for h in sc["hosts"]}
    out: list[dict[str, Any]] = []
    listed: set[str] = set()
    for m in bs.get("managed_servers") or []:
        name, kind = norm_name(m["name"]), m.get("type", "HvServer")
        listed.add(name)
        status = "Unavailable" if m.get("unavailable") else "Available"
        if kind == "HvCluster":
            nodes = (sc["clusters"].get(name) or {}).get("nodes") or []
            cid = object_id("server", name)
            children = [{"hvServerName": n, "hvServerId": object_id("server", n)} for n in nodes]
            out.append(_server(name, kind, status, credentialsId=_CREDS, childServers=children))
            for n in nodes:
                listed.add(n)
                out.append(
                    _server(
                        n,
                        "HvServer",
                        credentialsStorageType="Permanent",
                        credentialsId=_CREDS,
                        maxTaskCount=int(hosts.get(n, {}).get("host_max_tasks", 4)),
                        parentHostId=cid,
                        parentHostName=name,
                    )
                )
        elif kind == "HvServer":
            out.append(
                _server(
                    name,
                    kind,
                    status,
                    credentialsStorageType="Permanent",
                    credentialsId=_CREDS,
                    maxTaskCount=int(hosts.get(name, {}).get("host_max_tasks", 4)),
                )
            )
        else:
            out.append(_server(name, kind, status, credentialsId=_CREDS))
    for h in sc["hosts"]:
        if "file_server" in h["roles"] and h["name"] not in listed:
            listed.add(h["name"])
            out.append(_server(h["name"], "SmbV3StandaloneHost", credentialsId=_CREDS))
    for p in bs.get("proxies") or []:  # a proxy's own server, when it is no Hyper-V host
        name = norm_name(p["name"])
        if name not in listed:
            listed.add(name)
            out.append(_server(name, "WindowsHost", credentialsStorageType="Permanent", credentialsId=_CREDS))
    return out


def proxies(sc: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(proxies, their states), in the same order."""
    items, states = [], []
    for p in sc["backup_server"].get("proxies") or []:
        name = norm_name(p["name"])
        pid, hid = object_id("proxy", name), object_id("server", name)
        common = {"id": pid, "name": name, "description": "", "type": "HvProxy"}
        items.append(
            {**common, "server": {"hostId": hid, "hostName": name, "maxTaskCount": int(p.get("max_tasks", 4))}}
        )
        states.append(
            {
                **common,
                "hostId": hid,
                "hostName": name,
                "isDisabled": bool(p.get("disabled")),
                "isOnline": bool(p.get("online", True)),
                "isOutOfDate": bool(p.get("out_of_date")),
            }
        )
    return items, states


def _default_jobs(sc: dict[str, Any]) -> list[dict[str, Any]]:
    jobs = []
    for h in sc["hosts"]:
        if "proxy" in h["roles"] and h.get("serves"):
            jobs.append(
                {"name": f"Backup via {h['name']}", "auto": False, "proxies": [h["name"]], "sources": h["serves"]}
            )
    return jobs


def _include(sc: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    ((kind, raw),) = source.items()
    name = str(raw)
    if kind == "vm":
        host = next((h["name"] for h in sc["hosts"] for vm in h["vms"] if vm["name"] == name), "")
        vm_id = next((vm["id"] for h in sc["hosts"] for vm in h["vms"] if vm["name"] == name), object_id("vm", name))
        return _hv_object(name, "VirtualMachine", host, vm_id)
    name = norm_name(name)
    return _hv_object(name, "Cluster" if kind == "cluster" else "Host", name, object_id("server", name))


def _hv_object(name: str, kind: str, host: str, oid: str) -> dict[str, Any]:
    return {"platform": "HyperV", "name": name, "type": kind, "hostName": host, "objectId": oid, "urn": f"HyperV:{oid}"}


def jobs(sc: dict[str, Any]) -> list[dict[str, Any]]:
    bs = sc["backup_server"]
    out = []
    for j in bs.get("jobs") if bs.get("jobs") is not None else _default_jobs(sc):
        listed = [norm_name(p) for p in j.get("proxies") or []]
        off_host = j.get("mode", "off_host") == "off_host"
        proxies_model: dict[str, Any] = {"proxyType": "OffHost" if off_host else "OnHost"}
        if off_host:
            proxies_model["offHostSettings"] = {
                "autoSelectEnabled": bool(j.get("auto", not listed)),
                "failoverToOnHostBackup": bool(j.get("failover", True)),
                "proxyIds": [object_id("proxy", p) for p in listed],
            }
        out.append(
            {
                "id": object_id("job", j["name"]),
                "name": j["name"],
                "type": "HyperVBackup",
                "isDisabled": not j.get("enabled", True),
                "description": "",
                "isHighPriority": False,
                "virtualMachines": {"includes": [_include(sc, s) for s in j.get("sources") or []]},
                "storage": {
                    "backupRepositoryId": object_id("repository", "default"),
                    "backupProxies": proxies_model,
                    "retentionPolicy": {"type": "RestorePoints", "quantity": 7},
                },
                "guestProcessing": {
                    "appAwareProcessing": {"isEnabled": False},
                    "guestFSIndexing": {"isEnabled": False},
                },
                "schedule": {"runAutomatically": False},
            }
        )
    return out


def volume_settings(sc: dict[str, Any], server_name: str) -> tuple[str, bool] | None:
    """A Hyper-V host's VSS provider (its name) and failover to the software provider; None: no such host."""
    host = next((h for h in sc["hosts"] if h["name"] == server_name), None)
    if host is None or "hyperv_host" not in host["roles"]:
        return None
    given = (sc["backup_server"].get("volumes") or {}).get(server_name) or {}
    hardware = [v["name"] for v in host["vss"] if v.get("type") == 3]
    provider = given.get("provider") or (hardware[0] if hardware else "Microsoft Software Shadow Copy provider 1.0")
    return provider, bool(given.get("failover", True))


def volumes(sc: dict[str, Any], server_name: str) -> dict[str, Any] | None:
    """The volume settings REST gives: a standalone Hyper-V host's only (None: not one)."""
    host = next((h for h in sc["hosts"] if h["name"] == server_name), None)
    settings = volume_settings(sc, server_name)
    if host is None or host["cluster"] or settings is None:
        return None
    provider, failover = settings
    volume = {"platform": "HyperV", "name": "C:\\", "type": "Volume", "hostName": server_name, "objectId": "C"}
    return {
        "volumes": [{"volume": volume, "volumeSettings": {"VSSprovider": provider, "maxSnapshots": 4}}],
        "changedBlockTracking": True,
        "failoverToVSSProvider": failover,
    }


def server_info(sc: dict[str, Any]) -> dict[str, Any]:
    bs = sc["backup_server"]
    return {
        "vbrId": object_id("vbr", bs["name"]),
        "name": bs["name"],
        "buildVersion": bs["version"],
        "patches": [],
        "databaseVendor": "PostgreSQL",
        "sqlServerEdition": "",
        "sqlServerVersion": "15.0",
        "databaseSchemaVersion": "1",
        "databaseContentVersion": "1",
        "veeamRegistration": {"isRegistered": False},
        "platform": "Windows",
    }
