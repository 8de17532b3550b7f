"""``offhost-audit fix -o DIR``: the fix folder a human reviews before running anything.

The folder holds the shipped scripts the plan needs (byte for byte: values never enter them), one
data document per machine (``<HOST>.json``, valid against ``fix-data.schema.json``, copied beside
them), ``README.md`` (per machine: what changes, what stays manual and why, the findings each step
addresses, how to run with ``-WhatIf`` first) and ``SHA256SUMS`` over every other file. Files are
written like report files (offhost_audit/reports/folder.py: O_CREAT|O_EXCL|O_NOFOLLOW, then a
rename), into a folder that must be new or empty: a stale data document must not sit beside the
new ones, and nothing planted there in advance is written through.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from offhost_audit import __version__, fixes
from offhost_audit.errors import OutputError
from offhost_audit.reports.folder import ReportFolder
from offhost_audit.reports.formats import md

MANIFEST = "SHA256SUMS"
_SAFE = re.compile(r"[^A-Za-z0-9_-]")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


def data_file_names(plan: fixes.FixPlan) -> dict[str, str]:
    """host key -> its data document's file name: the host's name when it is plain letters, digits,
    ``-`` and ``_`` (and not a Windows device name), else a safe form plus a hash of the name."""
    out: dict[str, str] = {}
    for key, h in plan.hosts.items():
        stem = _SAFE.sub("_", h.host)[:60] or "host"
        if stem != h.host or stem.upper() in _RESERVED or stem.lower() in {n.lower()[:-5] for n in out.values()}:
            stem = f"{stem}-{hashlib.sha256(h.host.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"
        out[key] = f"{stem}.json"
    return out


def contents(plan: fixes.FixPlan) -> dict[str, bytes]:
    """Every file of the fix folder but the manifest: name -> bytes."""
    names = data_file_names(plan)
    files: dict[str, bytes] = {}
    for key, h in plan.hosts.items():
        if h.steps:
            doc = h.document(plan.run)
            files[names[key]] = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            for s in h.scripts:
                files[s] = fixes.script_bytes(s)
    if files:
        files[fixes.SCHEMA_FILE] = fixes.schema_text().encode("utf-8")
    files["README.md"] = readme(plan, names).encode("utf-8")
    return files


def manifest(files: dict[str, bytes]) -> bytes:
    """``sha256sum`` format: ``<hex>  <name>`` per file, sorted by name."""
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())).encode()


def write(path: str | os.PathLike[str], plan: fixes.FixPlan) -> tuple[list[str], str]:
    """Write the fix folder; (the file names, the SHA-256 of the manifest itself)."""
    folder = Path(path)
    try:
        present = os.listdir(folder) if folder.is_dir() else None
    except OSError as e:
        raise OutputError(f"{folder}: cannot read the folder: {e.strerror}") from None
    if present:
        raise OutputError(
            f"{folder}: not empty; fix scripts go into a new or empty folder (a stale data document must not sit beside them)"
        )
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: not a folder")
    files = contents(plan)
    sums = manifest(files)
    with ReportFolder(folder) as out:
        for name, data in sorted(files.items()):
            out.write(name, data)
        out.write(MANIFEST, sums)
    return [*sorted(files), MANIFEST], hashlib.sha256(sums).hexdigest()


# --- README.md: every value from the estate passes through md() (escaped, one line) ----------------


def _refs(addresses: list[dict[str, str]]) -> str:
    return "; ".join(f"{md(a['rule_id'])} {md(a['subject'])}" for a in addresses)


def readme(plan: fixes.FixPlan, names: dict[str, str]) -> str:
    run = plan.run
    out = [
        f"# Fixes for run {md(run.get('run') if run.get('run') is not None else '(not stored)')}",
        "",
        f"Written by offhost-audit {md(__version__)} from the audit started {md(run.get('started_at') or '(unknown)')}. "
        "**offhost-audit never runs these scripts, and neither does its CI** (no PowerShell runs there): a human "
        "reviews them and runs them on each machine.",
        "",
        "## Before you run anything",
        "",
        f"1. Check that nothing in this folder changed since it was written: `sha256sum -c {MANIFEST}` (Linux), or on "
        f"Windows compare `Get-FileHash -Algorithm SHA256 .\\*` with `{MANIFEST}`. The command that wrote the folder "
        f"printed the SHA-256 of `{MANIFEST}` itself: compare it too.",
        "2. Read the scripts: each is short, commented, and says what it checks and what it changes. They are the "
        "shipped files, the same for every estate; what differs per machine is its data document (`<HOST>.json`, "
        f"schema `{fixes.SCHEMA_FILE}`), which they read as data only.",
        "3. Run each script first with `-WhatIf` (it prints every change and makes none), e.g. "
        "`.\\Install-ProxyFeature.ps1 -DataFile .\\PROXY01.json -WhatIf`; then without it (`-Confirm` asks before "
        "each change). Each step checks the machine first: a step already done says so; a machine that differs "
        "from the audit (another OS build, a share gone, a job changed) stops the step with a message.",
        "4. Afterwards audit again (`offhost-audit audit ...`); `offhost-audit diff` shows the fixed findings.",
        "",
    ]
    if not plan.hosts:
        out += ["No failing finding in this run has a fix or a manual step.", ""]
    for key, h in plan.hosts.items():
        out += [f"## {md(h.host)}", ""]
        if h.steps:
            out += [
                f"Data document: `{names[key]}` (OS build read by the audit: {md(h.os_build if h.os_build is not None else 'not read')}).",
                "",
                "| # | script | runs on | what changes | findings addressed |",
                "|---|---|---|---|---|",
            ]
            for i, s in enumerate(h.steps, 1):
                _, where, _ = fixes.KINDS[s.kind]
                out.append(f"| {i} | `{s.script}` | {md(where)} | {md(s.summary)} | {_refs(s.addresses)} |")
            out += ["", "Run, in this order:", "", "```powershell"]
            for s in {s.script: s for s in h.steps}.values():
                out.append(f".\\{s.script} -DataFile .\\{names[key]} -WhatIf   # on {fixes.KINDS[s.kind][1]}")
            out += ["```", ""]
        if h.manual:
            out += ["Manual steps (no script makes these changes):", ""]
            for m in h.manual:
                out += [
                    f"- **{md(m.title)}**. Why manual: {md(m.why)}. What to do: {md(m.todo)} "
                    f"Check afterwards: {md(m.check)}. Findings: {_refs(m.addresses)}.",
                ]
            out.append("")
    if plan.untouched:
        out += ["## Failing findings without a fix here", ""]
        out += [f"- {_refs([r])}" for r in plan.untouched]
        out.append("")
    out += ["## Rules and kinds of fix", "", "| rule | scripted kinds | stays manual |", "|---|---|---|"]
    for rule, (kinds, manual) in fixes.RULE_FIXES.items():
        out.append(f"| {rule} | {', '.join(kinds) or '-'} | {md(manual) or '-'} |")
    return "\n".join(out) + "\n"
