"""Reviewable fixes for a stored run: which shipped script changes what on which machine, and
what stays a manual step.

Nothing here runs anything. :func:`plan` reads a run's facts and failing findings and returns,
per machine, the steps a shipped script takes (their values as a data document the script reads:
values never become script text) and the manual steps, each with the check to run afterwards.
The scripts are fixed files under ``fixes/ps/`` (package data, like the collectors' scripts), one
per kind of fix; ``schema/fix-data.schema.json`` is the data document's contract.

Rule -> kinds of fix, the one table (each fix folder's README.md prints it; the project README
sums it up): :data:`RULE_FIXES`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from offhost_audit.names import norm_name, unc_key
from offhost_audit.resources import schema_dir

DATA_FORMAT = "offhost-audit-fix-data/1"
SCHEMA_FILE = "fix-data.schema.json"

# kind -> (the shipped script, where it runs, what it changes)
KINDS: dict[str, tuple[str, str, str]] = {
    "nested_virtualization": (
        "Enable-NestedVirtualization.ps1",
        "the Hyper-V host that runs the proxy VM",
        "exposes virtualization extensions to the proxy VM (the VM must be off)",
    ),
    "windows_feature": (
        "Install-ProxyFeature.ps1",
        "the proxy",
        "installs a Windows feature (Hyper-V, Data Deduplication)",
    ),
    "veeam_services": (
        "Start-VeeamServices.ps1",
        "the proxy",
        "sets the Veeam services to start automatically and starts them",
    ),
    "san_policy": ("Set-SanPolicy.ps1", "the proxy", "sets the SAN policy to OfflineShared"),
    "iscsi_session": ("Connect-IscsiSession.ps1", "the proxy", "reconnects a known iSCSI target, persistently"),
    "share_read": (
        "Grant-ShareRead.ps1",
        "the file server",
        "adds read for the proxy's computer account on the share and on the share's folder (NTFS)",
    ),
    "vbr_proxy_enable": (
        "Enable-VbrProxy.ps1",
        "the backup server (Windows)",
        "enables a disabled Hyper-V off-host proxy in VBR",
    ),
    "vbr_job_proxies": (
        "Set-VbrJobProxies.ps1",
        "the backup server (Windows)",
        "removes proxies VBR cannot use from a job's proxy list",
    ),
}
SCRIPTS = tuple(sorted({s for s, _, _ in KINDS.values()}))

# rule -> (kinds a script does, what stays manual) : the one table
RULE_FIXES: dict[str, tuple[tuple[str, ...], str]] = {
    "OHP-001": ((), "rebuild or upgrade the proxy's operating system"),
    "OHP-002": ((), "rebuild the proxy with the hosts' Windows Server release, or assign other hosts"),
    "OHP-003": (("nested_virtualization", "windows_feature"), "move the proxy role to a physical server"),
    "OHP-004": (("nested_virtualization", "windows_feature"), ""),
    "OHP-005": ((), "add the Hyper-V host or cluster in VBR, then re-assign the proxy role"),
    "OHP-006": ((), "add resources or lower the proxy's max concurrent tasks"),
    "OHP-007": (("veeam_services",), "a missing service: rescan the proxy in VBR"),
    "OHP-010": ((), "move the proxy role off the cluster node (never evict the node)"),
    "OHP-011": (("san_policy", "iscsi_session"), "zoning / LUN masking on the array and the SAN"),
    "OHP-012": (("windows_feature",), "OS release parity: rebuild the proxy"),
    "OHP-013": ((), "install the storage vendor's VSS hardware provider"),
    "OHP-020": (("share_read",), "deny entries covering the account"),
    "OHP-021": (("share_read",), "deny entries covering the account; a trust (OHP-022)"),
    "OHP-022": ((), "create the domain or forest trust"),
    "OHP-023": ((), "serve the share over SMB 3"),
    "OHP-030": ((), "process VMs with VHD Set disks on-host"),
    "OHP-031": ((), "move the disks to a CSV or an SMB3 share (or accept on-host)"),
    "OHP-040": ((), "fix the blocking findings of each candidate proxy"),
    "OHP-041": (("vbr_proxy_enable", "vbr_job_proxies"), "an offline or out-of-date proxy; a VBR 13 appliance (REST)"),
    "OHP-042": ((), "choose the hardware VSS provider in VBR's volume settings"),
    "OHP-043": ((), "set the jobs over a Storage Spaces Direct cluster to on-host"),
}

FEATURES = {"hyperv": "Hyper-V", "dedup": "FS-Data-Deduplication"}
SERVICES = ("VeeamDeploySvc", "VeeamTransportSvc", "VeeamHvIntegrationSvc")
_SERVICE_ALIASES = {"VeeamDeploymentService": "VeeamDeploySvc"}  # the Installer's older service name
_SERVICE_NAMES = {n.casefold(): n for n in (*SERVICES, *_SERVICE_ALIASES)}  # service names ignore case

# access-mask arithmetic as policies/smb/lib/smb_lib.rego does it (generic rights mapped, deny wins)
_READ = 0x120089
_GENERIC = ((0x80000000, 0x120089), (0x40000000, 0x120116), (0x20000000, 0x1200A0), (0x10000000, 0x1F01FF))
_INHERIT_ONLY = 0x8


@dataclass
class Step:
    """One change a shipped script makes on ``host``; ``data`` goes into the host's data document."""

    kind: str
    data: dict[str, Any]
    addresses: list[dict[str, str]]
    summary: str

    @property
    def script(self) -> str:
        return KINDS[self.kind][0]


