"""Where the shipped policies and schemas are.

In a wheel they are bundled under ``offhost_audit/_bundled``; in a source checkout (editable
install, tests) they sit at the top of the repository. One function per resource, used everywhere.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PKG / "_bundled" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"offhost-audit installation is incomplete: no {name}/ directory found")


@cache
def policies_dir() -> Path:
    return _find("policies")


@cache
def schema_dir() -> Path:
    return _find("schema")
