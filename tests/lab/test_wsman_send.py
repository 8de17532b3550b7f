"""The lab's WS-Man Send (a command's stdin) and the time a real host takes, through the real pywinrm client.

MS-WSMV 3.1.4.13 (Send) and 3.1.4.1.31.1 (I/O streams): base64 ``rsp:Stream Name="stdin"`` elements with
the command's ``CommandId``; ``End="true"`` closes the stream. Receive (3.1.4.14) answers the output
written so far, Done with the exit code at the end, and the w:TimedOut fault when nothing came within
the request's OperationTimeout.
"""

from __future__ import annotations

import time

import pytest
from winrm.exceptions import WinRMOperationTimeoutError, WSManFaultError

from offhost_audit.collectors import pscommand
from offhost_audit.errors import InputError
from offhost_audit.lab import scenario as scenarios
from offhost_audit.lab.costs import MODULE_LOAD_S, PROCESS_START_S, SCRIPT_S, HostCosts, modules_of
from offhost_audit.lab.responder import HostResponder
from offhost_audit.lab.wsman import CommandResult, LabHost, LabServer, ReadsStdin


class Upper:
    """A program that reads its stdin to the end, then prints it upper-cased and exits 3."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def respond(self, command: str, arguments: list[str]) -> CommandResult | ReadsStdin:
        if command == "slow":
            return CommandResult(
                b"one\r\ntwo\r\n", start_s=0.3, seconds=0.6, timeline=((0.0, 5), (0.6, 10)), shaped=True
            )
        return ReadsStdin(self._answer)

    def _answer(self, stdin: bytes) -> CommandResult:
        self.seen.append(stdin)
        return CommandResult(stdin.upper(), b"", 3)


def _protocol(kit, lab: LabServer):
    return kit.protocol(lab.endpoint("h"), "basic", operation_timeout_sec=1, read_timeout_sec=3)


def test_send_pipes_stdin_in_pieces_and_the_program_answers_once_it_is_closed(kit):
    program = Upper()
    with LabServer([LabHost("h", program)]) as lab:
        p = _protocol(kit, lab)
        shell = p.open_shell()
        cid = p.run_command(shell, "powershell.exe", ["-Command", "-"], console_mode_stdin=False)
        p.send_command_input(shell, cid, b"first ", end=False)
        p.send_command_input(shell, cid, b"second", end=True)
        out, err, code = p.get_command_output(shell, cid)
        with pytest.raises(WSManFaultError, match="already closed"):  # stdin closed: no more input
            p.send_command_input(shell, cid, b"late", end=True)
        p.cleanup_command(shell, cid)
        p.close_shell(shell)
        stats = lab.stats("h")
    assert (out, err, code) == (b"FIRST SECOND", b"", 3)
    assert program.seen == [b"first second"] and stats["Send"] == 3


def test_receive_before_stdin_is_closed_times_out_as_windows_does(kit):
    with LabServer([LabHost("h", Upper())]) as lab:
        p = _protocol(kit, lab)
        shell = p.open_shell()
        cid = p.run_command(shell, "powershell.exe", ["-Command", "-"], console_mode_stdin=False)
        p.send_command_input(shell, cid, b"not yet closed", end=False)
        start = time.monotonic()
        with pytest.raises(WinRMOperationTimeoutError):
            p.get_command_output_raw(shell, cid)
        assert 0.9 < time.monotonic() - start < 2.5  # it waited the request's OperationTimeout (1 s)
        p.send_command_input(shell, cid, b"", end=True)
        assert p.get_command_output(shell, cid)[0] == b"NOT YET CLOSED"
        with pytest.raises(WSManFaultError, match="not found"):
            p.send_command_input(shell, "00000000-0000-0000-0000-000000000000", b"x", end=True)
        p.close_shell(shell)


def test_output_comes_when_the_host_writes_it_one_flush_per_receive(kit):
    with LabServer([LabHost("h", Upper())]) as lab:
        p = _protocol(kit, lab)
        shell = p.open_shell()
        start = time.monotonic()
        cid = p.run_command(shell, "slow", [])
        out, _, _, done = p.get_command_output_raw(shell, cid)
        first = time.monotonic() - start
        assert (out, done) == (b"one\r\n", False) and 0.25 < first < 0.6  # after the process start (0.3 s)
        out, _, code, done = p.get_command_output_raw(shell, cid)
        assert (out, code, done) == (b"two\r\n", 0, True) and time.monotonic() - start >= 0.85
        p.close_shell(shell)


def test_a_process_pays_its_start_and_each_module_once():
    sc = scenarios.normalise({"name": "c", "lab": {"costs": "windows"}, "hosts": [{"name": "HV1"}]})
    host = next(h for h in sc["hosts"] if h["name"] == "HV1")
    responder = HostResponder(host, sc)
    names = ["system.ps1", "storage.ps1", "cluster.ps1", "hyperv.ps1"]
    loads = [set(modules_of(pscommand.script(n))) for n in names]
    assert {"Hyper-V", "FailoverClusters", "Storage", "CimCmdlets"} <= set().union(*loads)
    single = [responder.respond(*pscommand.command_line(n, {})) for n in names]
    assert all(isinstance(r, CommandResult) and r.start_s == PROCESS_START_S for r in single)
    per_script = sum(r.start_s + r.seconds for r in single if isinstance(r, CommandResult))
    assert per_script == pytest.approx(
        len(names) * (PROCESS_START_S + SCRIPT_S) + sum(MODULE_LOAD_S[m] for s in loads for m in s)
    )
    reads = responder.respond(*pscommand.batch_command())
    assert isinstance(reads, ReadsStdin) and reads.start_s == PROCESS_START_S
    batch = reads.answer(pscommand.batch_input([pscommand.BatchItem(n, {}, 60.0) for n in names]))
    once = PROCESS_START_S + len(names) * SCRIPT_S + sum(MODULE_LOAD_S[m] for m in set().union(*loads))
    assert reads.start_s + batch.seconds == pytest.approx(once) and once < per_script
    assert [end for _, end in batch.timeline][-1] == len(batch.stdout)  # one record written per script
    records, tail = pscommand.parse_records(batch.stdout.decode())
    assert sorted(records) == sorted(names) and tail == "" and all(r.exit == 0 for r in records.values())


def test_costs_are_off_unless_a_scenario_asks_and_bad_costs_are_named():
    assert HostCosts.from_scenario(None) == HostCosts()
    assert HostCosts.from_scenario({"scale": 0.5}).process_start_s == pytest.approx(PROCESS_START_S / 2)
    with pytest.raises(ValueError, match="unknown field"):
        HostCosts.from_scenario({"proces_start_s": 1})
    with pytest.raises(InputError, match=r"lab\.costs"):
        scenarios.normalise({"name": "c", "lab": {"costs": "fast"}, "hosts": [{"name": "HV1"}]})
