"""Shipped PowerShell scripts and how they are sent, arguments always as data: one host's scripts
batched in one ``powershell.exe`` (the default; see "batching" below), or each alone as
``-EncodedCommand`` (``--no-batch``).

Alone, the command line is ``powershell.exe -NoProfile -NonInteractive -EncodedCommand <B64>`` where B64
is the UTF-16LE base64 of a fixed wrapper::

    $ProgressPreference='SilentlyContinue'; $ErrorActionPreference='Stop'
    [Console]::OutputEncoding=New-Object System.Text.UTF8Encoding $false
    $__a=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('<ARGS>'))|ConvertFrom-Json
    $__p=@{}; foreach($__x in $__a.PSObject.Properties){$__p[$__x.Name]=$__x.Value}
    & {
    <the shipped script, unchanged apart from comment lines>
    } @__p

``<ARGS>`` is the base64 of a JSON object of named parameters. Base64 text is letters, digits,
``+/=`` only, so it cannot close the single-quoted string: values never become code. The script
body is the shipped file, so a receiver can tell which script was sent by comparing bodies (the lab
does exactly that). Scripts are package data loaded with importlib.resources, comment lines stripped:
WinRM starts the command through cmd.exe, whose command line holds 8191 characters at most, and the
UTF-16 base64 text is about 2.7 times the script's size (tests keep every script under that limit).
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from offhost_audit.collector_specs import BY_SCRIPT

POWERSHELL = "powershell.exe"
POWERSHELL_ARGS = ("-NoProfile", "-NonInteractive", "-EncodedCommand")

_PRELUDE = (
    "$ProgressPreference='SilentlyContinue'; $ErrorActionPreference='Stop'\n"
    "[Console]::OutputEncoding=New-Object System.Text.UTF8Encoding $false\n"
    "$__a=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('{args}'))|ConvertFrom-Json\n"
    "$__p=@{{}}; foreach($__x in $__a.PSObject.Properties){{$__p[$__x.Name]=$__x.Value}}\n"
    "& {{\n"
)
_POSTLUDE = "\n} @__p\n"
_WRAPPED = re.compile(r"FromBase64String\('(?P<args>[A-Za-z0-9+/=]*)'\).*?\n& \{\n(?P<body>.*)\n\} @__p\n?\Z", re.S)

SCRIPTS = tuple(BY_SCRIPT)  # the shipped scripts, one per WinRM collector (collector_specs)


def strip_comments(text: str) -> str:
    """Drop full-line ``#`` comments and blank lines (keeps ``#requires``); code lines stay as they are."""
    out = []
    for line in text.replace("\r\n", "\n").split("\n"):
        s = line.strip()
        if not s or (s.startswith("#") and not s.lower().startswith("#requires")):
            continue
        out.append(line.rstrip())
    return "\n".join(out)


@cache
def script(name: str) -> str:
    """The shipped script ``collectors/ps/<name>``, comments stripped."""
    if name not in SCRIPTS:
        raise KeyError(f"no shipped PowerShell script named {name!r}")
    raw = resources.files("offhost_audit.collectors").joinpath("ps").joinpath(name).read_text(encoding="utf-8-sig")
    return strip_comments(raw)