@dataclass
class Manual:
    """A change no script makes: what to do, why it is manual, and the check to run afterwards."""

    title: str
    why: str
    todo: str
    check: str
    addresses: list[dict[str, str]]


@dataclass
class HostFix:
    host: str
    os_build: int | None
    steps: list[Step] = field(default_factory=list)
    manual: list[Manual] = field(default_factory=list)

    def document(self, run: dict[str, Any]) -> dict[str, Any]:
        """The data document the scripts read on this machine."""
        return {
            "format": DATA_FORMAT,
            "host": self.host,
            "audit": {**run, "os_build": self.os_build},
            "steps": [
                {"id": str(i), "kind": s.kind, **s.data, "addresses": s.addresses} for i, s in enumerate(self.steps, 1)
            ],
        }

    @property
    def scripts(self) -> list[str]:
        """The scripts this machine's steps need, in the order they run."""
        return list(dict.fromkeys(s.script for s in self.steps))


@dataclass
class FixPlan:
    run: dict[str, Any]
    hosts: dict[str, HostFix]
    untouched: list[dict[str, str]]  # failing findings with neither a scripted nor a manual step

    def for_finding(self, finding: dict[str, Any]) -> list[tuple[str, Step | Manual]]:
        """(host, step) pairs that address this finding."""
        ref = _ref(finding)
        out: list[tuple[str, Step | Manual]] = []
        for h in self.hosts.values():
            out += [(h.host, s) for s in h.steps if ref in s.addresses]
            out += [(h.host, m) for m in h.manual if ref in m.addresses]
        return out


def _ref(f: dict[str, Any]) -> dict[str, str]:
    return {"rule_id": str(f.get("rule_id")), "subject": str((f.get("subject") or {}).get("name", ""))}


class _Facts:
    def __init__(self, facts: dict[str, Any]) -> None:
        self.doc = facts
        self.hosts = {norm_name(h.get("name")): h for h in facts.get("hosts") or []}
        self.shares = {unc_key(s.get("unc")): s for s in facts.get("shares") or []}
        self.accounts = {norm_name(a.get("name")): a for a in facts.get("computer_accounts") or []}
        self.vbr = facts.get("vbr") or {}

    def host(self, name: str) -> dict[str, Any]:
        return self.hosts.get(norm_name(name)) or {}

    def build(self, name: str) -> int | None:
        b = (self.host(name).get("os") or {}).get("build")
        return b if isinstance(b, int) else None


