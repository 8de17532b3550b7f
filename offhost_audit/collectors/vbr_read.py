"""The backup server's estate over REST (VBR 13, API 1.3): :func:`read_rest` -> :class:`VbrEstate`.

What is read (Backup Viewer rights are enough for all but the two marked):

* ``GET /api/v1/serverInfo`` (more than Viewer): the VBR build and the server's name;
* ``backupInfrastructure/proxies?typeFilter=HvProxy`` and ``proxies/states``: the off-host proxies,
  their max tasks and whether each is disabled, offline or out of date;
* ``backupInfrastructure/managedServers`` (Hyper-V hosts and clusters, SMB3 servers, nested hosts):
  the clusters with their nodes, the Hyper-V hosts, the file servers;
* ``managedServers/{id}/volumes`` per standalone Hyper-V host (Administrator): the VSS provider VBR
  uses and whether it fails over to the software provider; refused (403), that fact is unknown;
  cluster nodes have no such call (their VSS settings stay unknown over REST);
* ``jobs?typeFilter=HyperVBackup``: processing mode, proxy selection, failover, the sources.

Requests grow with pages, plus one per standalone Hyper-V host for its volume settings (the API has
no list call for them). Server text is untrusted: items without the fields needed are counted in
``unknown``, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from offhost_audit.collectors.vbr_rest import RestError, VbrRestClient, same
from offhost_audit.names import norm_name
from offhost_audit.text import redact_url
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

MANAGED_TYPES = ("HvServer", "HvCluster", "SmbV3Cluster", "SmbV3StandaloneHost")
VOLUMES_REFUSED = (
    "the VSS provider and its failover per Hyper-V host: GET managedServers/{id}/volumes needs the "
    "Backup Administrator role (HTTP 403)"
)
CLUSTER_NODES_VSS = (
    "the VSS provider and its failover of cluster nodes over REST: the REST API has volume settings for "
    "standalone hosts only (the Veeam PowerShell module reads them, over WinRM)"
)


def read_rest(client: VbrRestClient) -> VbrEstate:
    """Read the estate over REST (RestError, AuthenticationError, TargetUnreachableError as the client raises)."""
    est = VbrEstate(server=client.target.name, endpoint=redact_url(client.base_url), via="rest")
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
    proxies = _records(est, "proxies", client.pages("backupInfrastructure/proxies", hv), ("id", "name"))
    states = _records(est, "proxy states", client.pages("backupInfrastructure/proxies/states", hv), ("id",))
    by_state = {s["id"]: s for s in states}
    est.proxies = [_proxy(p, by_state.get(p["id"])) for p in proxies]
    params = [("typeFilter", t) for t in MANAGED_TYPES] + [("includeNestedHosts", "true")]
    servers = _records(
        est, "managed servers", client.pages("backupInfrastructure/managedServers", params), ("id", "name", "type")
    )
    _servers(est, servers)
    refused = False
    for s in servers:
        if refused or not same(s.get("type"), "HvServer") or isinstance(s.get("parentHostName"), str):
            continue  # after one 403 the others would say the same
        host = next(h for h in est.hosts or [] if h.name == s["name"].strip())
        try:
            _volumes(
                host,
                client.get(
                    f"backupInfrastructure/managedServers/{quote(s['id'], safe='')}/volumes",
                    what="read volume settings",
                ),
            )
        except RestError as e:
            refused = e.status == 403
            est.unknown.append(VOLUMES_REFUSED if refused else f"the VSS provider and its failover of {s['name']}: {e}")
    if any(h.cluster for h in est.hosts or []):
        est.unknown.append(CLUSTER_NODES_VSS)
    jobs = _records(est, "jobs", client.pages("jobs", [("typeFilter", "HyperVBackup")]), ("name",))
    names = {p.id: norm_name(p.host) for p in est.proxies}
    est.jobs = [_job(est, j, names) for j in jobs]
    return est


def _records(est: VbrEstate, what: str, items: Iterable[Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """The items that are objects with a non-empty string for each key; the others are counted, not guessed."""
    every = list(items)
    good = [i for i in every if isinstance(i, dict) and all(isinstance(i.get(k), str) and i[k].strip() for k in keys)]
    if len(good) < len(every):
        est.unknown.append(f"{len(every) - len(good)} of {len(every)} {what} without {', '.join(keys)}: left out")
    return good


def _obj(value: Any) -> dict[str, Any]:
    """The server's answer is untrusted: a part that should be an object and is not counts as empty."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _proxy(p: dict[str, Any], state: dict[str, Any] | None) -> VbrProxy:
    server = _obj(p.get("server"))
    host = server.get("hostName")
    mt = server.get("maxTaskCount")
    st = state or {}
    return VbrProxy(
        name=p["name"].strip(),
        host=host.strip() if isinstance(host, str) and host.strip() else p["name"].strip(),
        id=p["id"],
        max_tasks=mt if isinstance(mt, int) and not isinstance(mt, bool) and mt >= 0 else None,
        disabled=_bool(st.get("isDisabled")),
        online=_bool(st.get("isOnline")),
        out_of_date=_bool(st.get("isOutOfDate")),
    )


