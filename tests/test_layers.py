"""The import rules of DESIGN.md ("Which part may import which"), checked on the source.

Every module of the package belongs to a part (a new top-level module must be given one here);
every import counts: absolute or relative, at module level, inside a function or under
TYPE_CHECKING. The rules:

- the core (the documents and small shared helpers) imports no other part;
- collectors never import the engine, the lab, the audit service or anything above; the engine
  never imports collectors (gathering never judges, judging never gathers);
- reports and the engine never import the TUI; the TUI never imports the collectors or the engine
  (it audits through the audit service, ``audit.run``); nothing but ``__main__`` imports the CLI;
- headless parts never import Textual (only the TUI does, and the CLI's ``tui`` command loads it);
- no two modules import each other, directly or in a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "offhost_audit"

# Top-level module or subpackage of offhost_audit -> its part.
PARTS = {
    # the core: documents (inventory/ with targets and credentials, facts, findings/ with verdicts and
    # unknowns), shared helpers, and the run store (store/: history, runs, diff, waivers)
    **dict.fromkeys(
        [
            "__init__",
            "inventory",
            "names",
            "assemble",
            "collector_specs",
            "facts",
            "findings",
            "errors",
            "resources",
            "atomic",
            "inputs",
            "text",
            "yamldoc",
            "deadline",
            "perf",
            "store",
            "fixes",
            "vbr_estate",
            "plan",
        ],
        "core",
    ),
    "collectors": "collectors",
    "engine": "engine",
    "collect": "audit",  # the audit service: collection runner ...
    "audit": "audit",  # ... and collect + evaluate + waivers + history, shared by the CLI and the TUI
    "discover": "audit",  # the estate read from the backup server, written as an inventory
    "reports": "reports",
    "tui": "tui",
    "lab": "lab",
    "cli": "cli",
    "cli_reports": "cli",
    "cli_options": "cli",
    "cli_lab": "cli",
    "cli_discover": "cli",
    "cli_fix": "cli",
    "cli_plan": "cli",
    "__main__": "main",
}
ALL = set(PARTS.values())

# part -> parts it must never import (DESIGN.md, "Which part may import which"; the team guide).
FORBIDDEN = {
    "core": ALL - {"core"},
    "collectors": {"engine", "lab", "audit", "reports", "tui", "cli", "main"},
    "engine": {"collectors", "lab", "audit", "reports", "tui", "cli", "main"},
    "audit": {"lab", "reports", "tui", "cli", "main"},
    "reports": {"collectors", "engine", "lab", "audit", "tui", "cli", "main"},
    "lab": {"reports", "tui", "cli", "main"},
    # the TUI collects and evaluates through the audit service (audit.py), never the collectors or the engine
    "tui": {"collectors", "engine", "lab", "cli", "main"},
    "cli": {"main"},
    "main": set(),
}
# Third-party packages only some parts may use: headless paths never import Textual.
EXTERNAL_ONLY_IN = {"textual": {"tui"}}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports(source: str, name: str, *, is_package: bool = False) -> set[str]:
    """Every module ``name``'s source imports, relative imports resolved; ``from pkg import mod``
    counts as importing ``pkg.mod`` (not ``pkg``) when ``mod`` is a module of the package."""
    out: set[str] = set()
    here = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = {f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in MODULES}
            out |= subs
            if len(subs) < len(node.names):
                out.add(mod)
    return out


def part_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "offhost_audit":
        return None
    top = parts[1] if len(parts) > 1 else "__init__"
    return PARTS.get(top, f"<unassigned {top}>")


def _imports_of(module: str) -> set[str]:
    path = MODULES[module]
    return imports(path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py")


def violations(module: str, imported: set[str]) -> list[str]:
    mine = part_of(module)
    assert mine is not None
    bad = []
    for target in sorted(imported):
        theirs = part_of(target)
        if theirs is not None and theirs in FORBIDDEN.get(mine, set()):
            bad.append(f"{module} ({mine}) imports {target} ({theirs})")
        top = target.split(".")[0]
        if top in EXTERNAL_ONLY_IN and mine not in EXTERNAL_ONLY_IN[top] and mine != "cli":
            bad.append(f"{module} ({mine}) imports {target}: only {sorted(EXTERNAL_ONLY_IN[top])} may")
    return bad


def test_every_module_belongs_to_a_part():
    unassigned = sorted({m.split(".")[1] for m in MODULES if "." in m and m.split(".")[1] not in PARTS})
    assert not unassigned, f"give these a part in tests/test_layers.py PARTS: {unassigned}"


@pytest.mark.parametrize("module", sorted(MODULES), ids=str)
def test_module_respects_the_import_rules(module):
    bad = violations(module, _imports_of(module))
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    graph = {m: {i for i in _imports_of(m) if i in MODULES and i != m} for m in MODULES}
    cycles = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(" -> ".join(stack[stack.index(n) :] + [m, n]) if n in stack else f"{m} -> {n}")
            elif n not in state:
                visit(n, stack + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert not cycles, "modules importing each other:\n" + "\n".join(cycles)


# --- the checker itself can fail ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "offhost_audit.facts",
            "from offhost_audit.reports import render\n",
            "facts (core) imports offhost_audit.reports",
        ),
        ("offhost_audit.inventory", "from offhost_audit.collectors.base import Target\n", "(collectors)"),
        ("offhost_audit.collectors.winrm", "from ..engine import embedded\n", "imports offhost_audit.engine.embedded"),
        ("offhost_audit.collectors.winrm", "def f():\n    from offhost_audit.lab import wsman\n", "(lab)"),
        (
            "offhost_audit.collectors.winrm",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from offhost_audit.audit import run_audit\n",
            "(audit)",
        ),
        ("offhost_audit.engine.embedded", "import offhost_audit.collectors.psjson\n", "(collectors)"),
        ("offhost_audit.engine.embedded", "from offhost_audit import collect\n", "(audit)"),
        ("offhost_audit.reports.html", "from ..tui import app\n", "(tui)"),
        ("offhost_audit.reports.html", "from offhost_audit import cli\n", "(cli)"),
        ("offhost_audit.tui.app", "from offhost_audit.cli import main\n", "(cli)"),
        ("offhost_audit.tui.session", "def f():\n    from offhost_audit.engine import embedded\n", "(engine)"),
        ("offhost_audit.tui.session", "from offhost_audit.collectors import registry\n", "(collectors)"),
        ("offhost_audit.tui.app", "def f():\n    from offhost_audit.collectors.base import merge\n", "(collectors)"),
        ("offhost_audit.lab.demo", "from offhost_audit.tui.app import OffhostAuditApp\n", "(tui)"),
        ("offhost_audit.audit", "from offhost_audit.reports import render\n", "(reports)"),
        ("offhost_audit.store.history", "from textual.app import App\n", "only ['tui'] may"),
        ("offhost_audit.reports.html", "import textual\n", "only ['tui'] may"),
    ],
)
def test_a_forbidden_import_is_caught(module, source, expected):
    path = MODULES[module]
    bad = violations(module, imports(source, module, is_package=path.name == "__init__.py"))
    assert any(expected in b for b in bad), bad


def test_allowed_imports_pass():
    for module, source in [
        ("offhost_audit.collectors.winrm", "from ..errors import CollectorError\nfrom .base import Target\n"),
        ("offhost_audit.lab.responder", "from offhost_audit.collectors.pscommand import decode_command\n"),
        ("offhost_audit.tui.app", "from offhost_audit import audit\nimport textual\n"),
        ("offhost_audit.cli", "from offhost_audit import tui, lab, reports\n"),
    ]:
        assert violations(module, imports(source, module)) == []
