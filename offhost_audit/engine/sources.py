"""Policy sources on disk and regorus error text, shared by the engines and the test runner.

regorus reports errors as a caret diagram followed by a Rust backtrace (printed even without
RUST_BACKTRACE)::

    --> policies/x.rego:6:5
      |
    6 |   q := [1
      |     ^
    error: expecting `}` while parsing set

    Stack backtrace: ...

:func:`format_rego_error` turns that into ``policies/x.rego:6:5: expecting `}` while parsing set``
followed by the source diagram, without the backtrace.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from offhost_audit.perf import json_dumps, json_loads, paused_gc

_LOCATION = re.compile(r"-->\s*(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)\s*$", re.M)
_MESSAGE = re.compile(r"^error:\s*(?P<msg>.*)$", re.M)


class PolicySource(NamedTuple):  # not a dataclass: dataclasses costs ~10 ms of start-up to import
    """One .rego file: ``name`` is what error messages and coverage show, ``rel`` is relative to the root."""

    name: str
    rel: str
    text: str


def quiet_backtraces() -> None:
    """Called before a regorus engine is made. regorus errors are anyhow errors: with RUST_BACKTRACE=1
    in the environment each one captures a backtrace (about 200 ms for the first, symbolised). We
    strip it anyway (strip_backtrace), so ask for none, unless the user set RUST_LIB_BACKTRACE."""
    os.environ.setdefault("RUST_LIB_BACKTRACE", "0")


def strip_backtrace(text: str) -> str:
    for marker in ("\nStack backtrace:", "Stack backtrace:"):
        if marker in text:
            text = text.split(marker, 1)[0]
    return text.strip("\n").rstrip()


def format_rego_error(exc: BaseException | str) -> str:
    """``file:line:col: message`` plus the source diagram; the Rust backtrace removed."""
    text = strip_backtrace(str(exc))
    loc = _LOCATION.search(text)
    msg = _MESSAGE.search(text)
    if not loc or not msg:
        return text.strip() or type(exc).__name__
    head = f"{loc['file']}:{loc['line']}:{loc['col']}: {msg['msg'].strip()}"
    diagram = [ln for ln in text[loc.end() : msg.start()].splitlines() if ln.strip()]
    if not diagram:
        return head
    return head + "\n" + "\n".join("    " + ln for ln in diagram)


def display_name(path: Path) -> str:
    """The path relative to the working directory when it is below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def rego_files(root: Path, *, include_tests: bool) -> list[Path]:
    """Every .rego file below root (or root itself), sorted, hidden folders skipped."""
    if root.is_file():
        return [root]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            if fn.endswith(".rego") and (include_tests or not fn.endswith("_test.rego")):
                out.append(Path(dirpath) / fn)
    return out


def read_sources(root: Path, *, include_tests: bool = False) -> list[PolicySource]:
    root = Path(root)
    base = root if root.is_dir() else root.parent
    out = []
    for p in rego_files(root, include_tests=include_tests):
        out.append(
            PolicySource(name=display_name(p), rel=p.relative_to(base).as_posix(), text=p.read_text(encoding="utf-8"))
        )
    return out


def signature(root: Path) -> tuple:
    """Cheap change detector: (path, mtime_ns, size) of every non-test .rego file."""
    sig = []
    for p in rego_files(Path(root), include_tests=False):
        st = p.stat()
        sig.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(sig)


def parse_json(text: str | bytes) -> Any:
    """JSON text to Python with the cyclic GC paused (see paused_gc), orjson for large texts."""
    with paused_gc():
        return json_loads(text)


def dumps_compact(doc: Any) -> str:
    """Python to compact JSON text (perf.json_dumps); what the engines are given."""
    return json_dumps(doc).decode("utf-8")