def _available(s: dict[str, Any]) -> bool | None:
    status = s.get("status")
    return True if same(status, "Available") else False if same(status, "Unavailable") else None


def _servers(est: VbrEstate, servers: list[dict[str, Any]]) -> None:
    clusters: dict[str, VbrCluster] = {}
    hosts: list[VbrHost] = []
    est.file_servers = []
    for s in servers:
        name = s["name"].strip()
        if same(s.get("type"), "HvCluster"):
            children = [
                ch["hvServerName"].strip()
                for ch in _list(s.get("childServers"))
                if isinstance(_obj(ch).get("hvServerName"), str) and ch["hvServerName"].strip()
            ]
            clusters[norm_name(name)] = VbrCluster(name, children, _available(s))
        elif same(s.get("type"), "HvServer"):
            parent = s.get("parentHostName")
            cluster = parent.strip() if isinstance(parent, str) and parent.strip() else None
            hosts.append(VbrHost(name, cluster, _available(s)))
        elif same(s.get("type"), "SmbV3StandaloneHost") or same(s.get("type"), "SmbV3Cluster"):
            est.file_servers.append(VbrFileServer(name, cluster=same(s.get("type"), "SmbV3Cluster")))
    for h in hosts:  # the nested hosts are the nodes (childServers is the fallback when they were not listed)
        c = clusters.get(norm_name(h.cluster)) if h.cluster else None
        if c is not None:
            if h.name not in c.nodes and norm_name(h.name) not in {norm_name(n) for n in c.nodes}:
                c.nodes.append(h.name)
            h.cluster = c.name
    for c in clusters.values():
        listed = {norm_name(h.name) for h in hosts}
        hosts += [VbrHost(n, c.name) for n in c.nodes if norm_name(n) not in listed]
    est.clusters, est.hosts = list(clusters.values()), hosts


def _volumes(host: VbrHost, answer: dict[str, Any]) -> None:
    names: list[str] = []
    kinds: list[VssKind | None] = []
    for v in _list(answer.get("volumes")):
        provider = _obj(_obj(v).get("volumeSettings")).get("VSSprovider")
        text = provider if isinstance(provider, str) else None
        names.append(text or "")
        kinds.append(vss_kind(text))
    host.vss_provider_names = sorted({n for n in names if n})
    host.vss_provider = host_vss(kinds)
    host.failover_to_software = _bool(answer.get("failoverToVSSProvider"))


def _job(est: VbrEstate, j: dict[str, Any], proxy_names: dict[str | None, str]) -> dict[str, Any]:
    name = j["name"]
    bp = _obj(_obj(j.get("storage")).get("backupProxies"))
    kind = bp.get("proxyType")
    mode = "off_host" if same(kind, "OffHost") else "on_host" if same(kind, "OnHost") else None
    job: dict[str, Any] = {
        "name": name,
        "id": j["id"] if isinstance(j.get("id"), str) else None,
        "enabled": None if not isinstance(j.get("isDisabled"), bool) else not j["isDisabled"],
        "mode": mode,
        "proxies": None,
        "failover_to_on_host": None,
    }
    if mode == "off_host":
        off = _obj(bp.get("offHostSettings"))
        auto = _bool(off.get("autoSelectEnabled"))
        ids = [p for p in _list(off.get("proxyIds")) if isinstance(p, str)]
        unknown_ids = [p for p in ids if p not in proxy_names]
        if unknown_ids:  # kept by id: OHP-041 then says it is no off-host proxy on the server
            est.notes.append(f"job {name!r}: lists {len(unknown_ids)} proxy ID(s) not among the Hyper-V proxies")
        job["proxies"] = {"automatic": auto, "names": None if auto else [proxy_names.get(p, p) for p in ids]}
        job["failover_to_on_host"] = _bool(off.get("failoverToOnHostBackup"))
    sources = []
    for inc in _list(_obj(j.get("virtualMachines")).get("includes")):
        inc = _obj(inc)
        src = source_of(inc.get("type"), inc.get("name"), inc.get("hostName"))
        if src is None:
            est.notes.append(
                f"job {name!r}: source {inc.get('name') or '?'} of type {inc.get('type')} not resolved to a VM, host or cluster"
            )
        else:
            sources.append(src)
    job["sources"] = sources
    return job
