"""Shipped PowerShell scripts and the one way they are sent: ``-EncodedCommand`` with arguments as data.

The command line is ``powershell.exe -NoProfile -NonInteractive -EncodedCommand <B64>`` where B64
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
from typing import Any

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