def encode_arguments(arguments: dict[str, Any] | None) -> str:
    doc = json.dumps(arguments or {}, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(doc.encode("utf-8")).decode("ascii")


def wrap(name: str, arguments: dict[str, Any] | None = None) -> str:
    """The full PowerShell text that runs script ``name`` with ``arguments`` as named parameters."""
    return _PRELUDE.format(args=encode_arguments(arguments)) + script(name) + _POSTLUDE


def command_line(name: str, arguments: dict[str, Any] | None = None) -> tuple[str, list[str]]:
    """(command, arguments) for WS-Man rsp:Command / rsp:Arguments."""
    encoded = base64.b64encode(wrap(name, arguments).encode("utf-16-le")).decode("ascii")
    return POWERSHELL, [*POWERSHELL_ARGS, encoded]


def decode_command(command: str, arguments: list[str]) -> tuple[str, dict[str, Any]] | None:
    """Inverse of :func:`command_line`: (script name, arguments), or None if it is not one of ours.

    Accepts the arguments split or joined in one string (pywinrm joins them into one rsp:Arguments).
    """
    parts = [p for chunk in (command, *arguments) for p in chunk.split()]
    encoded = None
    for i, part in enumerate(parts[:-1]):
        if part.lower() in ("-encodedcommand", "-enc", "-e", "-ec"):
            encoded = parts[i + 1]
    if encoded is None:
        return None
    try:
        text = base64.b64decode(encoded, validate=True).decode("utf-16-le")
    except (ValueError, UnicodeDecodeError):
        return None
    m = _WRAPPED.search(text)
    if not m:
        return None
    body = m.group("body")
    name = next((n for n in SCRIPTS if script(n) == body), None)
    if name is None:
        return None
    try:
        args = json.loads(base64.b64decode(m.group("args")).decode("utf-8") or "{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return name, args if isinstance(args, dict) else {}


# --- batching: every script of a host in one powershell.exe, the scripts sent as data on stdin ---------
#
# The command line carries only a fixed bootstrap (:data:`BATCH_BOOTSTRAP`, no values in it); the
# scripts travel on the command's standard input (WS-Man Send), as base64 of a UTF-8 JSON document
# ``{"v": 1, "scripts": [{"id": "system.ps1", "body": <shipped script>, "args": {...}, "timeout_ms": n}]}``.
# Base64 is plain ASCII, so the console code page cannot change it, and its length has no command-line
# limit. The bootstrap reads stdin to the end with ``$input | Out-String`` (the pattern Ansible's WinRM
# connection plugin sends its exec wrapper with), then runs each script in turn in one runspace (modules a
# script loads stay loaded for the next), each in its own scope (``AddScript(body, $true)``), its arguments
# bound as parameters (``AddParameters``: data, never text), within its own time limit (``BeginInvoke`` +
# ``WaitOne``; past it the pipeline is stopped and the runspace replaced). After each script it writes one
# line: :data:`RECORD_MARK` and a JSON record ``{"id", "exit", "out", "err", "ms"}`` (``exit`` 0: ran;
# 1: a terminating error, ``err`` its text; -1: past its time limit). Not verified against real Windows
# here (README): ``--no-batch`` keeps the one-process-per-script path.

RECORD_MARK = "#<offhost-audit-record>"
BATCH_TIMEOUT_EXIT = -1

BATCH_BOOTSTRAP = (
    "$ProgressPreference='SilentlyContinue'; $ErrorActionPreference='Stop'\n"
    "[Console]::OutputEncoding=New-Object System.Text.UTF8Encoding $false\n"
    "$__in=($input|Out-String) -replace '\\s',''\n"
    "$__b=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($__in))|ConvertFrom-Json\n"
    "$__rs=$null\n"
    "foreach($__s in @($__b.scripts)){\n"
    " $__w=[Diagnostics.Stopwatch]::StartNew()\n"
    " $__r=[ordered]@{id=[string]$__s.id;exit=0;out='';err='';ms=0}\n"
    " if($null -eq $__rs){$__rs=[RunspaceFactory]::CreateRunspace();$__rs.Open()\n"
    "  $__rs.SessionStateProxy.SetVariable('ErrorActionPreference','Stop')\n"
    "  $__rs.SessionStateProxy.SetVariable('ProgressPreference','SilentlyContinue')}\n"
    " $__p=@{}; foreach($__x in $__s.args.PSObject.Properties){$__p[$__x.Name]=$__x.Value}\n"
    " $__ps=[PowerShell]::Create(); $__ps.Runspace=$__rs\n"
    " [void]$__ps.AddScript([string]$__s.body,$true).AddParameters($__p)\n"
    " $__h=$__ps.BeginInvoke()\n"
    " if($__h.AsyncWaitHandle.WaitOne([int]$__s.timeout_ms)){\n"
    '  try{$__r.out=(@($__ps.EndInvoke($__h))|ForEach-Object{[string]$_}) -join "`n"}\n'
    "  catch{$__e=$_.Exception; if($__e.InnerException){$__e=$__e.InnerException}\n"
    "   $__r.exit=1; $__r.err=if($__e.ErrorRecord){$__e.ErrorRecord|Out-String -Width 4096}else{$__e.Message}}\n"
    "  $__ps.Dispose()\n"
    " }else{[void]$__ps.BeginStop($null,$null); $__rs=$null; $__r.exit=-1}\n"
    " $__r.ms=$__w.ElapsedMilliseconds\n"
    " [Console]::Out.WriteLine('" + RECORD_MARK + " '+([pscustomobject]$__r|ConvertTo-Json -Compress))\n"
    " [Console]::Out.Flush()\n"
    "}\n"
)


class BatchItem(NamedTuple):
    script: str  # a shipped script's name (SCRIPTS)
    arguments: dict[str, Any]
    timeout_s: float  # its own time limit inside the batch


class BatchRecord(NamedTuple):
    script: str
    exit: int  # 0 ran, 1 a terminating error, BATCH_TIMEOUT_EXIT past its time limit
    out: str  # what it printed (its ConvertTo-Json document)
    err: str  # the error's text (exit 1)
    ms: int


def batch_command() -> tuple[str, list[str]]:
    """(command, arguments) of the batch: powershell.exe with the fixed bootstrap (no values in it)."""
    encoded = base64.b64encode(BATCH_BOOTSTRAP.encode("utf-16-le")).decode("ascii")
    return POWERSHELL, [*POWERSHELL_ARGS, encoded]


def batch_input(items: list[BatchItem]) -> bytes:
    """The batch's standard input: base64 of the JSON plan (scripts as shipped, arguments as data), CRLF."""
    plan = {
        "v": 1,
        "scripts": [
            {
                "id": i.script,
                "body": script(i.script),
                "args": i.arguments,
                "timeout_ms": max(1, round(i.timeout_s * 1000)),
            }
            for i in items
        ],
    }
    doc = json.dumps(plan, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.b64encode(doc) + b"\r\n"


def is_batch(command: str, arguments: list[str]) -> bool:
    """True when the command is the batch bootstrap (the receiver then reads the plan from stdin)."""
    parts = [p for chunk in (command, *arguments) for p in chunk.split()]
    return bool(parts) and parts[-1] == batch_command()[1][-1]


def decode_batch_input(stdin: bytes) -> list[tuple[str | None, dict[str, Any], float]]:
    """Inverse of :func:`batch_input`: (script name or None for a body that is not shipped, arguments,
    time limit in seconds) per item. Raises ValueError when stdin is not a plan."""
    doc = json.loads(base64.b64decode(b"".join(stdin.split()), validate=True).decode("utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("scripts"), list):
        raise ValueError("the batch input has no scripts list")
    out: list[tuple[str | None, dict[str, Any], float]] = []
    for item in doc["scripts"]:
        body, name = item.get("body"), item.get("id")
        shipped = name if name in SCRIPTS and script(name) == body else None
        args = item.get("args") if isinstance(item.get("args"), dict) else {}
        out.append((shipped, args, float(item.get("timeout_ms") or 0) / 1000))
    return out


def parse_records(stdout: str) -> tuple[dict[str, BatchRecord], str]:
    """The complete records in a batch's stdout, by script, and the text after the last complete line
    (a record still arriving, or other text). Lines that are not records are ignored."""
    records: dict[str, BatchRecord] = {}
    lines = stdout.split("\n")
    tail = lines.pop()  # no newline yet: not complete
    for line in lines:
        line = line.rstrip("\r")
        if not line.startswith(RECORD_MARK):
            continue
        try:
            r = json.loads(line[len(RECORD_MARK) :])
        except (json.JSONDecodeError, RecursionError):
            continue
        if not isinstance(r, dict) or not isinstance(r.get("id"), str):
            continue
        code, out, err, ms = r.get("exit"), r.get("out"), r.get("err"), r.get("ms")
        records[r["id"]] = BatchRecord(
            r["id"],
            code if isinstance(code, int) and not isinstance(code, bool) else 1,
            out if isinstance(out, str) else "",
            err if isinstance(err, str) else "",
            ms if isinstance(ms, int) and not isinstance(ms, bool) else 0,
        )
    return records, tail
