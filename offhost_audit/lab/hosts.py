"""What the lab's WS-Management parts share: a lab host and what it answers.

The endpoint (:mod:`.wsman`) builds on the HTTP side (:mod:`._wsman_http`) and the SOAP side
(:mod:`._wsman_soap`); those two know the lab's hosts only through the types here, so the imports
go one way (wsman -> _wsman_http -> _wsman_soap -> hosts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .faults import Faults


@dataclass
class CommandResult:
    stdout: bytes
    stderr: bytes = b""
    exit_code: int = 0


class Responder(Protocol):
    def respond(self, command: str, arguments: list[str]) -> CommandResult:
        """Answer one command: ``command``/``arguments`` exactly as sent in rsp:CommandLine.

        ``run_ps`` sends ``powershell -encodedcommand <base64 UTF-16LE>`` as the command; the
        responder decodes it itself. Called concurrently from many threads.
        """
        ...


@dataclass
class LabHost:
    name: str
    responder: Responder
    username: str = "lab\\auditor"
    password: str = "Lab-Passw0rd!"
    faults: Faults = field(default_factory=Faults)

    def __repr__(self) -> str:  # never show the password
        return f"LabHost(name={self.name!r}, username={self.username!r}, faults={self.faults!r})"
