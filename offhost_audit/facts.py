"""The facts document: load, validate against ``schema/facts.schema.json``, save atomically."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema_rs

from offhost_audit.atomic import write_atomic
from offhost_audit.errors import FactsError
from offhost_audit.inputs import read_input
from offhost_audit.names import norm_name
from offhost_audit.perf import json_loads, paused_gc
from offhost_audit.resources import schema_dir

SCHEMA_VERSION = 1
SHOWN_PROBLEMS = 25  # schema problems listed (and computed) at most

Facts = dict[str, Any]


@cache
def _schema() -> dict[str, Any]:
    return json.loads((schema_dir() / "facts.schema.json").read_text(encoding="utf-8"))


@cache
def _validator() -> Any:
    """jsonschema's validator: it writes the messages, for the few entries found failing (imported only then)."""
    import jsonschema

    return jsonschema.Draft202012Validator(_schema())


@cache
def _checker(key: str | None = None) -> Any:
    """A jsonschema-rs validator (valid or not, fast) for the whole document or for one item of ``$.key``."""
    schema = _schema()
    if key is not None:
        schema = {"$defs": schema.get("$defs", {}), **schema["properties"][key]["items"]}
    return jsonschema_rs.validator_for(schema)


def schema_problems(doc: Any, limit: int | None = None) -> list[str]:
    """Schema violations as ``$.json.path: message``, in document order (``hosts[2]`` before
    ``hosts[10]``); with ``limit``, only the first ``limit`` of them are computed.

    jsonschema-rs answers "valid?" (a 10,000-host estate: about 0.1 s). Only when it says no are the
    messages written, by jsonschema, item by item for the failing entries of the big lists (found by
    jsonschema-rs), so they stay jsonschema's own and a broken 10,000-host file costs no more than a
    few failing items.
    """
    if _checker().is_valid(doc):
        return []
    return list(itertools.islice(_problems(doc), limit))


def _order(e: Any) -> list[tuple[int, int, str]]:
    return [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in e.absolute_path]


def _problems(doc: Any) -> Iterator[str]:
    v = _validator()
    if not isinstance(doc, dict):
        yield from (f"{e.json_path}: {_short(e)}" for e in sorted(v.iter_errors(doc), key=_order))
        return
    props = v.schema.get("properties", {})
    reduced = dict(doc)
    local = set()
    for key, value in doc.items():
        if isinstance(value, list) and isinstance((props.get(key) or {}).get("items"), dict):
            reduced[key] = []
            local.add(key)
    top: dict[Any, list[str]] = {}
    for e in sorted(v.iter_errors(reduced), key=_order):  # the document without its big lists: small
        top.setdefault(e.absolute_path[0] if e.absolute_path else None, []).append(f"{e.json_path}: {_short(e)}")
    yield from top.pop(None, [])
    for key, value in doc.items():
        yield from top.pop(key, [])
        if key not in local:
            continue
        item_ok = _checker(key).is_valid
        sub = v.evolve(schema={"$defs": v.schema.get("$defs", {}), **props[key]["items"]})
        for i, item in enumerate(value):
            if not item_ok(item):
                errors = sorted(sub.iter_errors(item), key=_order)
                yield from (f"$.{key}[{i}]{e.json_path[1:]}: {_short(e)}" for e in errors)
    for rest in top.values():
        yield from rest


def _short(error: Any) -> str:
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
    problems = schema_problems(doc, limit=SHOWN_PROBLEMS + 1) or duplicate_problems(doc)
    if problems:
        shown = "\n  ".join(f"{source}: {p}" for p in problems[:SHOWN_PROBLEMS])
        count = f"{len(problems)}" if len(problems) <= SHOWN_PROBLEMS else f"more than {SHOWN_PROBLEMS}"
        first = "" if len(problems) <= SHOWN_PROBLEMS else f", the first {SHOWN_PROBLEMS} in document order"
        raise FactsError(f"{source}: {count} schema problem(s){first}:\n  {shown}")
    return doc


def duplicate_problems(doc: Facts) -> list[str]:
    """Hosts or clusters whose names are equal once normalised: the rules key on that form."""
    out: list[str] = []
    for key in ("hosts", "clusters"):
        seen: dict[str, int] = {}
        for i, item in enumerate(doc.get(key) or []):
            n = norm_name(item["name"])
            if n in seen:
                out.append(
                    f"$.{key}[{i}].name: {item['name']!r} is the same {key[:-1]} as $.{key}[{seen[n]}].name "
                    f"(names compare case-insensitively on their first label: {n})"
                )
            else:
                seen[n] = i
    return out


def loads(text: str, *, source: str = "facts") -> Facts:
    if not text.strip():
        raise FactsError(f"{source}: the file is empty (expected a facts JSON document)")
    try:
        with paused_gc():  # a large document is millions of containers: GC passes cost 20-40% of the parse
            doc = json_loads(text)
    except json.JSONDecodeError as e:
        raise FactsError(f"{source}: not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    except RecursionError:
        raise FactsError(f"{source}: not valid JSON: nested too deeply") from None
    return validate(doc, source=source)


def read_text(path: str | os.PathLike[str]) -> str:
    """The facts file's text, not yet parsed; FactsError when it cannot be read."""
    return read_input(path, "a facts JSON file", FactsError)


def load_with_text(path: str | os.PathLike[str]) -> tuple[Facts, str]:
    """The validated document and its JSON text (handed on to the engine as is, no re-serialising)."""
    text = read_text(path)
    return loads(text, source=str(path)), text


def load(path: str | os.PathLike[str]) -> Facts:
    return load_with_text(path)[0]


def save(path: str | os.PathLike[str], doc: Facts) -> None:
    """Validate, then write the facts document atomically."""
    validate(doc, source=str(path))
    write_atomic(path, json.dumps(doc, indent=2, sort_keys=False) + "\n")
