"""Promise: a command ended by SIGTERM or SIGINT cleans up after itself and says so in one line.

Real processes and real signals: `demo`, `demo --tui` (on a pseudo-terminal, as a user runs it) and
`lab serve`, each with its own TMPDIR so that what they leave behind is visible. SIGTERM exits 143,
SIGINT 130 (errors.EXIT_SIGTERM / EXIT_SIGINT), after every temporary folder is removed.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from offhost_audit import cli
from offhost_audit.errors import EXIT_SIGINT, EXIT_SIGTERM

CODES = {
    signal.SIGTERM: (EXIT_SIGTERM, "offhost-audit: terminated (SIGTERM)"),
    signal.SIGINT: (EXIT_SIGINT, "offhost-audit: interrupted (SIGINT)"),
}


def _wait_for(predicate, what: str, timeout: float = 60, pump=None) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        if pump:
            pump(0.05)
        else:
            time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_demo_ended_by_a_signal_removes_its_temporary_folders(sig, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "offhost_audit", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    try:
        _wait_for(lambda: any(tmp.iterdir()) or proc.poll() is not None, "the demo's lab to start")
        assert proc.poll() is None, "the demo ended before it could be signalled"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    code, line = CODES[sig]
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == line
    assert list(tmp.iterdir()) == []


class _Pty:
    """A process on a pseudo-terminal, its output read as it comes (so that it never blocks writing)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.output = b""

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:  # the process closed the terminal
                    return

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_demo_tui_ended_by_a_signal_removes_its_temporary_folders_and_gives_back_the_terminal(sig, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    term = _Pty([sys.executable, "-m", "offhost_audit", "demo", "--tui"], env)
    try:
        # the lab's NTLM folder and the demo's own (its history database)
        _wait_for(
            lambda: len(list(tmp.iterdir())) >= 2 or term.proc.poll() is not None, "the TUI to start", pump=term.pump
        )
        assert term.proc.poll() is None, term.output[-2000:]
        term.pump(1.0)  # the UI is up and auditing
        term.proc.send_signal(sig)
        _wait_for(lambda: term.proc.poll() is not None, "the TUI to end", pump=term.pump)
        term.pump(0.2)
    finally:
        term.close()
    code, line = CODES[sig]
    assert term.proc.returncode == code, term.output[-2000:]
    assert list(tmp.iterdir()) == []
    tail = term.output[term.output.rfind(b"\x1b[?1049l") :]  # after the TUI left the alternate screen
    assert tail and line.encode() in tail, term.output[-2000:]


def test_lab_serve_ended_by_sigterm_stops_and_removes_its_certificates(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "offhost_audit", "lab", "serve", "--scenario", "csv-healthy", "--port", "0", "--https"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    try:
        _wait_for(
            lambda: any(p.name.startswith("offhost-lab-tls-") for p in tmp.iterdir()) or proc.poll() is not None,
            "the lab's certificates",
        )
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == EXIT_SIGTERM, err
    assert err.strip() == "offhost-audit: terminated (SIGTERM)"
    assert list(tmp.iterdir()) == []


def test_main_gives_the_signal_handlers_back(tmp_path, capsys):
    """Inside a longer-lived process (a test run, a notebook) main() leaves the handlers as it found them."""
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert cli.main(["evaluate", "-f", str(Path(tmp_path / "missing.json"))]) == 2
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
