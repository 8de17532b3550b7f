"""A reading of the shipped fix scripts' text (no PowerShell runs here, nor in CI): every line that
changes something, cmdlets and native programs alike, sits inside a ``$PSCmdlet.ShouldProcess``
block; every script declares SupportsShouldProcess; none turns data into code."""

from __future__ import annotations

import re

import pytest

from offhost_audit import fixes

# verbs whose cmdlets change a machine (PowerShell's approved "data"/"lifecycle"/"security" verbs
# that act), and native programs that change things
_VERBS = (
    "Set|Install|Uninstall|Grant|Revoke|Block|Unblock|Start|Stop|Restart|Enable|Disable|Connect|Disconnect|Add|"
    "Remove|New|Register|Unregister|Update|Clear|Move|Rename|Suspend|Resume|Initialize|Format|Mount|Dismount|Reset|"
    "Invoke|Import-VM|Export|Repair|Optimize|Publish|Unpublish|Deny|Protect|Unprotect|Write-Registry|Copy"
)
CHANGING = re.compile(
    rf"(?i)(?<![\w$-])(?:(?:{_VERBS})-[A-Za-z]+|(?:icacls|netdom|sc|reg|bcdedit|dism|diskpart|iscsicli|mpclaim|"
    r"shutdown|net|takeown|cacls|wmic|vssadmin|fsutil|powercfg|netsh)(?:\.exe)?(?=\s|$))"
)
# not changes: objects in memory, the session's own settings, reading modules
HARMLESS = {"new-object", "set-strictmode", "import-module"}
FORBIDDEN = re.compile(
    r"(?i)invoke-expression|\biex\b|\[scriptblock\]::create|add-type|-encodedcommand|\.invokescript|"
    r"&\s*\$|\bstart-process\b|invoke-command|new-pssession"
)
_STRING = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"`]|`.)*\"")
_GUARD = "$pscmdlet.shouldprocess("


def unguarded(text: str) -> list[tuple[int, str]]:
    """(line number, command) for every changing command outside a ShouldProcess block."""
    out: list[tuple[int, str]] = []
    stack: list[bool] = []  # one entry per open brace: whether it opened a ShouldProcess block
    in_help = False
    for no, raw in enumerate(text.splitlines(), 1):
        if raw.strip().startswith("<#"):
            in_help = True
        if in_help:
            in_help = "#>" not in raw
            continue
        guard_line = raw.lower()
        line = _STRING.sub("''", raw.split(" # ")[0] if not raw.lstrip().startswith("#") else "")
        if line.lstrip().startswith("#"):
            continue
        for m in CHANGING.finditer(line):
            word = m.group().lower()
            if word in HARMLESS:
                continue
            depth_state = _state_at(line, m.start(), stack, guard_line)
            if not any(depth_state):
                out.append((no, m.group()))
        _state_at(line, len(line), stack, guard_line, commit=True)
    return out


def _state_at(line: str, pos: int, stack: list[bool], guard_line: str, commit: bool = False) -> list[bool]:
    s = stack if commit else list(stack)
    segment_start = 0
    for i, c in enumerate(line[:pos]):
        if c == "{":
            s.append(_GUARD in guard_line[segment_start:i].lower() if guard_line else False)
            segment_start = i + 1
        elif c == "}":
            if s:
                s.pop()
            segment_start = i + 1
    return s


@pytest.mark.parametrize("name", fixes.SCRIPTS)
def test_every_changing_line_is_inside_should_process(name):
    text = fixes.script_bytes(name).decode("utf-8")
    assert unguarded(text) == []
    assert "[CmdletBinding(SupportsShouldProcess = $true" in text
    assert text.count("$PSCmdlet.ShouldProcess(") >= 1
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not FORBIDDEN.search(_STRING.sub("''", code)), "data must never become code"
    assert "Set-StrictMode -Version Latest" in text and "$ErrorActionPreference = 'Stop'" in text