def plan(
    facts: dict[str, Any],
    findings: list[dict[str, Any]],
    *,
    run: dict[str, Any] | None = None,
    rules: list[str] | None = None,
    hosts: list[str] | None = None,
) -> FixPlan:
    """The fixes for the failing findings of one run (``rules``/``hosts`` narrow them: rule ids and
    machine names, compared as the rules compare names)."""
    fx = _Facts(facts)
    out: dict[str, HostFix] = {}
    wanted_rules = {r.upper() for r in rules} if rules else None
    untouched: list[dict[str, str]] = []

    def machine(name: str) -> HostFix:
        key = norm_name(name)
        if key not in out:
            out[key] = HostFix(host=str(fx.host(name).get("name") or name), os_build=fx.build(name))
        return out[key]

    failing = [f for f in findings if f.get("status") == "fail"]
    # a VM proxy (OHP-003 fails) needs nested virtualization before the role, whatever --rule says
    virtual = {norm_name((f.get("subject") or {}).get("proxy")) for f in failing if f.get("rule_id") == "OHP-003"}
    if wanted_rules is not None:
        failing = [f for f in failing if str(f.get("rule_id")).upper() in wanted_rules]
    for f in failing:
        handler = _HANDLERS.get(str(f.get("rule_id")), _manual_only)
        if not handler(f, fx, machine, virtual):
            untouched.append(_ref(f))
    if hosts:
        keep = {norm_name(h) for h in hosts}
        out = {k: v for k, v in out.items() if k in keep}
    for h in out.values():
        _merge_steps(h)
    return FixPlan(run=dict(run or {}), hosts=dict(sorted(out.items())), untouched=untouched)


_LEVELS = ("share_level", "ntfs_level")


def _what(s: Step) -> dict[str, Any]:
    """What a step changes, for merging: a share grant is one step whatever levels it covers."""
    return {k: v for k, v in s.data.items() if k not in _LEVELS} if s.kind == "share_read" else s.data


def _share_summary(d: dict[str, Any]) -> str:
    return (
        f"give {d['account']} read on share {d['share']}"
        + (" (share permission)" if d["share_level"] else "")
        + (f" and on folder {d['path']} (NTFS, inherited)" if d["ntfs_level"] else "")
    )


def _merge_steps(h: HostFix) -> None:
    """One step per change: two findings that need the same change share it (addresses joined)."""
    merged: list[Step] = []
    for s in h.steps:
        same = next((m for m in merged if m.kind == s.kind and _what(m) == _what(s)), None)
        if same is None:
            merged.append(s)
            continue
        same.addresses += [a for a in s.addresses if a not in same.addresses]
        if s.kind == "share_read":  # one grant per share and account: both levels when one finding needs each
            for level in _LEVELS:
                same.data[level] = same.data[level] or s.data[level]
            same.summary = _share_summary(same.data)
    h.steps = sorted(merged, key=lambda s: list(KINDS).index(s.kind))  # the order they run in
    manual: list[Manual] = []
    for m in h.manual:
        same_m = next((x for x in manual if (x.title, x.todo) == (m.title, m.todo)), None)
        if same_m is None:
            manual.append(m)
        else:
            same_m.addresses += [a for a in m.addresses if a not in same_m.addresses]
    h.manual = manual


# --- one handler per rule: (finding, facts, machine(), virtual proxies) -> whether it planned anything ---------


def _proxy(f: dict[str, Any]) -> str:
    s = f.get("subject") or {}
    return str(s.get("proxy") or s.get("name"))


def _feature_step(f: dict[str, Any], fx: _Facts, machine: Any, key: str, mgmt: bool) -> None:
    p = _proxy(f)
    feature = FEATURES[key]
    machine(p).steps.append(
        Step(
            "windows_feature",
            {"feature": feature, "include_management_tools": mgmt},
            [_ref(f)],
            f"install the Windows feature {feature} (a restart follows)",
        )
    )


def _nested_step(f: dict[str, Any], machine: Any) -> None:
    p = _proxy(f)
    machine(p).steps.append(
        Step(
            "nested_virtualization",
            {"vm": p},
            [_ref(f)],
            f"on the Hyper-V host that runs VM {p}: expose virtualization extensions to it (VM off); "
            "run this step first",
        )
    )


