"""The backup server's own view (jobs, proxies and their state, Hyper-V hosts and clusters, VSS
settings), read one way per run and given as the facts' ``vbr`` section (:func:`vbr_facts`):

* ``rest.backup_server``: VBR 13's REST API (:func:`~offhost_audit.collectors.vbr_read.read_rest`),
  at the inventory's ``backup_server.rest`` port (9419) with the backup server's credentials;
* ``winrm.backup_server``: the Veeam PowerShell module on the backup server (``backup_server.ps1``).

Which one (inventory ``backup_server.via``): ``rest`` or ``winrm`` alone; ``auto`` (the default) REST
first, then WinRM only when the REST endpoint does not answer (no connection, no answer in time, TLS
refused, or no API of that version). Never after the REST API refused the account (HTTP 401/403):
the credentials are not sent again another way, and ``winrm.backup_server`` is ``skipped`` saying why.
Read over REST, ``winrm.backup_server`` runs only when REST left VSS settings unknown (cluster nodes:
the REST API has none; every host for a Backup Viewer) and fills just those (``source: powershell``),
as DECISIONS.md asks ("read it over PowerShell where reachable"). Without the Veeam module the
WinRM script says so and the backup server's facts stay null (rules that need them say unknown).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from offhost_audit.collector_specs import BY_ID
from offhost_audit.collectors.base import Context, Fragment, Target, with_meta
from offhost_audit.collectors.parsers_estate import parse_backup_server
from offhost_audit.collectors.vbr_read import read_rest
from offhost_audit.collectors.vbr_rest import RestError, VbrRestClient
from offhost_audit.collectors.winrm import AuthenticationError, PsCollector, session_for
from offhost_audit.errors import CollectorError, NotAttemptedError, TargetUnreachableError
from offhost_audit.vbr_estate import VbrEstate, supplement_vss, vbr_facts


def _fragment(est: VbrEstate, target: Target) -> Fragment:
    vbr = vbr_facts(est, est.source)
    vbr["server"] = vbr["server"] or target.name
    return with_meta({"vbr": vbr}, notes=[f"{target.name}: unknown: {u}" for u in est.unknown])


def rest_target(target: Target, timeout_s: float | None = None) -> Target:
    """The backup server's target with its REST endpoint's port and TLS settings (inventory ``rest``)."""
    rest: dict[str, Any] = dict(target.options.get("vbr_rest") or {})
    return replace(
        target,
        port=rest.get("port"),
        tls=True,
        verify_tls=bool(rest.get("verify_tls", True)),
        ca_file=rest.get("ca_file"),
        timeout_s=timeout_s or target.timeout_s,
    )


def read_winrm(target: Target, ctx: Context) -> VbrEstate | None:
    """The estate through backup_server.ps1 over the target's WinRM session (None: no Veeam module)."""
    session = session_for(target, ctx)
    doc = session.run("backup_server.ps1", {}, deadline=ctx.extra.get("deadline"))
    est = parse_backup_server(doc, server=target.name, endpoint=session.endpoint)
    if est is not None:
        est.requests = 1
    return est


class RestBackupServerCollector:
    spec = BY_ID["rest.backup_server"]

    def collect(self, target: Target, ctx: Context) -> Fragment:
        auto = (target.options.get("vbr_via") or "auto") == "auto"
        client = VbrRestClient(rest_target(target, ctx.extra.get("call_timeout")))
        extra = ctx.extra
        try:
            est = read_rest(client)
        except AuthenticationError as e:
            extra["vbr_read"] = str(e)
            raise
        except TargetUnreachableError as e:
            if not auto:
                raise
            extra["vbr_read"] = "fallback"
            raise CollectorError(f"{e}; read over WinRM instead (Veeam PowerShell module)") from None
        except RestError as e:
            if auto and e.unsupported_api:
                extra["vbr_read"] = "fallback"
                raise CollectorError(f"{e}; read over WinRM instead (Veeam PowerShell module)") from None
            extra["vbr_read"] = str(e)
            raise
        except CollectorError as e:
            extra["vbr_read"] = str(e)
            raise
        finally:
            client.close()
        extra["vbr_read"], extra["vbr_rest_estate"] = "rest", est
        return _fragment(est, target)


class BackupServerCollector(PsCollector):
    spec = BY_ID["winrm.backup_server"]

    def wanted(self, target: Target, ctx: Context) -> bool:
        """Not when the REST API already gave the backup server's whole view; only for the VSS
        settings REST could not read (cluster nodes; every host for a Viewer) when it gave the rest."""
        if ctx.extra.get("vbr_read") != "rest":
            return True
        est = ctx.extra.get("vbr_rest_estate")
        return isinstance(est, VbrEstate) and not all(h.vss_known() for h in est.hosts or [])

    def collect(self, target: Target, ctx: Context) -> Fragment:
        said = ctx.extra.get("vbr_read")
        if said not in (None, "fallback", "rest"):
            raise NotAttemptedError(f"the REST API did not read the backup server ({said}): not tried over WinRM")
        rest = ctx.extra.get("vbr_rest_estate")
        if said != "rest" or not isinstance(rest, VbrEstate):
            return super().collect(target, ctx)
        est = read_winrm(target, ctx)  # REST read the rest: only the VSS settings it could not
        if est is None:
            raise CollectorError(
                f"{target.name}: Veeam PowerShell module absent: the VSS settings REST cannot read stay unknown"
            )
        filled = supplement_vss(rest, est)
        return with_meta(
            {"vbr": {"hyperv_hosts": vbr_facts(rest, "rest")["hyperv_hosts"]}},
            notes=[f"{target.name}: VSS settings read over PowerShell for {', '.join(filled)}"] if filled else [],
        )

    def parse(self, doc: Any, target: Target, ctx: Context) -> dict[str, Any]:
        est = parse_backup_server(doc, server=target.name, endpoint=target.address)
        if est is None:
            absent = f"{target.name}: Veeam PowerShell module absent; backup-server facts unknown"
            return with_meta({"vbr": {"server": target.name, "managed_servers": None, "proxies": None}}, notes=[absent])
        return _fragment(est, target)
