"""Every injectable fault, as the real pywinrm client experiences it."""

from __future__ import annotations

import json

import pytest
import requests
from winrm.exceptions import InvalidCredentialsError, WinRMOperationTimeoutError, WSManFaultError

from offhost_audit.lab.faults import INTERNAL_ERROR_CODE, Faults, shape_stdout
from offhost_audit.lab.wsman import LabHost, LabServer


def _lab(kit, faults: Faults, **kwargs) -> LabServer:
    return LabServer([LabHost("ok", kit.Echo("ok")), LabHost("bad", kit.Echo("bad"), faults=faults)], **kwargs)


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_refuse_is_a_connection_error(kit, transport):
    with _lab(kit, Faults(refuse=True)) as lab:
        with pytest.raises(requests.exceptions.ConnectionError):
            kit.session(lab, "bad", transport).run_cmd("hostname")
        assert kit.session(lab, "ok", transport).run_cmd("hostname").status_code == 0


def test_drop_breaks_the_connection_mid_receive(kit):
    with _lab(kit, Faults(drop=True)) as lab:
        with pytest.raises(requests.exceptions.ChunkedEncodingError) as caught:
            kit.session(lab, "bad", "ntlm").run_cmd("hostname")
        assert "IncompleteRead" in str(caught.value)
        stats = lab.stats("bad")
        assert (stats["Command"], stats["injected_drop"]) == (1, 1)  # Create and Command went through


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_http_401_rejects_even_good_credentials(kit, transport):
    with _lab(kit, Faults(http_401=True)) as lab:
        with pytest.raises(InvalidCredentialsError):
            kit.session(lab, "bad", transport).run_cmd("hostname")


def test_http_500_on_command_is_a_wsman_fault(kit):
    with _lab(kit, Faults(http_500=True)) as lab:
        with pytest.raises(WSManFaultError) as caught:
            kit.session(lab, "bad", "ntlm").run_ps("Get-Service vmms")
        assert caught.value.code == 500
        assert caught.value.wsman_fault_code == INTERNAL_ERROR_CODE
        assert "http_500" in caught.value.reason


def test_wsman_timeout_once_is_retried_by_pywinrm(kit):
    with _lab(kit, Faults(wsman_timeout_once=True)) as lab:
        # pywinrm 0.5.0 maps WSManFault 2150858793 to WinRMOperationTimeoutError ...
        protocol = kit.protocol(lab.endpoint("bad"), "basic")
        shell = protocol.open_shell()
        command_id = protocol.run_command(shell, "hostname")
        with pytest.raises(WinRMOperationTimeoutError):
            protocol.get_command_output_raw(shell, command_id)
        # ... and get_command_output swallows it and asks again; later Receives work
        out, _, code = protocol.get_command_output(shell, command_id)
        assert (json.loads(out)["command"], code) == ("hostname", 0)
        protocol.cleanup_command(shell, command_id)
        protocol.close_shell(shell)


def test_wsman_timeout_once_run_cmd_completes(kit):
    with _lab(kit, Faults(wsman_timeout_once=True)) as lab:
        session = kit.session(lab, "bad", "ntlm")
        assert json.loads(session.run_ps("Get-Date").std_out)["script"] == "Get-Date"
        assert json.loads(session.run_ps("Get-Date").std_out)["script"] == "Get-Date"
        stats = lab.stats("bad")
        assert (stats["injected_timeout"], stats["Receive"]) == (1, 3)


def test_malformed_output_is_not_json(kit):
    with _lab(kit, Faults(malformed_output=True)) as lab:
        good = kit.session(lab, "ok", "basic").run_ps("Get-Disk | ConvertTo-Json").std_out
        bad = kit.session(lab, "bad", "basic").run_ps("Get-Disk | ConvertTo-Json").std_out
        json.loads(good.replace(b'"ok"', b'"bad"'))
        assert len(bad) == len(good) // 2
        with pytest.raises(json.JSONDecodeError):
            json.loads(bad)


def test_huge_output_arrives_whole_and_still_parses(kit):
    size = 3 * 1024 * 1024 + 7
    with _lab(kit, Faults(huge_output_bytes=size)) as lab:
        response = kit.session(lab, "bad", "ntlm").run_ps("Get-VM | ConvertTo-Json")
        assert len(response.std_out) == size
        assert json.loads(response.std_out)["script"] == "Get-VM | ConvertTo-Json"
        assert lab.stats("bad")["Receive"] == -(-size // (64 * 1024))  # 64 KiB per Receive


def test_latency_longer_than_the_client_timeout_is_a_read_timeout(kit):
    with _lab(kit, Faults(latency_s=4.0)) as lab:
        session = kit.session(lab, "bad", "basic", read_timeout_sec=2, operation_timeout_sec=1)
        with pytest.raises(requests.exceptions.ReadTimeout):
            session.run_cmd("hostname")
        assert (
            kit.session(lab, "ok", "basic", read_timeout_sec=2, operation_timeout_sec=1).run_cmd("x").status_code == 0
        )
    # stop() did not wait out the 4 s sleep of the connection thread (autouse fixture checks threads)


def test_faults_shape_stdout_in_order():
    assert shape_stdout(b'{"a": [1, 2, 3]}', Faults(malformed_output=True)) == b'{"a": [1'
    padded = shape_stdout(b'{"a": 1}', Faults(huge_output_bytes=5000))
    assert len(padded) == 5000 and json.loads(padded) == {"a": 1}
    assert shape_stdout(b"12345", Faults(huge_output_bytes=3)) == b"12345"  # never shortens
    with pytest.raises(ValueError):
        Faults(latency_s=-1)