def _hyperv(f: dict[str, Any], fx: _Facts, machine: Any, virtual: set[str]) -> bool:
    p = _proxy(f)
    if norm_name(p) in virtual:
        _nested_step(f, machine)
    _feature_step(f, fx, machine, "hyperv", True)
    return True


def _physical(f: dict[str, Any], fx: _Facts, machine: Any, virtual: set[str]) -> bool:
    p = _proxy(f)
    if (fx.host(p).get("features") or {}).get("hyperv") is False:
        _hyperv(f, fx, machine, virtual)  # the "VM without Hyper-V" part: scripted
    machine(p).manual.append(
        Manual(
            "Move the proxy role to a physical server",
            "a VM proxy is for evaluation only; choosing and building a server is a decision",
            "Add a physical Windows Server with the Hyper-V role and SAN/SMB access as a Hyper-V off-host "
            "proxy in VBR (Backup Infrastructure > Backup Proxies > Add Proxy), give the jobs that proxy, "
            f"then remove the role from {p}.",
            "(Get-CimInstance Win32_ComputerSystem | Select Manufacturer, Model) on the new proxy: not a "
            "virtual platform",
            [_ref(f)],
        )
    )
    return True


def _dedup(f: dict[str, Any], fx: _Facts, machine: Any, virtual: set[str]) -> bool:
    p = _proxy(f)
    planned = False
    if (fx.host(p).get("features") or {}).get("dedup") is False:
        _feature_step(f, fx, machine, "dedup", False)
        planned = True
    if "requires proxy and host versions to coincide" in str(f.get("message")):
        machine(p).manual.append(_os_manual(f, p))
        planned = True
    return planned


def _os_manual(f: dict[str, Any], p: str) -> Manual:
    return Manual(
        "Rebuild or upgrade the proxy's operating system",
        "an OS rebuild or in-place upgrade is not something to script",
        f"Install the Windows Server release the rule asks for on {p} (see the finding's message), then "
        "re-add it in VBR if it was rebuilt.",
        "(Get-CimInstance Win32_OperatingSystem).BuildNumber on the proxy and on each Hyper-V host it serves",
        [_ref(f)],
    )


def _services(f: dict[str, Any], fx: _Facts, machine: Any, virtual: set[str]) -> bool:
    p = _proxy(f)
    found: dict[str, dict[str, Any]] = {}  # required service -> the service that counts as it
    for s in fx.host(p).get("veeam_services") or []:
        svc = _SERVICE_NAMES.get(str(s.get("name")).casefold())
        if svc:
            found.setdefault(_SERVICE_ALIASES.get(svc, svc), dict(s, name=svc))
    fix = [
        n
        for n in SERVICES
        if n in found and (found[n].get("status") != "running" or found[n].get("start_type") == "disabled")
    ]
    missing = [n for n in SERVICES if n not in found]
    if fix:
        names = [str(found[n].get("name")) for n in fix]
        machine(p).steps.append(
            Step(
                "veeam_services",
                {"services": names},
                [_ref(f)],
                f"set {', '.join(names)} to start automatically and start them",
            )
        )
    if missing:
        machine(p).manual.append(
            Manual(
                "Reinstall the missing Veeam services",
                "VBR pushes its components itself; installing them by hand is not supported",
                f"In the Veeam console, Backup Infrastructure > Managed Servers > {p} > Rescan (or re-add the "
                f"server) so that the Installer Service installs {', '.join(missing)}; TCP 6160, 6162 and "
                "6163 must be open.",
                "Get-Service VeeamDeploySvc, VeeamTransportSvc, VeeamHvIntegrationSvc on the proxy: Running",
                [_ref(f)],
            )
        )
    return bool(fix or missing)


