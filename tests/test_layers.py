"""The import rules of DESIGN.md ("Which part may import which"), checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "offhost_audit"

# part -> parts it must never import. A part is a subpackage or a top-level module of offhost_audit.
FORBIDDEN = {
    "core": {"cli", "tui", "reports", "engine", "lab", "collectors"},  # the documents
    "collectors": {"cli", "tui", "reports", "engine", "lab", "audit"},  # gathering never judges
    "engine": {"cli", "tui", "reports", "collectors", "lab", "collect", "audit"},  # judging never gathers
    "reports": {"cli", "tui", "collectors", "lab"},
    "audit": {"cli", "tui", "reports", "lab"},
    "collect": {"cli", "tui", "reports", "engine", "lab", "audit"},
}
CORE = {"facts", "findings", "errors", "resources", "credentials", "winsec", "atomic", "text", "history", "waivers", "diff", "perf"}


def _part(path: Path) -> str:
    rel = path.relative_to(PKG)
    top = rel.parts[0].removesuffix(".py")
    return "core" if top in CORE else top


def _imported_parts(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + ([f"{node.module}.{a.name}" for a in node.names] if node.module == "offhost_audit" else [])
        for n in names:
            parts = n.split(".")
            if parts[0] == "offhost_audit" and len(parts) > 1:
                out.add(parts[1])
    return out


MODULES = sorted(p for p in PKG.rglob("*.py") if _part(p) in FORBIDDEN)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_module_respects_the_import_rules(path):
    bad = _imported_parts(path) & FORBIDDEN[_part(path)]
    assert not bad, f"{path.relative_to(PKG)} ({_part(path)}) must not import {sorted(bad)}"
