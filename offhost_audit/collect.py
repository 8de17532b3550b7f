"""The collection runner: every target, every collector that applies, in parallel, never stopping on failure.

``collect_facts(inventory, ...)`` returns one facts document (``schema/facts.schema.json``):

* a bounded thread pool over targets (``concurrency``); per target the collectors run in turn over one
  WinRM shell; each call has ``call_timeout`` and each target ``target_timeout``;
* ``batch`` (default): a Windows host's scripts run in ONE powershell.exe (:class:`~offhost_audit.collectors.winrm.Batch`),
  each with ``call_timeout`` as its own limit and its own result; ``batch=False`` (``--no-batch``): one
  powershell.exe per script;
* every (target, collector) lands in the ``collection`` manifest with status, error text (no secrets)
  and duration; a failed collector leaves its facts null so the rules say unknown;
* after a connection or authentication failure the target's other collectors are ``skipped``; a
  collector may also be ``skipped`` by what an earlier one found (NotAttemptedError), or not run at
  all when an earlier one already read its facts (its ``wanted(target, ctx)`` says False);
* two phases: Windows hosts and domain controllers first, then file servers, whose share list is the
  inventory's plus the shares found in VM disk paths on that server (``ctx.extra["shares"]``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from offhost_audit import deadline as deadline_clock
from offhost_audit.assemble import assemble, merge, premerge
from offhost_audit.collector_specs import VBR_READS
from offhost_audit.collectors import registry
from offhost_audit.collectors.base import Collector, Context, Target
from offhost_audit.collectors.kerberos import Tickets
from offhost_audit.collectors.winrm import Batch, PsCollector, WinRMSession
from offhost_audit.errors import AuditIncompleteError, NotAttemptedError, TargetUnreachableError
from offhost_audit.inventory import Inventory
from offhost_audit.inventory.credentials import Resolver
from offhost_audit.inventory.targets import ContextExtra, meta_of
from offhost_audit.names import norm_name

Progress = Callable[[str, str, str], None]  # (target, collector, status)


def _winrm(t: Target) -> bool:
    """A Windows host reached over WinRM (the inventory gives it a scheme), not an LDAP/SMB target."""
    return "scheme" in t.options


def _applies(c: Collector, t: Target) -> bool:
    """Whether a collector runs on a target: its kinds, its protocol (REST reads the backup server's
    WinRM-shaped target), and the backup server's ``via`` (rest or winrm alone)."""
    roles = set(t.options.get("roles") or [t.kind])
    if not c.spec.kinds & roles or (c.spec.source in ("winrm", "rest")) != _winrm(t):
        return False
    way = VBR_READS.get(c.spec.id)
    return way is None or (t.options.get("vbr_via") or "auto") in ("auto", way)


