"""A fixed run for golden files: every status, a waiver, an expired waiver, hostile host text."""

from __future__ import annotations

import copy

from offhost_audit.store.history import Run, RunSummary

DOC = "https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html"
EVIL_VM = "<script>alert(1)</script>"
EVIL_SHARE = "</script>"
ESC_HOST = "HV\x1b]0;pwned\x07EVIL\x1b[2J"


def _f(rule, status, sev, subject, message, **kw):
    base = {
        "rule_id": rule,
        "title": f"title of {rule}",
        "severity": sev,
        "status": status,
        "subject": subject,
        "message": message,
        "evidence": kw.pop("evidence", []),
        "remediation": f"Fix {rule}: do the thing.",
        "doc_url": DOC,
    }
    base.update(kw)
    return base


def findings():
    return [
        _f(
            "OHP-010",
            "fail",
            "critical",
            {"kind": "proxy_cluster", "name": "PROXY01 -> HVCL02", "proxy": "PROXY01", "cluster": "HVCL02"},
            "PROXY01 is a node of HVCL02",
            evidence=[{"path": "clusters[1].nodes", "value": ["PROXY01", "HV03"]}],
        ),
        _f(
            "OHP-031",
            "fail",
            "high",
            {"kind": "vm", "name": EVIL_VM, "proxy": "PROXY01", "vm": EVIL_VM},
            f"VM {EVIL_VM} has a pass-through disk",
            evidence=[{"path": "vms[0].name", "value": EVIL_VM}],
        ),
        _f(
            "OHP-020",
            "fail",
            "high",
            {
                "kind": "proxy_share",
                "name": f"PROXY01 -> \\\\FS01\\{EVIL_SHARE}",
                "proxy": "PROXY01",
                "share": f"\\\\FS01\\{EVIL_SHARE}",
                "server": "FS01",
            },
            f"share {EVIL_SHARE} | grants *everyone* [x](y)",
            evidence=[{"path": "shares[0].name", "value": EVIL_SHARE}],
        ),
        _f(
            "OHP-013",
            "unknown",
            "high",
            {"kind": "proxy_host", "name": f"PROXY01 -> {ESC_HOST}", "proxy": "PROXY01", "host": ESC_HOST},
            f"no facts from {ESC_HOST}",
            missing=["hosts[2].os.build"],
        ),
        _f(
            "OHP-011",
            "waived",
            "high",
            {
                "kind": "proxy_csv",
                "name": "PROXY01 -> HVCL01/Cluster Disk 2",
                "proxy": "PROXY01",
                "cluster": "HVCL01",
                "csv": "Cluster Disk 2",
            },
            "Cluster Disk 2 is deduplicated",
            waiver={
                "id": "W-001",
                "state": "active",
                "status": "fail",
                "justification": "moving to ReFS <b>soon</b>",
                "owner": "ops",
                "approved_by": "ciso",
                "expires": "2027-01-31",
                "ticket": "CHG-1",
            },
        ),
        _f(
            "OHP-012",
            "fail",
            "high",
            {
                "kind": "proxy_csv",
                "name": "PROXY01 -> HVCL01/Cluster Disk 1",
                "proxy": "PROXY01",
                "cluster": "HVCL01",
                "csv": "Cluster Disk 1",
            },
            "Cluster Disk 1 has no VSS hardware provider",
            waiver={
                "id": "W-002",
                "state": "expired",
                "status": "fail",
                "expires": "2026-11-01",
                "note": "waiver W-002 expired 2026-11-01T00:00:00+00:00: the finding counts as fail again",
            },
        ),
        _f("OHP-001", "pass", "high", {"kind": "proxy", "name": "PROXY01", "proxy": "PROXY01"}, "Windows Server 2022"),
        _f(
            "OHP-002",
            "pass",
            "high",
            {"kind": "proxy_host", "name": "PROXY02 -> HV01", "proxy": "PROXY02", "host": "HV01"},
            "same build",
        ),
        _f(
            "OHP-005",
            "not_applicable",
            "medium",
            {"kind": "proxy", "name": "PROXY02", "proxy": "PROXY02"},
            "no cluster assigned",
        ),
    ]