def _san(f: dict[str, Any], fx: _Facts, machine: Any, virtual: set[str]) -> bool:
    p = _proxy(f)
    st = fx.host(p).get("storage") or {}
    policy = st.get("san_policy")
    if policy in ("online_all", "offline_internal"):
        machine(p).steps.append(
            Step(
                "san_policy",
                {"policy": "OfflineShared", "audited": policy},
                [_ref(f)],
                f"set the SAN policy from {policy} to OfflineShared (shared LUNs come up offline on this "
                "server, before any LUN is presented to it)",
            )
        )
    for s in st.get("iscsi_sessions") or []:
        if s.get("connected") is False and s.get("target"):
            machine(p).steps.append(
                Step(
                    "iscsi_session",
                    {"target": s["target"]},
                    [_ref(f)],
                    f"reconnect iSCSI target {s['target']} (persistent)",
                )
            )
    subject = f.get("subject") or {}
    if "on the fly" in str(f.get("message")):  # the iSCSI provider presents snapshot LUNs itself
        machine(p).manual.append(
            Manual(
                "Present the CSV volumes to the proxy in VBR (Connected volumes: Manual selection)",
                "automatic detection cannot see LUNs the array connects on the fly; VBR's proxy settings decide",
                f"In the Veeam console, Backup Infrastructure > Backup Proxies > {p} > Properties: Connected volumes > "
                f"Manual selection, add the volumes of CSV {subject.get('csv')}, and assign {p} to the job.",
                "The proxy's properties list the CSV volumes; the next job session runs off-host on this proxy",
                [_ref(f)],
            )
        )
        return True
    machine(p).manual.append(
        Manual(
            "Present the CSV LUNs to the proxy (zoning / LUN masking)",
            "zoning and LUN masking are done on the array and the SAN switches, outside Windows",
            f"On the array, map the LUNs behind CSV {subject.get('csv')} of cluster {subject.get('cluster')} to "
            f"{p}'s initiators (FC zoning, iSCSI target access list, SAS host mapping); leave the disks "
            "offline on the proxy.",
            "Get-Disk | Select Number, UniqueId, BusType, IsOffline on the proxy: each UniqueId the finding "
            "names is listed (offline)",
            [_ref(f)],
        )
    )
    return True


def _sids(account: dict[str, Any]) -> set[str]:
    out = {account.get("sid"), account.get("primary_group_sid")}
    out |= set(account.get("token_groups") or []) | set(account.get("logon_sids") or [])
    return {str(s).upper() for s in out if s}


def _mapped(mask: int) -> int:
    out = mask & ~(0x80000000 | 0x40000000 | 0x20000000 | 0x10000000)
    for bit, rights in _GENERIC:
        if mask & bit:
            out |= rights
    return out


def _level(acl: list[dict[str, Any]] | None, sids: set[str]) -> str | None:
    """ "read", "deny" (a deny takes read away), "missing" (no allow grants read), None (not collected)."""
    if acl is None:
        return None
    allow = deny = 0
    for ace in acl:
        if int(ace.get("flags") or 0) & _INHERIT_ONLY or str(ace.get("sid", "")).upper() not in sids:
            continue
        if ace.get("type") == "deny":
            deny |= _mapped(int(ace.get("mask") or 0))
        else:
            allow |= _mapped(int(ace.get("mask") or 0))
    if deny & _READ:
        return "deny"
    return "read" if allow & _READ == _READ else "missing"


def _share(f: dict[str, Any], fx: _Facts, machine: Any, virtual: set[str]) -> bool:
    subject = f.get("subject") or {}
    p, unc = str(subject.get("proxy")), subject.get("share")
    share = fx.shares.get(unc_key(unc))
    account = fx.accounts.get(norm_name(p))
    if not share or not account or not account.get("sid"):
        return False
    server = str(share.get("server"))
    sids = _sids(account)
    share_level = _level(share.get("share_acl"), sids) if f.get("rule_id") in ("OHP-020", "OHP-021") else "read"
    ntfs_level = _level(share.get("ntfs_acl"), sids) if f.get("rule_id") == "OHP-021" else "read"
    netbios = next(
        (d.get("netbios_name") for d in fx.doc.get("domains") or [] if d.get("dns_name") == account.get("domain")),
        None,
    ) or norm_name(account.get("domain", ""))
    name = f"{netbios}\\{account.get('sam_account_name') or p + '$'}"
    levels = {"share": share_level == "missing", "ntfs": ntfs_level == "missing" and bool(share.get("path"))}
    planned = False
    if any(levels.values()):
        data = {
            "share": share.get("name"),
            "path": share.get("path"),
            "account": name,
            "account_sid": account.get("sid"),
            "share_level": levels["share"],
            "ntfs_level": levels["ntfs"],
        }
        machine(server).steps.append(Step("share_read", data, [_ref(f)], _share_summary(data)))
        planned = True
    if "deny" in (share_level, ntfs_level):
        machine(server).manual.append(
            Manual(
                f"Deny entries keep {name} from reading {unc}",
                "removing a deny entry changes access for everyone it covers: a decision for the share's owner",
                f"Review the deny entries on share {share.get('name')} (Get-SmbShareAccess) and on its folder "
                f"(Get-Acl); narrow or remove the one that covers {name} or one of its groups "
                "(the finding's evidence names it). A group change reaches the account after the proxy restarts.",
                f"Get-SmbShareAccess -Name <share> and (Get-Acl <path>).Access on {server}: no Deny entry for the "
                "account or its groups",
                [_ref(f)],
            )
        )
        planned = True
    return planned


