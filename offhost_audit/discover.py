"""`discover`: read the estate from the backup server and write a reviewable inventory.

:func:`read` gives a :class:`~offhost_audit.vbr_estate.VbrEstate` (REST: ``collectors/vbr_read.py``;
PowerShell over WinRM: ``collectors/ps/backup_server.ps1``), the way ``via`` says: ``rest`` or
``winrm`` alone, ``auto`` REST and then WinRM only when the REST endpoint does not answer (no
connection, no answer in time, TLS refused, no API of that version), never after HTTP 401/403: the
credentials are not sent again another way. :func:`inventory_text` writes it as inventory YAML. A proxy's state, a host's VSS settings and each job are comments: the inventory has
no fields for them. Nothing secret is written (credentials stay the defaults: environment variables).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from offhost_audit import deadline as deadline_clock, inventory
from offhost_audit.collectors.backup_server import read_winrm, rest_target
from offhost_audit.collectors.base import Context, Target
from offhost_audit.collectors.vbr_read import read_rest
from offhost_audit.collectors.vbr_rest import API_VERSION, DEFAULT_PORT, PAGE_SIZE, RestError, VbrRestClient
from offhost_audit.collectors.winrm import AuthenticationError, WinRMSession
from offhost_audit.errors import CollectorError, InventoryError, TargetUnreachableError
from offhost_audit.inputs import read_input
from offhost_audit.names import norm_name
from offhost_audit.text import clean
from offhost_audit.vbr_estate import VbrEstate, VbrHost, VbrProxy, assignments, on_off

# --- the inventory -------------------------------------------------------------------------------


def read(target: Target, *, via: str = "auto", page_size: int = PAGE_SIZE) -> VbrEstate:
    """Read the backup server. ``target``: its WinRM settings and credentials; its REST endpoint in
    ``options["vbr_rest"]`` (port, verify_tls, ca_file; default port 9419). Raises what the reads
    raise (AuthenticationError, TargetUnreachableError, RestError, CollectorError: exit 3)."""
    why = None
    if via in ("auto", "rest"):
        client = VbrRestClient(rest_target(target), page_size=page_size)
        try:
            est = read_rest(client)
            est.requests = client.requests
            return est
        except AuthenticationError:
            raise
        except TargetUnreachableError as e:
            if via == "rest":
                raise
            why = str(e)
        except RestError as e:
            if via == "rest" or not e.unsupported_api:
                raise
            why = str(e)
        finally:
            client.close()
    ctx = Context()
    session = ctx.extra["winrm"] = WinRMSession(target, call_timeout=target.timeout_s)
    watch = deadline_clock.arm(target.timeout_s)  # a trickling WinRM answer is cut too
    try:
        result = read_winrm(target, ctx)
    except CollectorError as e:
        after = f" (after REST did not answer: {why})" if why else ""
        if watch.expired:
            raise TargetUnreachableError(
                f"{target.name}: no answer over WinRM within {target.timeout_s:g}s (timeout){after}"
            ) from None
        if after:
            raise type(e)(f"{e}{after}") from None
        raise
    finally:
        watch.disarm()
        with deadline_clock.wall_clock(min(target.timeout_s, 10.0)):
            session.close(graceful=not watch.expired)
    if result is None:
        raise CollectorError(f"{target.name}: the Veeam PowerShell module is not installed: nothing to discover")
    result.fallback = why
    return result


def discovered_inventory(
    est: VbrEstate,
    *,
    server: dict[str, Any] | None = None,
    hand: str | os.PathLike[str] | None = None,
    hand_text: str | None = None,
    now: _dt.datetime | None = None,
) -> inventory.Inventory:
    """The inventory discovery gives (in memory, as `discover` would write it), with the hand-written
    file ``hand`` (or the text ``hand_text``) laid over it (inventory/overlay.py: its addresses, winrm
    settings, credentials and extra targets; the server's proxies, memberships and assignments).
    ``server``: the backup server entry's ``via`` and ``rest`` settings, how it was reached (so that
    the run reads its jobs the same way). Assignments from the server carry ``source`` (rest or
    powershell) in the facts; what the overlay kept or ignored is in ``notes``."""
    from offhost_audit.inventory.overlay import overlay

    text = inventory_text(est, now=now)
    where = f"<discovered from {_c(est.server)}>"
    if hand is not None:
        hand_text = read_input(hand, "an inventory YAML file", InventoryError)
    source = str(hand) if hand is not None else "<hand-written inventory>"
    return overlay(
        text, hand_text or "{}", discovered_source=where, hand_source=source, via=est.source, server=server or {}
    )


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


def _state(p: VbrProxy) -> str:
    def word(value: bool | None, yes: str, no: str, what: str) -> str:
        return yes if value else no if value is False else f"{what} unknown"

    return ", ".join(
        [
            word(p.disabled, "disabled", "enabled", "enabled"),
            word(p.online, "online", "OFFLINE", "online"),
            word(p.out_of_date, "components OUT OF DATE", "up to date", "components"),
        ]
    )


def _how(est: VbrEstate) -> str:
    if est.via == "rest":
        return f"{_c(est.endpoint)}, REST API {API_VERSION}"
    return f"{_c(est.endpoint)}, Veeam PowerShell module over WinRM"


def inventory_text(est: VbrEstate, *, now: _dt.datetime | None = None) -> str:
    """The inventory YAML, comments saying what came from which endpoint (REST path or cmdlet)."""
    rest = est.via == "rest"
    stamp = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    served, job_notes = assignments(est)
    lines = [
        f"# Discovered by offhost-audit discover from the backup server {_c(est.server)}",
        f"# ({_how(est)}) on {stamp}. Review it before use: add addresses,",
        "# winrm settings and credentials (environment variables, keyring or prompt) where the defaults",
        "# do not fit. Nothing secret is written here.",
    ]
    if est.fallback:
        lines.append(f"# The REST API did not answer, so this was read over WinRM: {_c(est.fallback)}")
    lines += [f"# UNKNOWN: {_c(u)}" for u in est.unknown]
    lines += ["", "vbr:  # " + ("GET /api/v1/serverInfo" if rest else "Get-VBRBackupServerInfo")]
    lines.append(f"  version: {_q(est.version)}" if est.version else "  version: null  # unknown")
    name = norm_name(est.name or est.server)
    lines += ["", "backup_server:", f"  name: {_q(name)}"]
    if est.server.strip() != name:
        lines.append(f"  address: {_q(est.server.strip())}")
    if not rest:
        lines.append('  via: "winrm"  # read over WinRM here: a run reads the backup server the same way')
    else:
        port = urlsplit(est.endpoint).port
        if port and port != DEFAULT_PORT:
            lines.append(f"  rest: {{port: {port}}}  # add ca_file: when its certificate needs another CA")
    if rest:
        lines += [
            "",
            "# GET /api/v1/backupInfrastructure/proxies?typeFilter=HvProxy (max_tasks), proxies/states (state);",
            "# serves: from GET /api/v1/jobs?typeFilter=HyperVBackup",
        ]
    else:
        lines += ["", "# Get-VBRHvProxy (max_tasks, state); serves: from Get-VBRJob (Hyper-V backup jobs)"]
    proxies = est.proxies or []
    lines.append("proxies:" if proxies else "proxies: []")
    for p in proxies:
        lines += _entry("  ", p.host, _state(p))
        if not usable(p.host):
            continue
        if p.max_tasks is not None and p.max_tasks >= 0:
            lines.append(f"    max_tasks: {p.max_tasks}")
        sources = served.get(norm_name(p.host)) or {}
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
        elif not _jobs_known(est):
            lines.append(
                "    # which jobs use this proxy, or what they process, is unknown (see UNKNOWN above): no serves, "
                "so the audit pairs it with every source"
            )
        else:
            lines.append(
                "    serves: []  # no enabled off-host job uses this proxy: it serves nothing (delete this line to "
                "pair it with every source)"
            )
    servers = "GET /api/v1/backupInfrastructure/managedServers" if rest else "Get-VBRServer"
    nested = " (HvCluster; nodes: includeNestedHosts=true)" if rest else " -Type HvCluster (nodes: HvServer)"
    lines += ["", f"# {servers}{nested}"]
    clusters = est.clusters or []
    lines.append("clusters:" if clusters else "clusters: []")
    for c in clusters:
        lines += _entry("  ", c.name, "" if c.available is not False else "status Unavailable")
        if not usable(c.name):
            continue
        lines.append(
            "    nodes:"
            if any(usable(n) for n in c.nodes)
            else "    nodes: []  # the server listed no node the inventory accepts"
        )
        for n in c.nodes:
            lines += _entry("      ", n)
    standalone = est.standalone_hosts()
    vss = "GET .../managedServers/{id}/volumes" if rest else "Get-VBRHvServerVolume"
    lines += ["", f"# {'GET .../managedServers' if rest else 'Get-VBRServer'} (HvServer); VSS: {vss}"]
    lines.append("hyperv_hosts:" if standalone else "hyperv_hosts: []")
    for h in standalone:
        lines += _entry("  ", h.name, _vss(h))
    smb = est.file_servers or []
    kinds = "SmbV3StandaloneHost, SmbV3Cluster" if rest else "SmbServer, SmbCluster"
    lines += ["", f"# {'GET .../managedServers' if rest else 'Get-VBRServer'} ({kinds}); shares: add the ones VMs use"]
    lines.append("file_servers:" if smb else "file_servers: []")
    for f in smb:
        lines += _entry("  ", f.name, "SMB3 cluster" if f.cluster else "SMB3 server")
    jobs_from = "GET /api/v1/jobs?typeFilter=HyperVBackup" if rest else "Get-VBRJob, Hyper-V backup jobs"
    lines += ["", f"# Jobs ({jobs_from}):"]
    lines += [f"#   {_c(n)}" for n in [*job_notes, *est.notes]] or [
        "#   none" if est.jobs is not None else "#   not read (unknown): no proxy's serves comes from a job"
    ]
    return "\n".join(lines) + "\n"


def _jobs_known(est: VbrEstate) -> bool:
    """Whether every job that may use an off-host proxy was read with its proxies and its sources: only
    then does a proxy that no job uses serve nothing (``serves: []``)."""
    if est.jobs is None:
        return False
    for j in est.jobs:
        if j.get("enabled") is False or j.get("mode") == "on_host":
            continue
        sel = j.get("proxies")
        if j.get("mode") is None or j.get("sources") is None or not isinstance(sel, dict):
            return False
        if sel.get("automatic") is None or (sel.get("automatic") is False and sel.get("names") is None):
            return False
    return True


def _vss(h: VbrHost) -> str:
    if h.vss_provider is None and not h.vss_provider_names:
        return "VSS provider unknown"
    failover = on_off(h.failover_to_software)
    names = ", ".join(h.vss_provider_names) or "none listed"
    return f"VSS provider: {names}; failover to software provider {failover}"
