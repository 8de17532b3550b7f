"""The WS-Management shell protocol of the lab (MS-WSMV remote shell, as pywinrm speaks it).

Requests are parsed with ElementTree; answers are rendered from string templates (cheap, and
byte-for-byte predictable). One :class:`HostShells` per lab host keeps its shells and commands
in memory; Delete (shell) and Signal terminate (command) remove them.

Protocol reference: [MS-WSMV] "Web Services Management Protocol Extensions for Windows Vista",
https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/ (sections 3.1.4.1 on
Create, Command, Receive, Signal, Delete, and 2.2.4.x on the rsp: elements).

Time, as a real host spends it: a command's output is released when the host would have written
it (:class:`~.hosts.CommandResult`'s ``start_s``, ``timeline``, ``seconds``). Receive answers with
the stdout/stderr written so far (stdout up to the next flush of the program: a timeline step) (base64 ``rsp:Stream`` elements, one per stream with
``CommandId``), with ``rsp:CommandState`` Done and ``rsp:ExitCode`` once the process exited and
everything was sent (3.1.4.14); when nothing is written within the request's ``w:OperationTimeout`` it
answers the w:TimedOut fault (0x80338029), which a client answers with another Receive.

Send (3.1.4.13, 3.1.4.1.31.1 "I/O Streams") pipes input to a running command: ``rsp:Send`` holds
``rsp:Stream Name="stdin" CommandId=...`` elements of base64 data; ``End="true"`` closes the stream.
A command whose program reads its standard input to the end (:class:`~.hosts.ReadsStdin`) answers
once its stdin is closed; input sent to a program that does not read it is accepted and dropped
(the pipe's buffer takes it). A Send to a command whose stdin is closed is answered with a fault.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from .faults import INTERNAL_ERROR_CODE, OPERATION_TIMEOUT_CODE, shape_stdout
from .hosts import CommandResult, ReadsStdin

if TYPE_CHECKING:
    from .hosts import LabHost

log = logging.getLogger("offhost_audit.lab.wsman")

NS_S = "http://www.w3.org/2003/05/soap-envelope"
NS_A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_W = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_RSP = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
NS_X = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
NS_F = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"

ACTION_CREATE = NS_X + "/Create"
ACTION_DELETE = NS_X + "/Delete"
ACTION_COMMAND = NS_RSP + "/Command"
ACTION_RECEIVE = NS_RSP + "/Receive"
ACTION_SIGNAL = NS_RSP + "/Signal"
ACTION_SEND = NS_RSP + "/Send"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
STATE_DONE = NS_RSP + "/CommandState/Done"
STATE_RUNNING = NS_RSP + "/CommandState/Running"
SHELL_NOT_FOUND_CODE = 2150858843  # 0x8033805B ERROR_WSMAN_SHELL_NOT_FOUND (also unknown CommandId)
ACTION_NOT_SUPPORTED_CODE = 2150858771  # 0x80338013 ERROR_WSMAN_ACTION_NOT_SUPPORTED
MAX_SHELLS = 1000  # per host; real WinRM allows 30 per user (MaxShellsPerUser) and faults beyond
ANONYMOUS = NS_A + "/role/anonymous"

_ENVELOPE_OPEN = (
    '<s:Envelope xml:lang="en-US" xmlns:s="'
    + NS_S
    + '" xmlns:a="'
    + NS_A
    + '" xmlns:x="'
    + NS_X
    + '" xmlns:w="'
    + NS_W
    + '" xmlns:rsp="'
    + NS_RSP
    + '">'
)
_RESPONSE = (
    _ENVELOPE_OPEN + "<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{mid}</a:MessageID>"
    "<a:To>" + ANONYMOUS + "</a:To><a:RelatesTo>{relates}</a:RelatesTo></s:Header>"
    "<s:Body>{body}</s:Body></s:Envelope>"
)


class SoapError(Exception):
    """A WS-Management fault to answer (HTTP 500 with s:Fault)."""

    def __init__(self, wsman_code: int, reason: str, *, sender: bool = True, subcode: str = "w:InternalError") -> None:
        super().__init__(reason)
        self.wsman_code = wsman_code
        self.reason = reason
        self.sender = sender
        self.subcode = subcode


@dataclass
class Request:
    action: str
    message_id: str
    shell_id: str | None
    max_envelope: int
    body: ET.Element | None
    operation_timeout: float = 60.0  # w:OperationTimeout (seconds): how long a Receive may wait for output


@dataclass
class Command:
    stdout: bytes
    stderr: bytes
    exit_code: int
    out_pos: int = 0
    err_pos: int = 0
    run_at: float = 0.0  # time.monotonic() when the program runs (after the process start and its stdin)
    exit_at: float = 0.0  # when it exits (stderr and the exit code are written then)
    timeline: tuple[tuple[float, int], ...] = ()  # (seconds after run_at, stdout written up to this offset)
    reads: ReadsStdin | None = None  # still reading its stdin: no output until that is closed
    created: float = 0.0
    stdin: bytearray = field(default_factory=bytearray)
    stdin_closed: bool = False

    def written(self, now: float) -> int:
        """Bytes of stdout written by ``now``."""
        if self.reads is not None:
            return 0
        if now >= self.exit_at:
            return len(self.stdout)
        return max((end for t, end in self.timeline if self.run_at + t <= now), default=0)

    def flush_end(self, written: int) -> int:
        """Where this Receive's stdout ends: one flush of the program (a timeline step) per answer, as
        WinRM answers a Receive as soon as output is there rather than waiting for more."""
        return min((end for _, end in self.timeline if self.out_pos < end <= written), default=written)

    def next_event(self, now: float) -> float | None:
        """When more output or the exit comes (None while it waits for its stdin)."""
        if self.reads is not None:
            return None
        times = [self.run_at + t for t, _ in self.timeline if self.run_at + t > now] + [self.exit_at]
        return min(times)


@dataclass
class Shell:
    commands: dict[str, Command] = field(default_factory=dict)


@dataclass
class Reply:
    status: int
    body: bytes
    drop: bool = False  # close the connection half-way through this answer (fault `drop`)


def parse_request(data: bytes) -> Request:
    """Parse a SOAP request; raises :class:`SoapError` on anything malformed."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SoapError(2150858817, f"The request is not well-formed XML: {exc}") from exc
    header = root.find(f"{{{NS_S}}}Header")
    if root.tag != f"{{{NS_S}}}Envelope" or header is None:
        raise SoapError(2150858817, "The request is not a SOAP 1.2 envelope with a header.")
    action = (header.findtext(f"{{{NS_A}}}Action") or "").strip()
    message_id = (header.findtext(f"{{{NS_A}}}MessageID") or "").strip()
    shell_id = None
    for selector in header.iter(f"{{{NS_W}}}Selector"):
        if selector.get("Name") == "ShellId":
            shell_id = (selector.text or "").strip()
    try:
        max_envelope = int((header.findtext(f"{{{NS_W}}}MaxEnvelopeSize") or "153600").strip())
    except ValueError:
        max_envelope = 153600
    m = _DURATION.fullmatch((header.findtext(f"{{{NS_W}}}OperationTimeout") or "").strip())
    op_timeout = float(m.group(1)) if m else 60.0
    return Request(action, message_id, shell_id, max_envelope, root.find(f"{{{NS_S}}}Body"), op_timeout)


