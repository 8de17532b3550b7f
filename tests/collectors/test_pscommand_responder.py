"""The command wrapper (values as data, never code) and the lab responder recognising scripts by their body."""

from __future__ import annotations

import base64
import json

from hypothesis import HealthCheck, given, settings, strategies as st

from offhost_audit.collectors import pscommand
from offhost_audit.collectors.psjson import decode_clixml
from offhost_audit.lab import scenario as scenarios
from offhost_audit.lab.responder import HostResponder

relaxed = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
values = st.recursive(
    st.one_of(st.text(max_size=30), st.integers(), st.booleans(), st.none()),
    lambda c: st.lists(c, max_size=3),
    max_leaves=8,
)


@relaxed
@given(
    st.sampled_from(pscommand.SCRIPTS),
    st.dictionaries(st.from_regex(r"[A-Za-z]\w{0,10}", fullmatch=True), values, max_size=3),
)
def test_arguments_round_trip_and_never_touch_the_script(name, args):
    command, argv = pscommand.command_line(name, args)
    assert command == "powershell.exe" and argv[:3] == ["-NoProfile", "-NonInteractive", "-EncodedCommand"]
    text = base64.b64decode(argv[3]).decode("utf-16-le")
    assert pscommand.script(name) in text  # the body is sent unchanged
    literal = text.split("FromBase64String('", 1)[1].split("')", 1)[0]
    assert set(literal) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    assert pscommand.decode_command(command, [" ".join(argv)]) == (name, args)


def test_scripts_follow_the_contract():
    for name in pscommand.SCRIPTS:
        body = pscommand.script(name)
        assert "$ErrorActionPreference = 'Stop'" in body and "ConvertTo-Json -Compress" in body
        assert "Set-StrictMode -Version Latest" in body
        assert not any(line.strip().startswith("#") for line in body.splitlines())  # comments stripped
        command, argv = pscommand.command_line(name, {"Names": ["VeeamDeploySvc"] * 3, "FeatureNames": ["Hyper-V"] * 3})
        assert len(command) + 1 + len(" ".join(argv)) < 8000  # WinRM runs it through cmd.exe: 8191 characters at most


def test_an_edited_script_is_not_recognised():
    command, argv = pscommand.command_line("services.ps1", {})
    text = base64.b64decode(argv[3]).decode("utf-16-le").replace("Get-Service", "Stop-Service")
    forged = base64.b64encode(text.encode("utf-16-le")).decode()
    assert pscommand.decode_command(command, argv[:3] + [forged]) is None


def _host(name="PROXY01", scenario="csv-healthy"):
    sc = scenarios.load(scenario)
    return HostResponder(next(h for h in sc["hosts"] if h["name"] == name), sc)


def test_responder_unknown_script_is_a_powershell_error():
    plain = base64.b64encode("Get-Process".encode("utf-16-le")).decode()
    r = _host().respond("powershell", [f"-encodedcommand {plain}"])
    assert r.exit_code == 1 and r.stdout == b"" and r.stderr.startswith(b"#< CLIXML")
    assert "only the shipped" in decode_clixml(r.stderr.decode())
    assert _host().respond("ipconfig", ["/all"]).exit_code == 1


def test_responder_prints_ps51_shapes():
    r = _host().respond(*_split(pscommand.command_line("services.ps1", {"Names": ["VeeamDeploySvc"]})))
    assert r.exit_code == 0 and json.loads(r.stdout) == {
        "Name": "VeeamDeploySvc",
        "DisplayName": "Veeam Installer Service",
        "Status": 4,
        "StartType": 2,
    }
    r = _host("HV01").respond(*_split(pscommand.command_line("services.ps1", {})))
    assert r.stdout == b""  # none installed: empty output, like PowerShell
    r = _host().respond(*_split(pscommand.command_line("system.ps1", {})))
    assert b'"LastBootUpTime":"\\/Date(' in r.stdout and b'"ProductType":3' in r.stdout


def _split(cmd):
    command, argv = cmd
    return command, [" ".join(argv)]
