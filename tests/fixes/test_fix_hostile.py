"""Hostile names from the estate (quotes, $(), backticks, newlines, Unicode, a command) in every
field the fixes use end up only in the data documents: never in a script (the folder holds the
shipped files byte for byte), never raw in README.md, never in a file name."""

from __future__ import annotations

import json

import pytest

from offhost_audit import fixes
from offhost_audit.reports import fix_folder
from offhost_audit.reports.formats import md

from .conftest import write_folder

HOSTILE = [
    "x'; Remove-Item C:\\ -Recurse; '",
    '$(Stop-Computer -Force)"',
    "a`nb`$c",
    "line1\nline2\r\n| # [x](y) <b>",
    "\u202eexe.\u0394\u00e9\u4e2d\U0001f600",
]
SID = "S-1-5-21-1-2-3-1105"


def _estate(bad: str) -> tuple[dict, list]:
    """Facts and failing findings that reach every handler that writes a step, with ``bad`` in
    every name: proxy, VM, share, share path, account, domain, iSCSI target, job, proxies of a job."""
    proxy, fs, vbr = f"P{bad}", f"F{bad}", f"V{bad}"
    share_unc = f"\\\\{fs}\\S{bad}"
    facts = {
        "hosts": [
            {
                "name": proxy,
                "os": {"build": 20348},
                "features": {"hyperv": False, "dedup": False},
                "veeam_services": [{"name": "VeeamTransportSvc", "status": "stopped", "start_type": "disabled"}],
                "storage": {
                    "san_policy": "online_all",
                    "iscsi_sessions": [{"target": f"iqn.{bad}", "connected": False}],
                },
            },
            {"name": fs, "os": {"build": 17763}},
        ],
        "shares": [
            {"unc": share_unc, "server": fs, "name": f"S{bad}", "path": f"D:\\{bad}", "share_acl": [], "ntfs_acl": []}
        ],
        "computer_accounts": [
            {
                "name": proxy,
                "sam_account_name": f"{proxy}$",
                "domain": f"d{bad}",
                "sid": SID,
                "token_groups": [],
                "logon_sids": [],
            }
        ],
        "domains": [{"dns_name": f"d{bad}", "netbios_name": f"N{bad}"}],
        "vbr": {
            "server": vbr,
            "proxies": [{"name": f"Q{bad}", "disabled": True, "source": "powershell"}],
            "jobs": [
                {
                    "name": f"J{bad}",
                    "proxies": {"automatic": False, "names": [f"G{bad}", f"Q{bad}"]},
                    "source": "powershell",
                }
            ],
        },
    }
    subject = {"kind": "proxy", "name": proxy, "proxy": proxy}
    found = [
        {"rule_id": r, "status": "fail", "subject": subject, "message": bad}
        for r in ("OHP-003", "OHP-004", "OHP-007", "OHP-001", "OHP-013", "OHP-010")
    ]
    found += [
        {
            "rule_id": "OHP-012",
            "status": "fail",
            "subject": {"kind": "proxy_csv", "name": f"{proxy} -> c", "proxy": proxy, "cluster": bad, "csv": bad},
        },
        {
            "rule_id": "OHP-011",
            "status": "fail",
            "subject": {"kind": "proxy_csv", "name": f"{proxy} -> c", "proxy": proxy, "cluster": bad, "csv": bad},
        },
        {
            "rule_id": "OHP-021",
            "status": "fail",
            "subject": {"kind": "proxy_share", "name": f"{proxy} -> {share_unc}", "proxy": proxy, "share": share_unc},
        },
        {
            "rule_id": "OHP-041",
            "status": "fail",
            "subject": {"kind": "job_proxy", "name": "j1", "job": f"J{bad}", "candidate": f"G{bad}"},
        },
        {
            "rule_id": "OHP-041",
            "status": "fail",
            "subject": {"kind": "job_proxy", "name": "j2", "job": f"J{bad}", "candidate": f"Q{bad}"},
        },
    ]
    return facts, found


@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_values_stay_data(bad, tmp_path):
    facts, found = _estate(bad)
    plan = fixes.plan(facts, found, run={"run": 1, "started_at": bad})
    kinds = {s.kind for h in plan.hosts.values() for s in h.steps}
    assert kinds == set(fixes.KINDS)  # every kind of step, every field hostile
    out = write_folder(tmp_path, plan)
    names = {p.name for p in out.iterdir()}
    assert all(n.isascii() and "\n" not in n and "'" not in n and "$" not in n for n in names)
    docs = [
        json.loads((out / n).read_text(encoding="utf-8"))
        for n in names
        if n.endswith(".json") and n != fixes.SCHEMA_FILE
    ]
    assert docs and all(fixes.validate(d) == [] for d in docs)
    text = json.dumps(docs, ensure_ascii=False)
    assert bad in text or json.dumps(bad, ensure_ascii=False)[1:-1] in text  # the value arrives, as JSON data
    for n in names:
        if n.endswith(".ps1"):
            data = (out / n).read_bytes()
            assert data == fixes.script_bytes(n)  # the shipped file, unchanged
            assert bad.encode("utf-8", "surrogatepass") not in data
    readme = (out / "README.md").read_text(encoding="utf-8")
    if md(bad) != bad:  # a value with Markdown or line-breaking characters never appears raw
        assert bad not in readme
    assert md(f"P{bad}") in readme
    assert "\u202e" not in readme and "\r" not in readme


def test_data_file_names_are_safe_and_distinct():
    facts, found = _estate("CON")
    facts["hosts"][0]["name"] = "CON"
    plan = fixes.plan(facts, [dict(f, subject=dict(f["subject"], proxy="CON", name="CON")) for f in found[:2]])
    names = fix_folder.data_file_names(plan)
    assert names["CON"].startswith("CON-") and names["CON"].endswith(".json")
    plan.hosts["A_B"] = fixes.HostFix("A_B", None)
    plan.hosts["A B"] = fixes.HostFix("A B", None)
    names = fix_folder.data_file_names(plan)
    assert len(set(names.values())) == len(names)