def _vbr_rest(fx: _Facts) -> bool:
    return any(x.get("source") == "rest" for x in [*(fx.vbr.get("proxies") or []), *(fx.vbr.get("jobs") or [])])


def _listed_proxy(f: dict[str, Any], fx: _Facts, machine: Any, virtual: set[str]) -> bool:
    subject = f.get("subject") or {}
    job_name, candidate = str(subject.get("job")), str(subject.get("candidate"))
    server = str(fx.vbr.get("server") or "backup server")
    proxy = next((x for x in fx.vbr.get("proxies") or [] if norm_name(x.get("name")) == norm_name(candidate)), None)
    job = next((j for j in fx.vbr.get("jobs") or [] if j.get("name") == job_name), None)
    rest = _vbr_rest(fx)
    if proxy is not None and proxy.get("disabled") is True:
        if rest:
            machine(server).manual.append(_rest_enable(f, proxy))
        else:
            machine(server).steps.append(
                Step(
                    "vbr_proxy_enable",
                    {"proxy": proxy.get("name")},
                    [_ref(f)],
                    f"enable off-host proxy {proxy.get('name')} in VBR",
                )
            )
        return True
    if proxy is None and job is not None:
        listed = list((job.get("proxies") or {}).get("names") or [])
        keep = [n for n in listed if norm_name(n) != norm_name(candidate)]
        if keep and not rest:
            machine(server).steps.append(
                Step(
                    "vbr_job_proxies",
                    {"job": job_name, "audited": listed, "remove": [n for n in listed if n not in keep]},
                    [_ref(f)],
                    f"remove {candidate} (not an off-host proxy in VBR) from job {job_name}'s proxy list",
                )
            )
        else:
            machine(server).manual.append(_job_manual(f, job, candidate, rest))
        return True
    machine(server).manual.append(
        Manual(
            f"Bring proxy {candidate} back for job {job_name}",
            "an offline or out-of-date proxy needs its server or an upgrade, not a setting",
            f"Start the server {candidate}, check the network to it, or upgrade its components (Backup "
            "Infrastructure > Managed Servers > the server > Upgrade).",
            "Get-VBRHvProxy -Name <proxy> | Select Name, IsDisabled, @{n='Unavailable';e={$_.Host.IsUnavailable}}; "
            "REST: GET /api/v1/backupInfrastructure/proxies/states (isOnline, isOutOfDate)",
            [_ref(f)],
        )
    )
    return True


def _rest_enable(f: dict[str, Any], proxy: dict[str, Any]) -> Manual:
    return Manual(
        f"Enable proxy {proxy.get('name')} in VBR",
        "VBR was read over REST (it may be the VBR 13 Linux appliance, where no PowerShell runs); the "
        "REST API 1.3 documents no call this tool has verified for a proxy's enabled state",
        f"In the Veeam console, Backup Infrastructure > Backup Proxies > {proxy.get('name')} > Enable proxy. "
        "On a Windows backup server: Get-VBRHvProxy -Name <proxy> | Enable-VBRHvProxy.",
        "GET /api/v1/backupInfrastructure/proxies/states (header x-api-version: 1.3-rev1): isDisabled false "
        f"for id {proxy.get('id') or '<the proxy id>'}",
        [_ref(f)],
    )


