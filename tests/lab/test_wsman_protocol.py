"""The lab's WS-Management shell protocol, driven by the real pywinrm 0.5.0 client over HTTP."""

from __future__ import annotations

import json
import logging
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError, WSManFaultError

from offhost_audit.lab._wsman_soap import SHELL_NOT_FOUND_CODE
from offhost_audit.lab.wsman import LabHost, LabServer

TRANSPORTS = ["basic", "ntlm"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_run_cmd_round_trip(kit, transport):
    with LabServer([LabHost("hv01", kit.Echo("hv01"))]) as lab:
        response = kit.session(lab, "hv01", transport).run_cmd("ipconfig", ["/all", "/v"])
        assert response.status_code == 0
        assert json.loads(response.std_out) == {
            "host": "hv01",
            "command": "ipconfig",
            "arguments": ["/all /v"],
            "script": None,
        }
        assert response.std_err == b""
        assert lab.stats("hv01")["open_shells"] == 0  # Signal and Delete cleaned up


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_run_ps_round_trip_keeps_unicode(kit, transport):
    script = "Get-ClusterSharedVolume | ConvertTo-Json # Größe ✓"
    with LabServer([LabHost("hv01", kit.Echo("hv01"))]) as lab:
        response = kit.session(lab, "hv01", transport).run_ps(script)
        doc = json.loads(response.std_out)
        assert doc["script"] == script
        assert doc["command"].startswith("powershell -encodedcommand ")


def test_exit_code_and_stderr_reach_the_client(kit):
    with LabServer([LabHost("hv01", kit.Echo())]) as lab:
        session = kit.session(lab, "hv01", "basic")
        assert session.run_ps("exit 7").status_code == 7
        failed = session.run_ps("stderr access denied")
        assert (failed.status_code, failed.std_err) == (1, b"access denied")


def test_large_output_arrives_over_several_receives(kit):
    with LabServer([LabHost("hv01", kit.Echo())], receive_chunk_bytes=4096) as lab:
        protocol = kit.protocol(lab.endpoint("hv01"), "basic")
        shell = protocol.open_shell()
        command_id = protocol.run_command(shell, kit.ps("size 20000"))
        first_out, _, code, done = protocol.get_command_output_raw(shell, command_id)
        assert (len(first_out), code, done) == (4096, -1, False)  # CommandState Running
        rest, _, code = protocol.get_command_output(shell, command_id)
        assert (len(first_out + rest), code) == (20000, 0)
        protocol.cleanup_command(shell, command_id)
        protocol.close_shell(shell)
        assert lab.stats("hv01")["Receive"] == 5
        assert lab.stats("hv01")["open_shells"] == 0


def test_a_shell_serves_several_commands(kit):
    with LabServer([LabHost("hv01", kit.Echo())]) as lab:
        protocol = kit.protocol(lab.endpoint("hv01"))
        shell = protocol.open_shell()
        outputs = []
        for word in ("one", "two"):
            command_id = protocol.run_command(shell, "echo", [word])
            protocol.send_command_input(shell, command_id, "ignored input\r\n", end=True)
            outputs.append(json.loads(protocol.get_command_output(shell, command_id)[0])["arguments"])
            protocol.cleanup_command(shell, command_id)
        protocol.close_shell(shell)
        assert outputs == [["one"], ["two"]]


def test_unknown_shell_is_a_wsman_fault(kit):
    with LabServer([LabHost("hv01", kit.Echo())]) as lab:
        protocol = kit.protocol(lab.endpoint("hv01"), "basic")
        with pytest.raises(WSManFaultError) as caught:
            protocol.run_command("00000000-0000-0000-0000-000000000000", "hostname")
        assert caught.value.code == 500
        assert caught.value.wsman_fault_code == SHELL_NOT_FOUND_CODE
        assert "shell was not found" in caught.value.reason


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wrong_password_is_rejected(kit, transport):
    with LabServer([LabHost("hv01", kit.Echo())]) as lab:
        with pytest.raises(InvalidCredentialsError):
            kit.session(lab, "hv01", transport, password="wrong").run_cmd("hostname")
        assert lab.stats("hv01").get("Command", 0) == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_credentials_of_another_host_are_rejected(kit, transport):
    hosts = [LabHost("hv01", kit.Echo()), LabHost("hv02", kit.Echo(), username="lab\\other", password="0ther-Pass!")]
    with LabServer(hosts) as lab:
        assert (
            kit.session(lab, "hv02", transport, user="lab\\other", password="0ther-Pass!").run_cmd("x").status_code == 0
        )
        with pytest.raises(InvalidCredentialsError):
            kit.session(lab, "hv02", transport).run_cmd("hostname")  # hv01's valid account


def test_only_the_offered_auth_methods_work(kit):
    with LabServer([LabHost("hv01", kit.Echo())], auth=("basic",)) as lab:
        assert kit.session(lab, "hv01", "basic").run_cmd("x").status_code == 0
        with pytest.raises(InvalidCredentialsError):
            kit.session(lab, "hv01", "ntlm").run_cmd("x")


def test_ntlm_with_message_encryption_is_refused_clearly(kit):
    with LabServer([LabHost("hv01", kit.Echo())]) as lab:
        session = kit.session(lab, "hv01", "ntlm", message_encryption="auto")
        with pytest.raises(WinRMTransportError) as caught:
            session.run_cmd("x")
        assert caught.value.code == 415
        assert "message_encryption='never'" in caught.value.response_text


def test_passwords_never_reach_the_log(kit, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "S3cret-Value-42"
    with LabServer([LabHost("hv01", kit.Echo(), password=secret)]) as lab:
        kit.session(lab, "hv01", "basic", password=secret).run_cmd("x")
        kit.session(lab, "hv01", "ntlm", password=secret).run_cmd("x")
        with pytest.raises(InvalidCredentialsError):
            kit.session(lab, "hv01", "basic", password=secret + "x").run_cmd("x")
        assert secret not in repr(lab.hosts[0])
    assert caplog.records  # the lab did log (debug lines per request)
    assert secret not in caplog.text


def test_ipv6_loopback(kit):
    with LabServer([LabHost("hv01", kit.Echo())], bind="::1") as lab:
        assert lab.endpoint("hv01").startswith("http://[::1]:")
        # winrm.Session's URL parser has no IPv6 syntax; Protocol takes the URL as it is
        out, _, code = kit.run_cmd(kit.protocol(lab.endpoint("hv01"), "ntlm"), "hostname")
        assert (json.loads(out)["command"], code) == ("hostname", 0)


def test_responder_failure_is_a_fault_not_a_hang(kit):
    class Broken:
        def respond(self, command, arguments):
            raise RuntimeError("scenario has no answer for this")

    with LabServer([LabHost("hv01", Broken())]) as lab:
        with pytest.raises(WSManFaultError) as caught:
            kit.session(lab, "hv01", "basic").run_cmd("x")
        assert "scenario has no answer" in caught.value.reason


def test_session_object_from_pywinrm_accepts_lab_endpoint(kit):
    with LabServer([LabHost("hv01", kit.Echo())]) as lab:
        assert winrm.Session(
            lab.endpoint("hv01"), auth=(kit.USER, kit.PASSWORD), transport="basic"
        ).url == lab.endpoint("hv01")


def test_concurrent_clients_get_their_own_answers(kit):
    hosts = [LabHost("hv01", kit.Echo("hv01")), LabHost("hv02", kit.Echo("hv02"))]

    def one(index: int) -> tuple[str, str]:
        name, transport = ("hv01", "hv02")[index % 2], ("basic", "ntlm")[index // 2 % 2]
        doc = json.loads(kit.session(lab, name, transport).run_ps(f"Write-Output {index}").std_out)
        return doc["host"], doc["script"]

    with LabServer(hosts) as lab:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(one, range(96)))
        assert answers == [(("hv01", "hv02")[i % 2], f"Write-Output {i}") for i in range(96)]
        assert lab.stats("hv01")["Command"] == lab.stats("hv02")["Command"] == 48
        assert lab.stats("hv01")["open_shells"] == lab.stats("hv02")["open_shells"] == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hosts": []}, "at least one host"),
        ({"auth": ("credssp",)}, "auth must be"),
        ({"auth": ("kerberos",)}, "keytab go together"),
        ({"keytab": "/nonexistent.keytab"}, "keytab go together"),
        ({"auth": ()}, "auth must be"),
        ({"port": 65535, "extra": 1}, "no room"),
        ({"duplicate": True}, "two lab hosts are named"),
    ],
)
def test_bad_configuration_is_refused(kit, kwargs, message):
    hosts = kwargs.pop("hosts", [LabHost("hv01", kit.Echo())])
    if kwargs.pop("extra", 0):
        hosts.append(LabHost("hv02", kit.Echo()))
    if kwargs.pop("duplicate", False):
        hosts.append(LabHost("HV01", kit.Echo()))
    with pytest.raises(ValueError, match=message):
        LabServer(hosts, **kwargs)


def test_non_post_requests_are_refused(kit):
    with LabServer([LabHost("hv01", kit.Echo())]) as lab:
        answer = requests.get(lab.endpoint("hv01"), timeout=10)
        assert (answer.status_code, answer.headers["Allow"]) == (405, "POST")


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"POST /wsman HTTP/1.1\r\nHost: x\r\n\r\n", b"411"),
        (b"POST /wsman HTTP/1.1\r\nContent-Length: 5\r\nno colon here\r\n\r\n", b"400"),
        (b"POST /wsman HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", b"413"),
        (b"POST /wsman HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", b"401"),
    ],
)
def test_malformed_http_is_answered_and_the_lab_keeps_serving(kit, raw, status):
    with LabServer([LabHost("hv01", kit.Echo())]) as lab:
        port = int(lab.endpoint("hv01").rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(raw)
            answer = b""
            while chunk := conn.recv(65536):  # each of these answers closes the connection
                answer += chunk
        assert answer.split(b" ", 2)[1] == status
        assert kit.session(lab, "hv01", "basic").run_cmd("x").status_code == 0