META = {
    "inventory": "/etc/offhost/inventory.yaml",
    "inventory_hash": "sha256:" + "1" * 64,
    "facts_file": None,
    "policy_bundle_hash": "sha256:" + "2" * 64,
    "profile": "veeam-2025-08",
    "engine": "embedded",
    "warnings": ["TLS certificate validation is off for HV09 (verify_tls: false)"],
    "targets": ["PROXY01", "PROXY02", "HVCL01", "HVCL02", "HV01", ESC_HOST, "FS01"],
    "rules": ["OHP-001", "OHP-002", "OHP-005", "OHP-010", "OHP-011", "OHP-012", "OHP-013", "OHP-020", "OHP-031"],
    "waivers": {
        "path": "/etc/offhost/waivers.yaml",
        "count": 3,
        "applied": {"W-001": 1},
        "expired": [
            {
                "id": "W-002",
                "rule_id": "OHP-012",
                "subject": "PROXY01 -> HVCL01/Cluster Disk 1",
                "expires": "2026-11-01",
                "owner": None,
                "ticket": None,
            }
        ],
        "unmatched": [
            {
                "id": "W-003",
                "rule_id": "OHP-020",
                "subject": "nothing",
                "expires": "2027-03-01",
                "owner": "me",
                "ticket": None,
            }
        ],
        "expiring_soon": [],
        "problems": [],
    },
}

FACTS = {
    "collection": [
        {"target": "PROXY01", "collector": "winrm.system", "status": "ok", "error": None, "duration_ms": 250.0},
        {
            "target": ESC_HOST,
            "collector": "winrm.system",
            "status": "error",
            "error": "connection refused <b>",
            "duration_ms": 3.0,
        },
    ]
}


def run():
    return Run(
        id=7,
        started_at="2026-12-01T02:00:00Z",
        meta=copy.deepcopy(META),
        facts=copy.deepcopy(FACTS),
        findings=findings(),
    )


def previous():
    old = findings()
    old[0]["status"] = "pass"  # OHP-010 regressed since
    old.append(
        _f(
            "OHP-002",
            "fail",
            "high",
            {"kind": "proxy_host", "name": "PROXY03 -> HV05", "proxy": "PROXY03", "host": "HV05"},
            "old failure",
        )
    )
    old[7]["status"] = "fail"  # OHP-002 PROXY02 -> HV01 fixed since
    return Run(
        id=6,
        started_at="2026-11-30T02:00:00Z",
        meta=copy.deepcopy(META) | {"targets": META["targets"] + ["PROXY03", "HV05"]},
        facts=None,
        findings=old,
    )


def trend():
    return [
        RunSummary(
            i,
            f"2026-11-{20 + i:02d}T02:00:00Z",
            {},
            {"status": {"fail": 10 - i, "unknown": i % 3, "waived": 1, "pass": 20}},
        )
        for i in range(6, 0, -1)
    ]


def many(n: int, fail_every: int = 5) -> Run:
    """n findings on distinct VMs, every fail_every-th failing (for caps and windowing)."""
    base = findings()
    out = []
    for i in range(n):
        f = dict(base[i % 3])
        f["subject"] = {"kind": "vm", "name": f"VM{i:06d}", "proxy": f"PROXY{i % 40:02d}", "vm": f"VM{i:06d}"}
        f["status"] = "fail" if i % fail_every == 0 else "pass"
        f["message"] = f"VM{i:06d} has a problem with a reasonably long explanation of what was found " * 2
        out.append(f)
    return Run(id=1, started_at="2026-12-01T00:00:00Z", meta=dict(META), facts=None, findings=out)