_DURATION = re.compile(r"PT(\d+(?:\.\d+)?)S")


def render_response(action: str, relates_to: str, body: str) -> bytes:
    return _RESPONSE.format(action=action, mid=str(uuid.uuid4()).upper(), relates=escape(relates_to), body=body).encode(
        "utf-8"
    )


def render_fault(error: SoapError, relates_to: str = "", machine: str = "localhost") -> bytes:
    """SOAP 1.2 fault with the Microsoft WSManFault detail, as real WinRM answers it."""
    code = "s:Sender" if error.sender else "s:Receiver"
    text = escape(error.reason)
    body = (
        f"<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{error.subcode}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{text}</s:Text></s:Reason>'
        f'<s:Detail><f:WSManFault xmlns:f="{NS_F}" Code="{error.wsman_code}" Machine={quoteattr(machine)}>'
        f"<f:Message>{text}</f:Message></f:WSManFault></s:Detail></s:Fault>"
    )
    return render_response(ACTION_FAULT, relates_to, body)


def timeout_fault() -> SoapError:
    return SoapError(
        OPERATION_TIMEOUT_CODE,
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
        sender=False,
        subcode="w:TimedOut",
    )


class HostShells:
    """Shells and commands of one lab host; every method is thread-safe."""

    def __init__(self, host: LabHost, *, chunk_bytes: int) -> None:
        self.host = host
        self.chunk_bytes = chunk_bytes
        self._lock = threading.Lock()
        self._shells: dict[str, Shell] = {}
        self._timeout_served = False
        self.stats: dict[str, int] = {}
        self.stopping = threading.Event()  # set when the lab stops: a Receive waiting for output returns

    @property
    def open_shells(self) -> int:
        with self._lock:
            return len(self._shells)

    def count(self, key: str) -> None:
        with self._lock:
            self.stats[key] = self.stats.get(key, 0) + 1

    def handle(self, data: bytes, address: str) -> Reply:
        """Answer one SOAP request (already authenticated)."""
        relates = ""
        try:
            request = parse_request(data)
            relates = request.message_id
            self.count(request.action.rsplit("/", 1)[-1] or "unknown")
            return self._dispatch(request, address)
        except SoapError as error:
            self.count("faults")
            return Reply(500, render_fault(error, relates, self.host.name))

    def _dispatch(self, req: Request, address: str) -> Reply:
        if req.action == ACTION_CREATE:
            return Reply(200, self._create(req, address))
        if req.action == ACTION_COMMAND:
            return Reply(200, self._command(req))
        if req.action == ACTION_RECEIVE:
            return self._receive(req)
        if req.action == ACTION_SIGNAL:
            return Reply(200, self._signal(req))
        if req.action == ACTION_DELETE:
            return Reply(200, self._delete(req))
        if req.action == ACTION_SEND:
            return Reply(200, self._send(req))
        raise SoapError(
            ACTION_NOT_SUPPORTED_CODE,
            f"The action is not supported by the lab: {req.action}",
            subcode="a:ActionNotSupported",
        )

    def _shell(self, req: Request) -> Shell:
        with self._lock:
            shell = self._shells.get(req.shell_id or "")
        if shell is None:
            raise SoapError(
                SHELL_NOT_FOUND_CODE,
                f"The request for the Windows Remote Shell with ShellId {req.shell_id} failed because the shell "
                "was not found on the server.",
                subcode="w:InvalidSelectors",
            )
        return shell

    def _create(self, req: Request, address: str) -> bytes:
        shell_id = str(uuid.uuid4()).upper()
        with self._lock:
            while len(self._shells) >= MAX_SHELLS:  # clients that never Delete: forget the oldest
                self._shells.pop(next(iter(self._shells)))
            self._shells[shell_id] = Shell()
        body = (
            f"<x:ResourceCreated><a:Address>{escape(address)}</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{NS_RSP}/cmd</w:ResourceURI><w:SelectorSet>"
            f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
            f"</x:ResourceCreated><rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId>"
            f"<rsp:ResourceUri>{NS_RSP}/cmd</rsp:ResourceUri><rsp:InputStreams>stdin</rsp:InputStreams>"
            "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
        )
        return render_response(NS_X + "/CreateResponse", req.message_id, body)

    def _command(self, req: Request) -> bytes:
        shell = self._shell(req)
        if self.host.faults.http_500:
            self.count("injected_http_500")
            raise SoapError(
                INTERNAL_ERROR_CODE, "The lab injected an internal error for this host (fault http_500).", sender=False
            )
        line = req.body.find(f"{{{NS_RSP}}}CommandLine") if req.body is not None else None
        if line is None:
            raise SoapError(
                2150858817, "The Command request has no rsp:CommandLine.", subcode="w:SchemaValidationError"
            )
        command = line.findtext(f"{{{NS_RSP}}}Command") or ""
        arguments = [arg.text or "" for arg in line.findall(f"{{{NS_RSP}}}Arguments")]
        now = time.monotonic()
        try:
            result = self.host.responder.respond(command, arguments)
            if isinstance(result, ReadsStdin):
                cmd = Command(b"", b"", 0, reads=result, created=now)
            else:
                cmd = self._started(Command(b"", b"", 0, created=now), result, now + result.start_s)
        except Exception as exc:  # a broken responder must not kill the connection thread
            log.exception("lab responder for host %s failed", self.host.name)
            raise SoapError(
                INTERNAL_ERROR_CODE, f"The lab responder failed: {type(exc).__name__}: {exc}", sender=False
            ) from exc
        command_id = str(uuid.uuid4()).upper()
        with self._lock:
            shell.commands[command_id] = cmd
        body = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
        return render_response(NS_RSP + "/CommandResponse", req.message_id, body)

    def _started(self, cmd: Command, result: CommandResult, run_at: float) -> Command:
        """The command with its answer: what it prints, and when (from ``run_at``)."""
        cmd.stdout = bytes(result.stdout) if result.shaped else shape_stdout(bytes(result.stdout), self.host.faults)
        cmd.stderr, cmd.exit_code = bytes(result.stderr), int(result.exit_code)
        cmd.run_at, cmd.exit_at = run_at, run_at + result.seconds
        cmd.timeline = tuple(result.timeline) if result.shaped else ()
        cmd.reads = None
        return cmd

    def _send(self, req: Request) -> bytes:
        shell = self._shell(req)
        send = req.body.find(f"{{{NS_RSP}}}Send") if req.body is not None else None
        streams = send.findall(f"{{{NS_RSP}}}Stream") if send is not None else []
        if not streams:
            raise SoapError(2150858817, "The Send request has no rsp:Stream.", subcode="w:SchemaValidationError")
        for stream in streams:
            command_id = (stream.get("CommandId") or "").upper()
            with self._lock:
                cmd = shell.commands.get(command_id)
            if cmd is None:
                raise SoapError(
                    SHELL_NOT_FOUND_CODE,
                    f"The command {command_id or '(none)'} was not found in shell {req.shell_id}.",
                    subcode="w:InvalidSelectors",
                )
            if (stream.get("Name") or "") != "stdin":
                raise SoapError(
                    2150858817, "The lab's shell has one input stream, stdin.", subcode="w:SchemaValidationError"
                )
            try:
                data = base64.b64decode((stream.text or "").strip(), validate=True)
            except ValueError:
                raise SoapError(
                    2150858817, "The stdin stream is not base64.", subcode="w:SchemaValidationError"
                ) from None
            end = (stream.get("End") or "").lower() == "true"
            with self._lock:
                if cmd.stdin_closed:
                    raise SoapError(
                        2150858817, "The command's standard input is already closed.", subcode="w:InvalidParameter"
                    )
                cmd.stdin += data
                cmd.stdin_closed = end
                reads = cmd.reads if end else None
            if reads is not None:  # it read its stdin to the end: now it answers
                try:
                    result = reads.answer(bytes(cmd.stdin))
                except Exception as exc:
                    log.exception("lab responder for host %s failed on stdin", self.host.name)
                    raise SoapError(
                        INTERNAL_ERROR_CODE, f"The lab responder failed: {type(exc).__name__}: {exc}", sender=False
                    ) from exc
                run_at = max(cmd.created + reads.start_s, time.monotonic())
                with self._lock:
                    self._started(cmd, result, run_at)
        return render_response(NS_RSP + "/SendResponse", req.message_id, "<rsp:SendResponse/>")

    def _find_command(self, req: Request, element: str) -> tuple[Shell, str, Command]:
        shell = self._shell(req)
        node = req.body.find(element) if req.body is not None else None
        if node is not None and node.tag == f"{{{NS_RSP}}}Receive":
            node = node.find(f"{{{NS_RSP}}}DesiredStream")
        command_id = (node.get("CommandId") or "") if node is not None else ""
        with self._lock:
            command = shell.commands.get(command_id.upper())
        if command is None:
            raise SoapError(
                SHELL_NOT_FOUND_CODE,
                f"The command {command_id or '(none)'} was not found in shell {req.shell_id}.",
                subcode="w:InvalidSelectors",
            )
        return shell, command_id.upper(), command

    def _receive(self, req: Request) -> Reply:
        _, command_id, command = self._find_command(req, f"{{{NS_RSP}}}Receive")
        if self.host.faults.wsman_timeout_once:
            with self._lock:
                first, self._timeout_served = not self._timeout_served, True
            if first:
                self.count("injected_timeout")
                raise timeout_fault()
        # Wait for output as a real host does: up to the request's OperationTimeout, then w:TimedOut.
        give_up = time.monotonic() + req.operation_timeout
        while True:
            now = time.monotonic()
            with self._lock:
                written = command.written(now)
                exited = command.reads is None and now >= command.exit_at
                ready = exited or written > command.out_pos
                nxt = command.next_event(now)
            if ready:
                break
            if now >= give_up:
                raise timeout_fault()
            wait = min(give_up, nxt if nxt is not None else now + 0.05) - now
            if self.stopping.wait(max(0.001, wait)):
                raise timeout_fault()
        # Base64 grows 4/3; keep the whole envelope under the client's MaxEnvelopeSize.
        budget = max(1024, min(self.chunk_bytes, (req.max_envelope - 2048) * 3 // 4))
        parts = []
        with self._lock:
            for name in ("stdout", "stderr"):
                if name == "stderr" and not exited:
                    continue
                data = command.stdout[: command.flush_end(written)] if name == "stdout" else command.stderr
                pos = command.out_pos if name == "stdout" else command.err_pos
                piece = data[pos : pos + budget]
                budget -= len(piece)
                if piece:
                    text = base64.b64encode(piece).decode("ascii")
                    parts.append(f'<rsp:Stream Name="{name}" CommandId="{command_id}">{text}</rsp:Stream>')
                if name == "stdout":
                    command.out_pos += len(piece)
                else:
                    command.err_pos += len(piece)
            done = exited and command.out_pos >= len(command.stdout) and command.err_pos >= len(command.stderr)
        if done:
            parts.append(f'<rsp:Stream Name="stdout" CommandId="{command_id}" End="true"></rsp:Stream>')
            parts.append(f'<rsp:Stream Name="stderr" CommandId="{command_id}" End="true"></rsp:Stream>')
            parts.append(
                f'<rsp:CommandState CommandId="{command_id}" State="{STATE_DONE}">'
                f"<rsp:ExitCode>{command.exit_code}</rsp:ExitCode></rsp:CommandState>"
            )
        else:
            parts.append(f'<rsp:CommandState CommandId="{command_id}" State="{STATE_RUNNING}"/>')
        body = "<rsp:ReceiveResponse>" + "".join(parts) + "</rsp:ReceiveResponse>"
        return Reply(
            200, render_response(NS_RSP + "/ReceiveResponse", req.message_id, body), drop=self.host.faults.drop
        )

    def _signal(self, req: Request) -> bytes:
        shell, command_id, _ = self._find_command(req, f"{{{NS_RSP}}}Signal")
        with self._lock:
            shell.commands.pop(command_id, None)
        return render_response(NS_RSP + "/SignalResponse", req.message_id, "<rsp:SignalResponse/>")

    def _delete(self, req: Request) -> bytes:
        self._shell(req)
        with self._lock:
            self._shells.pop(req.shell_id or "", None)
        return render_response(NS_X + "/DeleteResponse", req.message_id, "")