def _run_target(
    target: Target,
    collectors: list[Collector],
    base_ctx: Context,
    *,
    call_timeout: float,
    target_timeout: float,
    secrets: list[str],
    tick: Progress,
    batch: bool = True,
) -> tuple[list[dict], list[dict]]:
    deadline = time.monotonic() + target_timeout
    extra: ContextExtra = {**base_ctx.extra, "call_timeout": call_timeout, "deadline": deadline}
    ctx = Context(proxies=base_ctx.proxies, domain_hint=base_ctx.domain_hint, extra=extra)
    if _winrm(target):
        session = ctx.extra["winrm"] = WinRMSession(
            target, call_timeout=call_timeout, tickets=base_ctx.extra.get("kerberos")
        )
        # one powershell.exe for all of them (--no-batch: one per script); a collector that decides
        # whether to run from what an earlier one read (``wanted``: the backup server's PowerShell read
        # after REST) runs on its own, after that decision
        scripted = [c for c in collectors if isinstance(c, PsCollector) and getattr(c, "wanted", None) is None]
        if batch and scripted:
            ctx.extra["batch"] = Batch(session, scripted, target, ctx)
    fragments, entries, blocked = [], [], None
    watch = deadline_clock.arm(target_timeout)  # a wall clock for every collector, LDAP and SMB too
    try:
        for c in collectors:
            start = time.monotonic()
            status, error = "ok", None
            if blocked:
                status, error = "skipped", f"not attempted: {blocked}"
            elif not getattr(c, "wanted", _always)(target, ctx):
                tick(target.name, c.spec.id, "not needed")  # an earlier collector read what it would (no entry)
                continue
            elif (start >= deadline or watch.expired) and not _batched(c, ctx):
                status, error = "error", f"not attempted: target timeout of {target_timeout:g}s reached"
            else:
                try:
                    frag = c.collect(target, ctx) or {}
                    fragments.append(frag)
                    partial = meta_of(frag).get("_errors")  # partial success: what could not be read, per item
                    if partial:
                        error = _clean("partial: " + "; ".join(partial), secrets)
                except NotAttemptedError as e:
                    status, error = "skipped", _clean(f"not attempted: {e}", secrets)
                except Exception as e:  # noqa: BLE001 - one failure never stops the run
                    status, error = "error", _clean(f"{type(e).__name__}: {e}" if not str(e) else str(e), secrets)
                    # its sockets were shut at the deadline (or, batched, the batch was cut off by it)
                    late = watch.expired or time.monotonic() >= deadline
                    if late and (not _batched(c, ctx) or "(timeout" in str(e)):
                        error = f"{target.name}: {c.spec.id} stopped: target timeout of {target_timeout:g}s reached (timeout)"
                    if isinstance(e, TargetUnreachableError):
                        blocked = error
            entries.append(
                {
                    "target": target.name,
                    "collector": c.spec.id,
                    "status": status,
                    "error": error,
                    "duration_ms": round((time.monotonic() - start) * 1000, 1),
                }
            )
            tick(target.name, c.spec.id, status)
    finally:
        watch.disarm()
        s = ctx.extra.get("winrm")
        if isinstance(s, WinRMSession):
            with deadline_clock.wall_clock(min(call_timeout, 10.0)):  # deleting the shell must not hang either
                s.close(graceful=not watch.expired)
    return fragments, entries


def _always(target: Target, ctx: Context) -> bool:
    return True


def _batched(c: Collector, ctx: Context) -> bool:
    """The batch already ran and holds this collector's result (its facts, or its own error)."""
    batch = ctx.extra.get("batch")
    return isinstance(c, PsCollector) and isinstance(batch, Batch) and batch.done and batch.covers(str(c.spec.script))


