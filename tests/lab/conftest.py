"""Fixtures for the lab's WS-Management endpoint tests: the real pywinrm client over real sockets."""

from __future__ import annotations

import base64
import json
import os
import threading
from types import SimpleNamespace

import pytest
import winrm

from offhost_audit.lab.wsman import CommandResult, LabServer

USER = "lab\\auditor"
PASSWORD = "Lab-Passw0rd!"


class EchoResponder:
    """Answers with JSON describing what it received; decodes ``-encodedcommand`` scripts.

    A script ``exit N`` sets the exit code; ``stderr TEXT`` writes TEXT to stderr; ``size N``
    answers N bytes of stdout. Thread-safe (no shared state but a counter under a lock).
    """

    def __init__(self, name: str = "host") -> None:
        self.name = name
        self.calls = 0
        self._lock = threading.Lock()

    def respond(self, command: str, arguments: list[str]) -> CommandResult:
        with self._lock:
            self.calls += 1
        script = None
        words = command.split()
        if len(words) == 3 and words[0] == "powershell" and words[1].lower() == "-encodedcommand":
            script = base64.b64decode(words[2]).decode("utf-16-le")
        if script and script.startswith("size "):
            return CommandResult(b"x" * int(script.split()[1]))
        if script and script.startswith("exit "):
            return CommandResult(b"", b"", int(script.split()[1]))
        if script and script.startswith("stderr "):
            return CommandResult(b"", script[7:].encode(), 1)
        doc = {"host": self.name, "command": command, "arguments": arguments, "script": script}
        return CommandResult(json.dumps(doc, ensure_ascii=False).encode("utf-8"))


def make_session(
    lab: LabServer, name: str, transport: str = "ntlm", *, user: str = USER, password: str = PASSWORD, **kwargs
) -> winrm.Session:
    kwargs.setdefault("message_encryption", "never")
    if lab.https and "ca_trust_path" not in kwargs:
        kwargs.update(server_cert_validation="validate", ca_trust_path=lab.ca_file)
    return winrm.Session(lab.endpoint(name), auth=(user, password), transport=transport, **kwargs)


def make_protocol(
    endpoint: str,
    transport: str = "ntlm",
    *,
    host_header: str | None = None,
    user: str = USER,
    password: str = PASSWORD,
    **kwargs,
) -> winrm.Protocol:
    kwargs.setdefault("message_encryption", "never")
    protocol = winrm.Protocol(endpoint, transport=transport, username=user, password=password, **kwargs)
    if host_header:
        # requests keeps an explicit Host header; pywinrm rebuilds its session from these defaults
        protocol.transport.default_headers["Host"] = host_header
    return protocol


def run_cmd(protocol: winrm.Protocol, command: str, args: tuple[str, ...] = ()) -> tuple[bytes, bytes, int]:
    shell = protocol.open_shell()
    command_id = protocol.run_command(shell, command, args)
    out = protocol.get_command_output(shell, command_id)
    protocol.cleanup_command(shell, command_id)
    protocol.close_shell(shell)
    return out


def run_ps_script(script: str) -> str:
    """The command line pywinrm's run_ps sends for ``script``."""
    return "powershell -encodedcommand " + base64.b64encode(script.encode("utf_16_le")).decode("ascii")


@pytest.fixture
def kit() -> SimpleNamespace:
    """Helpers for the tests (pytest's importlib mode cannot import conftest as a module)."""
    return SimpleNamespace(
        Echo=EchoResponder,
        session=make_session,
        protocol=make_protocol,
        run_cmd=run_cmd,
        ps=run_ps_script,
        USER=USER,
        PASSWORD=PASSWORD,
    )


def lab_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lab-wsman")]


@pytest.fixture(autouse=True)
def no_leaked_threads_or_files():
    """Every test must leave no lab thread and no NTLM user file behind (each stops its LabServer)."""
    before = os.environ.get("NTLM_USER_FILE")
    yield
    assert lab_threads() == []
    assert os.environ.get("NTLM_USER_FILE") == before
