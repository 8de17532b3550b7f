"""What the lab's WS-Management parts share: a lab host and what it answers.

The endpoint (:mod:`.wsman`) builds on the HTTP side (:mod:`._wsman_http`) and the SOAP side
(:mod:`._wsman_soap`); those two know the lab's hosts only through the types here, so the imports
go one way (wsman -> _wsman_http -> _wsman_soap -> hosts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .faults import Faults


@dataclass
class CommandResult:
    """What a command prints and when. Times are seconds after the program starts running
    (``start_s`` after the Command: the process start; for a program that reads its standard input,
    after that too). ``timeline`` lists (seconds, end offset in stdout): the stdout up to that offset
    is written then; without it stdout comes at the exit. stderr and the exit code come at ``seconds``."""

    stdout: bytes
    stderr: bytes = b""
    exit_code: int = 0
    start_s: float = 0.0
    seconds: float = 0.0
    timeline: tuple[tuple[float, int], ...] = ()
    shaped: bool = False  # the responder applied the host's output faults itself (per script)


@dataclass
class ReadsStdin:
    """A process that reads its standard input to the end (WS-Man Send, the last with ``End="true"``)
    before it answers: ``answer(stdin)`` is called then. It starts ``start_s`` after the Command."""

    answer: Callable[[bytes], CommandResult]
    start_s: float = 0.0


class Responder(Protocol):
    def respond(self, command: str, arguments: list[str]) -> CommandResult | ReadsStdin:
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