def _job_manual(f: dict[str, Any], job: dict[str, Any], candidate: str, rest: bool) -> Manual:
    jid = job.get("id") or "<job id>"
    how = (
        f"REST (VBR 13): GET /api/v1/jobs/{jid}, remove the proxy's id from "
        "storage.backupProxies.offHostSettings.proxyIds (or set autoSelectEnabled true), and PUT the whole "
        f"edited job back to /api/v1/jobs/{jid} with header x-api-version: 1.3-rev1."
        if rest
        else "Every proxy the job lists is unusable: choosing its proxies is a decision. In the job's Storage "
        "step choose working off-host proxies or Automatic selection (Set-VBRJobProxy -Job <job> -Proxy <proxies> "
        "or -AutoDetect on the backup server)."
    )
    return Manual(
        f"Give job {job.get('name')} proxies VBR can use (remove {candidate})",
        "the job's proxy list was read over REST" if rest else "no usable proxy would remain in the list",
        how,
        f"GET /api/v1/jobs/{jid} (storage.backupProxies) or Get-VBRJobProxy -Job (Get-VBRJob -Name <job>): only "
        "existing, enabled off-host proxies",
        [_ref(f)],
    )


def _manual_only(f: dict[str, Any], fx: _Facts, machine: Any, virtual: set[str]) -> bool:
    rule = str(f.get("rule_id"))
    text = _MANUAL.get(rule)
    if text is None:
        return False
    title, why, todo, check = text
    subject = f.get("subject") or {}
    where = str(
        subject.get("proxy")
        or subject.get("host")
        or subject.get("cluster")
        or ((fx.vbr.get("server") or "backup server") if subject.get("job") else subject.get("name"))
    )
    machine(where).manual.append(Manual(title, why, todo, check, [_ref(f)]))
    return True