@pytest.mark.parametrize("name", fixes.SCRIPTS)
def test_each_script_takes_only_its_own_kinds_and_checks_the_machine(name):
    text = fixes.script_bytes(name).decode("utf-8")
    kinds = [k for k, (s, _, _) in fixes.KINDS.items() if s == name]
    assert kinds and set(re.findall(r"\$_\.kind -eq '([a-z_]+)'", text)) == set(kinds)
    assert "offhost-audit-fix-data/1" in text and fixes.DATA_FORMAT == "offhost-audit-fix-data/1"
    if name != "Enable-NestedVirtualization.ps1":  # that one runs on the VM's host, not the audited machine
        assert "$data.audit.os_build" in text and "$env:COMPUTERNAME" in text
    assert text.isascii() and "\r" not in text  # byte-identical everywhere, no encoding surprises
    assert len(text.splitlines()) < 120  # short enough to review


def test_the_reader_flags_what_it_must():
    assert unguarded("Set-Service -Name X -StartupType Automatic\n") == [(1, "Set-Service")]
    assert unguarded("& icacls.exe $p '/grant' $x\n") == [(1, "icacls.exe")]
    assert unguarded("if ($x) {\n    Start-Service -Name X\n}\n") == [(2, "Start-Service")]
    guarded = "if ($PSCmdlet.ShouldProcess('x', 'y')) {\n    Start-Service -Name X\n    & icacls.exe a b\n}\n"
    assert unguarded(guarded) == []
    assert unguarded("if ($PSCmdlet.ShouldProcess('x', 'y')) { Stop-Service X }\nStop-Service Y\n") == [
        (2, "Stop-Service")
    ]
    assert unguarded("} elseif ($PSCmdlet.ShouldProcess('a', 'b')) {\n Set-Item x\n}\n") == []
    assert unguarded("Write-Output 'Set-Service is not run here'\n$o = New-Object Foo\n") == []
    assert unguarded("# Set-Service in a comment\n") == []
    assert FORBIDDEN.search("Invoke-Expression $data.x") and FORBIDDEN.search("& $cmd")


def test_the_shipped_folder_holds_exactly_the_scripts_of_the_kinds():
    from importlib import resources

    shipped = {
        p.name for p in resources.files("offhost_audit.fixes").joinpath("ps").iterdir() if p.name.endswith(".ps1")
    }
    assert shipped == set(fixes.SCRIPTS) == {s for s, _, _ in fixes.KINDS.values()}


_DQ = re.compile(r"\"(?:[^\"`]|`.)*\"")
# "$name:" in a double-quoted string is a drive-qualified variable to PowerShell: a parse error
_VAR_COLON = re.compile(r"\$(?!env:)(?!\()[A-Za-z_][A-Za-z0-9_]*:")


def syntax_slips(text: str) -> list[str]:
    """What this reader can tell without PowerShell: unbalanced brackets and quotes, and "$var:"
    inside a double-quoted string."""
    out = []
    code_lines = []
    in_help = False
    for no, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("<#"):
            in_help = True
        if in_help:
            in_help = "#>" not in line
            continue
        if line.lstrip().startswith("#"):
            continue
        for s in _DQ.findall(line):
            if _VAR_COLON.search(s):
                out.append(f"line {no}: {s}")
        stripped = _STRING.sub("''", line)
        if stripped.count("'") % 2 or stripped.count('"') % 2:
            out.append(f"line {no}: an unterminated string")
        code_lines.append(stripped.split(" # ")[0])
    code = "\n".join(code_lines)
    for a, b in ("{}", "()", "[]"):
        if code.count(a) != code.count(b):
            out.append(f"unbalanced {a}{b}: {code.count(a)} / {code.count(b)}")
    return out


@pytest.mark.parametrize("name", fixes.SCRIPTS)
def test_no_syntax_slip_a_reader_can_see(name):
    assert syntax_slips(fixes.script_bytes(name).decode("utf-8")) == []


def test_the_syntax_reader_sees_slips():
    assert syntax_slips('Write-Output "step $id: done"\n')
    assert syntax_slips("if ($x { }\n")
    assert syntax_slips("Write-Output 'open\n")
    assert syntax_slips('Write-Output "step $($s.id): $env:COMPUTERNAME ok"\n') == []
