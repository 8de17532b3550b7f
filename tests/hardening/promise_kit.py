"""Shared pieces for the promise tests: the CLI in a fresh process, the example facts.

A module of its own name (not conftest): `from conftest import` would find whichever conftest.py
another test folder put on sys.path first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_FACTS = ROOT / "examples" / "facts" / "csv-cluster-healthy.json"


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    stdout: IO[Any] | None = None,
) -> subprocess.CompletedProcess:
    """The CLI as a user runs it: a fresh process; stdout captured unless a file is given."""
    return subprocess.run(
        [sys.executable, "-m", "offhost_audit", *args],
        stdout=stdout or subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