_MANUAL: dict[str, tuple[str, str, str, str]] = {
    "OHP-001": (
        "Rebuild or upgrade the proxy's operating system",
        "an OS rebuild is not something to script",
        "Install a 64-bit Windows Server release that your VBR version supports (VBR 13: 2016, 2019, 2022, 2025).",
        "Get-CimInstance Win32_OperatingSystem | Select BuildNumber, ProductType, OSArchitecture",
    ),
    "OHP-002": (
        "Match the proxy's Windows Server release to the hosts'",
        "an OS rebuild, or a different assignment of hosts to proxies, is a decision",
        "Rebuild or upgrade the proxy to the hosts' release, or let a proxy of the same release serve these hosts.",
        "(Get-CimInstance Win32_OperatingSystem).BuildNumber on the proxy and on the host: equal",
    ),
    "OHP-005": (
        "Register the source in VBR before the proxy",
        "adding servers to VBR needs their credentials",
        "Backup Infrastructure > Managed Servers > Add Server > Microsoft Hyper-V (Add-VBRHvHost / "
        "Add-VBRHvCluster), then re-assign the off-host proxy role.",
        "Get-VBRServer -Type HvServer, HvCluster on the backup server lists the source",
    ),
    "OHP-006": (
        "Size the proxy for its concurrent tasks",
        "adding CPU, memory or disk, or lowering the task count, is a capacity decision",
        "Add resources, or lower Max concurrent tasks (Set-VBRHvProxy -Proxy <proxy> -MaxTasks <n>).",
        "Re-run the audit: OHP-006 lists the floor for the task count",
    ),
    "OHP-010": (
        "Move the proxy role off the cluster node",
        "a cluster node must not be an off-host proxy; never evict the node to fix this: it runs production VMs",
        "Add a non-clustered server that sees the same SAN as a Hyper-V off-host proxy, point the jobs at it "
        "(or Automatic selection), then remove the off-host proxy role from the node in VBR (Backup "
        "Infrastructure > Backup Proxies > the node > Remove). The node stays in its cluster.",
        "Get-ClusterNode -Cluster <cluster> does not list the proxy; Get-VBRHvProxy lists the new proxy",
    ),
    "OHP-013": (
        "Install the storage vendor's VSS hardware provider",
        "vendor software: its installer, version and array credentials come from the storage vendor",
        "Install the same vendor VSS hardware provider on the proxy and every Hyper-V host of the cluster and "
        "configure its array connection (Veeam's own provider does not count).",
        "Get-CimInstance Win32_ShadowProvider | Select Name, Id, Type on each machine: the same Id with Type 3",
    ),
    "OHP-022": (
        "Create the trust between the proxy's and the file server's domains",
        "trusts need an administrator of both domains (netdom cannot create forest trusts)",
        "Create a forest trust (Active Directory Domains and Trusts, New Trust Wizard) or an external trust "
        "in the direction authentication needs: the file server's domain trusts the proxy's domain.",
        "nltest /domain_trusts /all_trusts /v on the file server lists the proxy's domain",
    ),
    "OHP-023": (
        "Serve the VM share over SMB 3",
        "the file server's platform decides the dialect",
        "Use a file server that speaks SMB 3 and keep SMB2/3 enabled (Set-SmbServerConfiguration "
        "-EnableSMB2Protocol $true).",
        "Get-SmbConnection | Select ServerName, ShareName, Dialect on the Hyper-V host: 3.x",
    ),
    "OHP-030": (
        "Process VMs with VHD Set disks on-host",
        "which job processes a VM is a decision",
        "Move the VM to a job with on-host backup mode, or exclude it from the off-host job.",
        "Get-VM <vm> | Get-VMHardDiskDrive | Select Path: no .vhds in an off-host job",
    ),
    "OHP-031": (
        "Move local VM disks to shared storage (or accept on-host)",
        "storage migration moves production data",
        "Move-VMStorage to a CSV or an SMB3 share, or leave the VM on-host.",
        "Get-VM <vm> | Get-VMHardDiskDrive | Select Path",
    ),
    "OHP-040": (
        "Give the job a working off-host proxy for each source",
        "it follows from the candidate proxies' own findings, fixed by their steps",
        "Fix the findings the message names for each candidate, or change the job's proxies.",
        "Re-run the audit: OHP-040 passes",
    ),
    "OHP-042": (
        "Use the hardware VSS provider in VBR's volume settings",
        "VBR's volume settings are chosen per volume in the console",
        "Backup Infrastructure > Managed Servers > the host > Manage Volumes: the vendor's hardware provider; "
        "clear failover to the software provider where a failed backup is better than a silent on-host one.",
        "Get-VBRHvServerVolume -Server <host> | Select MountPoint, VssProvider on the backup server",
    ),
    "OHP-043": (
        "Set the jobs over a Storage Spaces Direct cluster to on-host",
        "S2D supports on-host processing only",
        "Job > Storage > Choose > On-host backup for every job over the cluster.",
        "Get-VBRJob -Name <job>: $job.Options.HvSourceOptions.OffHostBackup is False",
    ),
}

_HANDLERS = {
    "OHP-003": _physical,
    "OHP-004": _hyperv,
    "OHP-007": _services,
    "OHP-011": _san,
    "OHP-012": _dedup,
    "OHP-020": _share,
    "OHP-021": _share,
    "OHP-041": _listed_proxy,
}


# --- the shipped scripts and the data document's schema ---------------------------------------------------


def script_bytes(name: str) -> bytes:
    """A shipped script, byte for byte."""
    if name not in SCRIPTS:
        raise KeyError(f"no shipped fix script named {name!r}")
    return resources.files("offhost_audit.fixes").joinpath("ps").joinpath(name).read_bytes()


def schema_text() -> str:
    return (schema_dir() / SCHEMA_FILE).read_text(encoding="utf-8")


@cache
def schema() -> dict[str, Any]:
    return dict(json.loads(schema_text()))


@cache
def _validator() -> Any:
    import jsonschema  # the messages of a failing document; only `fix` and the tests need it

    return jsonschema.Draft202012Validator(schema())


def validate(doc: dict[str, Any]) -> list[str]:
    """What is wrong with a data document (empty: valid), one line per problem."""
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in _validator().iter_errors(doc)
    ]


__all__ = ["KINDS", "RULE_FIXES", "SCRIPTS", "FixPlan", "HostFix", "Manual", "Step", "plan", "script_bytes", "validate"]
