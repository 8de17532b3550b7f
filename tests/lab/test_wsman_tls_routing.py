"""HTTPS with the lab CA, routing on the Host header, and the server's life cycle."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import ssl
import stat
import threading

import pytest
import requests
from cryptography import x509
from winrm.exceptions import WinRMTransportError

from offhost_audit.lab.faults import Faults
from offhost_audit.lab.tls import write_tls_files
from offhost_audit.lab.wsman import LabHost, LabServer


def _refused(port: int, bind: str = "127.0.0.1") -> bool:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.connect((bind, port))
        except ConnectionRefusedError:
            return True
    return False


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_https_with_lab_ca_validates(kit, transport):
    with LabServer([LabHost("hv01.lab.test", kit.Echo("hv01"))], https=True) as lab:
        assert lab.endpoint("hv01.lab.test").startswith("https://127.0.0.1:")
        assert os.path.isfile(lab.ca_file)
        response = kit.session(lab, "hv01.lab.test", transport).run_ps("Get-Item .")
        assert json.loads(response.std_out)["script"] == "Get-Item ."


def test_https_with_untrusted_ca_fails(kit, tmp_path):
    other = write_tls_files(tmp_path, ["elsewhere"])  # a CA the lab did not sign with
    with LabServer([LabHost("hv01", kit.Echo())], https=True) as lab:
        session = kit.session(lab, "hv01", "basic", server_cert_validation="validate", ca_trust_path=other.ca_file)
        with pytest.raises(requests.exceptions.SSLError):
            session.run_cmd("hostname")
        assert lab.stats("hv01").get("http_requests", 0) == 0  # nothing got past the TLS handshake


def test_server_certificate_names_loopback_and_every_host(kit):
    names = ["hv01.lab.test", "PROXY-02"]
    with LabServer([LabHost(n, kit.Echo()) for n in names], https=True) as lab:
        port = int(lab.endpoint("PROXY-02").rsplit(":", 1)[1].split("/")[0])
        pem = ssl.get_server_certificate(("127.0.0.1", port), ca_certs=lab.ca_file)
        san = (
            x509.load_pem_x509_certificate(pem.encode())
            .extensions.get_extension_for_class(x509.SubjectAlternativeName)
            .value
        )
        assert set(san.get_values_for_type(x509.DNSName)) >= {"localhost", "hv01.lab.test", "PROXY-02"}
        assert set(san.get_values_for_type(x509.IPAddress)) >= {
            ipaddress.ip_address("127.0.0.1"),
            ipaddress.ip_address("::1"),
        }
        ca_file = lab.ca_file
    assert not os.path.exists(ca_file)  # temp material removed on stop


@pytest.mark.parametrize("https", [False, True])
def test_route_by_host_shares_one_port(kit, https):
    hosts = [LabHost(f"hv{i:02d}", kit.Echo(f"hv{i:02d}")) for i in range(1, 4)]
    with LabServer(hosts, route_by_host=True, https=https) as lab:
        bind, port = lab.address
        scheme = "https" if https else "http"
        assert lab.endpoint("hv02") == f"{scheme}://{bind}:{port}/wsman/hv02"
        url = f"{scheme}://{bind}:{port}/wsman"
        tls = {"server_cert_validation": "validate", "ca_trust_path": lab.ca_file} if https else {}
        for name in ("hv03", "hv01", "HV02"):
            for transport in ("basic", "ntlm"):
                protocol = kit.protocol(url, transport, host_header=f"{name}:{port}", **tls)
                out, _, _ = kit.run_cmd(protocol, "hostname")
                assert json.loads(out)["host"] == name.lower()
        with pytest.raises(WinRMTransportError) as caught:
            kit.run_cmd(kit.protocol(url, "basic", host_header="nosuchhost", **tls), "hostname")
        assert caught.value.code == 404


def test_route_by_host_endpoint_path_works_without_name_resolution(kit):
    hosts = [LabHost("hv01.lab.test", kit.Echo("one")), LabHost("hv02.lab.test", kit.Echo("two"))]
    with LabServer(hosts, route_by_host=True) as lab:
        for name, expected in (("hv02.lab.test", "two"), ("hv01.lab.test", "one")):
            out, _, _ = kit.run_cmd(kit.protocol(lab.endpoint(name), "ntlm"), "hostname")
            assert json.loads(out)["host"] == expected
        with pytest.raises(WinRMTransportError) as caught:  # winrm.Session drops the /<name> part
            kit.session(lab, "hv01.lab.test", "basic").run_cmd("hostname")
        assert caught.value.code == 404
        assert "/wsman/<name>" in caught.value.response_text


def test_route_by_host_refused_host_gets_no_answer(kit):
    hosts = [LabHost("up", kit.Echo()), LabHost("down", kit.Echo(), faults=Faults(refuse=True))]
    with LabServer(hosts, route_by_host=True) as lab:
        assert kit.run_cmd(kit.protocol(lab.endpoint("up"), "basic"), "x")[2] == 0
        with pytest.raises(requests.exceptions.ConnectionError):
            kit.run_cmd(kit.protocol(lab.endpoint("down"), "basic"), "x")


def test_stop_frees_every_port_and_thread(kit):
    lab = LabServer([LabHost(f"h{i}", kit.Echo()) for i in range(5)])
    lab.start()
    ports = [int(lab.endpoint(f"h{i}").rsplit(":", 1)[1].split("/")[0]) for i in range(5)]
    session = kit.session(lab, "h0", "ntlm")
    session.run_cmd("x")
    # an idle keep-alive connection the client never closed must not keep stop() waiting
    idle = socket.create_connection(("127.0.0.1", ports[1]))
    lab.stop()
    lab.stop()  # idempotent
    idle.close()
    assert all(_refused(p) for p in ports)
    assert not [t for t in threading.enumerate() if t.name.startswith("lab-wsman")]
    for p in ports:  # and the ports can be bound again at once
        with socket.socket() as again:
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.1", p))
    assert "NTLM_USER_FILE" not in os.environ or not os.path.exists(os.environ["NTLM_USER_FILE"])


def test_fixed_port_gives_consecutive_ports(kit):
    hosts = [LabHost(f"h{i}", kit.Echo()) for i in range(3)]
    errors = []
    for _ in range(20):  # a free base port with room after it; another process may take one meanwhile
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = min(probe.getsockname()[1], 65000)
        lab = LabServer(hosts, port=base)
        try:
            lab.start()
            break
        except OSError as exc:
            errors.append(str(exc))
    else:  # pragma: no cover - the machine is out of ephemeral ports
        pytest.fail(f"no three consecutive free ports in 20 tries: {errors[-3:]}")
    with lab:
        assert [lab.endpoint(f"h{i}") for i in range(3)] == [f"http://127.0.0.1:{base + i}/wsman" for i in range(3)]
        with pytest.raises(OSError, match="lab cannot bind"):
            LabServer([LabHost("clash", kit.Echo())], port=base).start()
    assert not os.environ.get("NTLM_USER_FILE")


def test_ntlm_user_file_is_private_and_holds_no_clear_password(kit):
    with LabServer([LabHost("hv01", kit.Echo(), password="Visible-In-File?")]) as lab:
        path = os.environ["NTLM_USER_FILE"]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert "lab\\auditor:" in text and "Visible-In-File?" not in text
        assert kit.session(lab, "hv01", "ntlm", password="Visible-In-File?").run_cmd("x").status_code == 0
    assert not os.path.exists(path)


@pytest.mark.parametrize("bind", ["0.0.0.0", "10.1.2.3", "::", "example.com"])
def test_only_loopback_addresses_are_accepted(kit, bind):
    with pytest.raises(ValueError, match="loopback"):
        LabServer([LabHost("hv01", kit.Echo())], bind=bind)


def test_serve_forever_returns_after_stop(kit):
    lab = LabServer([LabHost("hv01", kit.Echo())])
    runner = threading.Thread(target=lab.serve_forever)
    runner.start()
    while not lab._ports:  # started once ports are assigned
        threading.Event().wait(0.01)
    assert kit.session(lab, "hv01", "basic").run_cmd("x").status_code == 0
    lab.stop()
    runner.join(timeout=10)
    assert not runner.is_alive()
