"""Stage 2: the job rules (policies/jobs/, OHP-040..043) over stage 1's per-pair verdicts.

Stage 1 evaluates the facts (split into parts when that pays). Automatic proxy selection links
every proxy to every source, so the jobs cannot join the split: they are judged after it, on a
small input built here from the facts and stage 1's findings (:func:`stage_input`): the backup
server's section (jobs, proxies and their state, per-host VSS settings), the hosts' and clusters'
names and memberships (plus ``s2d_enabled``), and each proxy x source pair's verdict as
:func:`offhost_audit.findings.verdicts.judge` gives it. The Rego query is
``data.offhost.main.job_findings`` on the same engine as stage 1 (with ``--opa-url``, the
embedded engine: the OPA server is not asked twice).
"""

from __future__ import annotations

from typing import Any

from offhost_audit.findings import Finding, verdicts

_HOST_KEYS = ("name", "fqdn", "computer_name", "dns_host_name", "roles", "cluster")


def wanted(facts: dict[str, Any]) -> bool:
    """Whether stage 2 has anything to judge: the backup server's jobs or volume settings were read."""
    vbr = facts.get("vbr")
    return isinstance(vbr, dict) and (isinstance(vbr.get("jobs"), list) or isinstance(vbr.get("hyperv_hosts"), list))


def stage_input(facts: dict[str, Any], findings: list[Finding]) -> dict[str, Any] | None:
    """Stage 2's input from the facts and stage 1's findings; None when there is nothing to judge."""
    if not wanted(facts):
        return None
    vbr = facts["vbr"]
    clusters = facts.get("clusters")
    judged = verdicts.judge(
        facts, [f for f in findings if (f.get("subject") or {}).get("kind") not in verdicts.JOB_KINDS]
    )
    return {
        "vbr": {k: vbr.get(k) for k in ("jobs", "proxies", "hyperv_hosts")},
        "hosts": [{k: h[k] for k in _HOST_KEYS if k in h} for h in facts.get("hosts") or []],
        "clusters": None
        if not isinstance(clusters, list)
        else [{k: c.get(k) for k in ("name", "nodes", "s2d_enabled") if k in c} for c in clusters],
        "pairs": [
            {
                "proxy": proxy,
                "kind": kind,
                "source": source,
                "state": v.state,
                "blocking": v.blocking,
                "unknown": v.unknown,
                "warnings": v.warnings,
            }
            for (proxy, (kind, source)), v in judged.cells.items()
        ],
    }