def _clean(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text[:500]


def _phase(
    targets: list[Target],
    collectors: tuple[Collector, ...],
    ctx: Context,
    pool: ThreadPoolExecutor,
    ctx_for: Callable[[Target], Context],
    **kw: Any,
) -> tuple[list[dict], list[dict]]:
    jobs = []
    for t in targets:
        cs = [c for c in collectors if _applies(c, t)]
        if cs:
            jobs.append(pool.submit(_run_target, t, cs, ctx_for(t), **kw))
    fragments, entries = [], []
    for j in jobs:
        f, e = j.result()
        fragments += f
        entries += e
    return fragments, entries


def plan_size(targets: list[Target], collectors: tuple[Collector, ...]) -> int:
    return sum(1 for t in targets for c in collectors if _applies(c, t))


def collect_facts(
    inventory: Inventory,
    *,
    concurrency: int = 16,
    call_timeout: float = 60.0,
    target_timeout: float = 300.0,
    insecure: bool = False,
    progress: bool | Progress = False,
    resolver: Resolver | None = None,
    collectors: tuple[Collector, ...] | None = None,
    batch: bool = True,
) -> dict[str, Any]:
    """Collect the estate in ``inventory`` into one facts document (not yet saved)."""
    collectors = registry() if collectors is None else collectors
    targets = inventory.targets(resolver=resolver, call_timeout=call_timeout, insecure=insecure)
    secrets = [t.credentials.password for t in targets if t.credentials]
    dcs = [t for t in targets if t.kind == "domain_controller"]
    base = Context(
        proxies=inventory.proxies,
        domain_hint=dcs[0].options.get("domain") if dcs else None,
        extra={"file_servers": sorted({t.name for t in targets if t.kind == "file_server"})},
    )
    if any(t.options.get("auth") == "kerberos" for t in targets):
        base.extra["kerberos"] = Tickets()  # the run's Kerberos tickets, in memory, released below
    warnings: list[str] = []
    if insecure:
        warnings.append("TLS certificate validation was turned off (--insecure): the hosts' identity was not verified")
    else:
        unverified = [t.name for t in targets if t.tls and not t.verify_tls]
        if unverified:
            more = f" and {len(unverified) - 10} more" if len(unverified) > 10 else ""
            warnings.append(
                f"TLS certificate validation was turned off in the inventory (verify_tls: false) for "
                f"{', '.join(unverified[:10])}{more}: those hosts' identity was not verified"
            )
    entries: list[dict] = []
    phase2 = [t for t in targets if t.kind == "file_server" and not _winrm(t)]
    phase1 = [t for t in targets if t not in phase2]
    tick, finish = _progress(progress, plan_size(targets, collectors))
    kw = dict(call_timeout=call_timeout, target_timeout=target_timeout, secrets=secrets, tick=tick, batch=batch)
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="collect") as pool:
            frags, e1 = _phase(phase1, collectors, base, pool, lambda t: base, **kw)
            partial = merge(premerge(frags))
            vm_shares = _shares_from_vms(partial.get("vms") or [])

            def shares_of(t: Target) -> list[str]:
                names = {s.lower(): s for s in vm_shares.get(t.name, set())}
                names.update({s.lower(): s for s in t.options.get("shares") or []})
                return sorted(names.values(), key=str.lower)

            sids = account_sids(partial.get("computer_accounts") or [])

            def fs_ctx(t: Target) -> Context:  # ctx.extra["shares"]: {file server name: [share, ...]}
                return Context(
                    proxies=base.proxies,
                    domain_hint=base.domain_hint,
                    extra={"shares": {t.name: shares_of(t)}, "account_sids": sids},
                )

            phase2 = [replace(t, options={**t.options, "shares": shares_of(t)}) for t in phase2]
            frags2, e2 = _phase(phase2, collectors, base, pool, fs_ctx, **kw)
    finally:
        finish()
        tickets = base.extra.get("kerberos")
        if isinstance(tickets, Tickets):
            tickets.close()
    entries += e1 + e2
    fs_names = {t.name for t in phase2}
    for server in sorted(set(vm_shares) - fs_names):
        warnings.append(
            f"VM disks live on \\\\{server} shares but {server} is not in the inventory's file_servers: "
            "its share ACLs were not collected (those rules say unknown)"
        )
    return assemble(inventory, targets, frags + frags2, entries, warnings)


def account_sids(accounts: list[dict]) -> list[str]:
    """Every SID a proxy's network logon carries (for the file servers' alias membership)."""
    out = set()
    for a in accounts:
        for sid in [
            a.get("sid"),
            a.get("primary_group_sid"),
            *(a.get("token_groups") or []),
            *(a.get("logon_sids") or []),
        ]:
            if sid:
                out.add(sid)
    return sorted(out)


def _shares_from_vms(vms: list[dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for vm in vms:
        for d in vm.get("disks") or []:
            if d.get("storage") == "smb" and d.get("share"):
                server, share = d["share"].lstrip("\\").split("\\", 1)
                out.setdefault(norm_name(server), set()).add(share)
    return out


def require_some_success(facts: dict[str, Any]) -> None:
    """Raise AuditIncompleteError (exit 3) when no collector succeeded anywhere."""
    entries = facts.get("collection") or []
    if entries and not any(e["status"] == "ok" for e in entries):
        first = next((e["error"] for e in entries if e.get("error")), "no details")
        raise AuditIncompleteError(f"nothing could be collected from any target (first error: {first})")


def _progress(progress: bool | Progress, total: int) -> tuple[Progress, Callable[[], None]]:
    if callable(progress):
        return progress, lambda: None
    if not progress or not sys.stderr.isatty():
        return (lambda *_: None), lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

    bar = RichProgress(
        TextColumn("collecting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("collect", total=total, last="")
    bar.start()

    def tick(target: str, collector: str, status: str) -> None:
        bar.update(task, advance=1, last=f"{target} {collector} {status}")

    return tick, bar.stop
