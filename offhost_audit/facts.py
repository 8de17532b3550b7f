"""The facts document: load, validate against ``schema/facts.schema.json``, save atomically."""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from offhost_audit.errors import FactsError
from offhost_audit.resources import schema_dir

SCHEMA_VERSION = 1

Facts = dict[str, Any]


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((schema_dir() / "facts.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def schema_problems(doc: Any) -> list[str]:
    """Every schema violation as ``$.json.path: message``, in document order."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{e.json_path}: {_short(e)}" for e in errors]


def _short(error: jsonschema.ValidationError) -> str:
    msg = error.message
    return msg if len(msg) <= 200 else msg[:197] + "..."


def validate(doc: Any, *, source: str = "facts") -> Facts:
    """Raise :class:`FactsError` naming every problem, or return the document."""
    if not isinstance(doc, dict):
        raise FactsError(f"{source}: expected a JSON object at the top level, got {type(doc).__name__}")
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise FactsError(
            f"{source}: $.schema_version: this offhost-audit reads facts schema version {SCHEMA_VERSION}, "
            f"the file says {version!r}"
        )
    problems = schema_problems(doc)
    if problems:
        shown = "\n  ".join(problems[:25])
        more = f"\n  ... and {len(problems) - 25} more" if len(problems) > 25 else ""
        raise FactsError(f"{source}: {len(problems)} schema problem(s):\n  {shown}{more}")
    return doc


def loads(text: str, *, source: str = "facts") -> Facts:
    if not text.strip():
        raise FactsError(f"{source}: the file is empty (expected a facts JSON document)")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise FactsError(f"{source}: not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    return validate(doc, source=source)


def load(path: str | os.PathLike[str]) -> Facts:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FactsError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise FactsError(f"{p}: cannot read: {e}") from None
    return loads(text, source=str(p))


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write text to path via a temp file in the same folder and an atomic rename."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(path: str | os.PathLike[str], doc: Facts) -> None:
    """Validate, then write the facts document atomically."""
    validate(doc, source=str(path))
    write_atomic(path, json.dumps(doc, indent=2, sort_keys=False) + "\n")
