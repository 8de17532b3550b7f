"""Pieces for the history and report-folder promises: a stored history to damage, an unprivileged
CLI run (root ignores file permissions: a read-only file is read-only only to someone else), a
process holding the database's lock.

A module of its own name (not conftest), like promise_kit."""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from promise_kit import EXAMPLE_FACTS, ROOT

PROBLEMS = ROOT / "examples" / "facts" / "csv-cluster-problems.json"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(
    *args: str, env: dict[str, str] | None = None, preexec=None, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """The CLI in a fresh process, optionally limited or unprivileged by ``preexec``."""
    return subprocess.run(
        [sys.executable, "-m", "offhost_audit", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        preexec_fn=preexec,
        cwd=cwd,
    )


def stored_history(folder: Path, runs: int = 2) -> Path:
    """A real history with ``runs`` runs of one estate (the same facts file), closed (no -wal left)."""
    facts = folder / "facts.json"
    db = folder / "history.sqlite"
    for i in range(runs):
        shutil.copy(PROBLEMS if i % 2 == 0 else EXAMPLE_FACTS, facts)
        r = cli("evaluate", "-f", str(facts), "--db", str(db), "-q")
        assert r.returncode in (0, 1), r.stderr
    assert not Path(f"{db}-wal").exists()
    return db


def sql(db: Path, *statements: str) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    for s in statements:
        con.execute(s)
    con.close()


def one_line(stderr: str) -> str:
    """The one error line, after asserting there is only one and no traceback."""
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def without_dac_override() -> None:
    """preexec: file permissions apply even to root (CI runs as root): the capabilities that bypass
    them (DAC override, DAC read search, fowner) leave the bounding set, so the program started next
    runs without them. As any other user, permissions apply anyway."""
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def file_size_limit(limit: int):
    """preexec: a file system that is full beyond ``limit`` bytes per file (RLIMIT_FSIZE; Python
    ignores SIGXFSZ, so a write past it fails with EFBIG)."""

    def set_limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return set_limit


HOLD = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "exclusive":
    con.execute("PRAGMA locking_mode = EXCLUSIVE")
    con.execute("BEGIN EXCLUSIVE")
    con.execute("SELECT count(*) FROM runs").fetchone()
else:
    con.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[3]))
con.execute("ROLLBACK")
"""


@contextmanager
def lock_held(db: Path, mode: str = "write", seconds: float = 30) -> Iterator[None]:
    """Another process holding the database's write lock (``write``) or every lock (``exclusive``)."""
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(db), mode, str(seconds)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        yield
    finally:
        p.kill()
        p.wait(10)


def timed(fn):
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start
