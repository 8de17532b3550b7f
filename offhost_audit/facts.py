"""The facts document: load, validate against ``schema/facts.schema.json``, save atomically."""

from __future__ import annotations

import gc
import itertools
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any, Callable, Iterator

from offhost_audit.atomic import write_atomic
from offhost_audit.errors import FactsError
from offhost_audit.perf import json_loads
from offhost_audit.resources import schema_dir

SCHEMA_VERSION = 1
SHOWN_PROBLEMS = 25  # schema problems listed (and computed) at most

Facts = dict[str, Any]


@cache
def _schema() -> dict[str, Any]:
    return json.loads((schema_dir() / "facts.schema.json").read_text(encoding="utf-8"))


@cache
def _validator() -> Any:
    """jsonschema's validator: imported only to explain a failed check (it costs ~0.1 s to import)."""
    import jsonschema

    return jsonschema.Draft202012Validator(_schema())


def schema_problems(doc: Any, limit: int | None = None) -> list[str]:
    """Schema violations as ``$.json.path: message``, in document order (``hosts[2]`` before
    ``hosts[10]``); with ``limit``, only the first ``limit`` of them are computed.

    A compiled checker answers "valid?" in a fraction of jsonschema's time (a 10,000-host estate:
    about 0.1 s instead of 40 s). Only when it says no does jsonschema produce the messages, item
    by item for the failing entries of the big lists, so the messages stay jsonschema's own.
    """
    check = _fast_check()
    if check is not None and check(doc):
        return []
    return list(itertools.islice(_slow_problems(doc, check is not None), limit))


def _slow_problems(doc: Any, localise: bool) -> Iterator[str]:
    v = _validator()
    if not (localise and isinstance(doc, dict)):
        errors = sorted(v.iter_errors(doc), key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, str(p))
                                                          for p in e.absolute_path])
        yield from (f"{e.json_path}: {_short(e)}" for e in errors)
        return
    props = v.schema.get("properties", {})
    reduced, local = dict(doc), {}
    for key, value in doc.items():
        items = (props.get(key) or {}).get("items")
        if isinstance(value, list) and isinstance(items, dict):
            reduced[key], local[key] = [], items
    top: dict[Any, list[str]] = {}
    for e in v.iter_errors(reduced):  # the document without its big lists: small
        top.setdefault(e.absolute_path[0] if e.absolute_path else None, []).append(f"{e.json_path}: {_short(e)}")
    yield from top.pop(None, [])
    for key, value in doc.items():
        yield from top.pop(key, [])
        if key not in local:
            continue
        item_check = _compiler().compile(local[key])
        sub = v.evolve(schema=local[key])
        for i, item in enumerate(value):
            if not item_check(item):
                yield from (f"$.{key}[{i}]{e.json_path[1:]}: {_short(e)}" for e in sub.iter_errors(item))
    for rest in top.values():
        yield from rest


# --- a compiled checker for the schema's keywords (valid or not, no messages) ------------------

_IGNORED = {"description", "title", "$schema", "$id", "$comment", "format", "examples", "default", "$defs"}
_PYTYPES: dict[str, tuple[type, ...]] = {"null": (type(None),), "boolean": (bool,), "string": (str,), "array": (list,),
                                         "object": (dict,), "number": (int, float), "integer": (int,)}
Check = Callable[[Any], bool]


class _Unsupported(Exception):
    pass


class _Compiler:
    """Schema node -> check. Leaf nodes (only `type`, or a string enum) are inlined by their parent."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.memo: dict[int, Check] = {}

    def compile(self, node: Any) -> Check:
        key = id(node)
        if key not in self.memo:
            slot: list[Check] = []
            self.memo[key] = lambda x: slot[0](x)  # recursion-safe placeholder
            fn = _spec_fn(self._spec(node))
            slot.append(fn)
            self.memo[key] = fn
        return self.memo[key]

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise _Unsupported(ref)
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _spec(self, s: Any) -> tuple:
        """(0, types, int_floats) | (1, strings, has_null) | (2, check)."""
        if s is True:
            return (2, lambda x: True)
        if s is False:
            return (2, lambda x: False)
        keys = set(s) - _IGNORED
        if keys == {"$ref"}:
            return self._spec(self._resolve(s["$ref"]))
        if keys == {"type"}:
            return _types_spec(s["type"])
        if keys == {"enum"} and all(v is None or type(v) is str for v in s["enum"]):
            return (1, frozenset(v for v in s["enum"] if v is not None), None in s["enum"])
        checks: list[Check] = []
        types = s.get("type")
        tnames = [types] if isinstance(types, str) else list(types or [])
        structural = None
        if keys & {"properties", "additionalProperties", "required"} and set(tnames) <= {"object", "null"} and tnames:
            structural = self._object_check(s, "null" in tnames)
        elif "items" in keys and set(tnames) <= {"array", "null"} and tnames:
            structural = self._array_check(s, "null" in tnames)
        if structural is not None:
            checks.append(structural)
        elif types is not None:
            checks.append(_spec_fn(_types_spec(types)))
        for k in sorted(keys - {"type"}):
            v = s[k]
            if k in ("properties", "additionalProperties", "required", "items") and structural is not None:
                continue
            if k in ("enum", "const"):
                checks.append(_enum_check(v if k == "enum" else [v]))
            elif k == "$ref":
                checks.append(self.compile(self._resolve(v)))
            elif k == "anyOf":
                subs = [self.compile(x) for x in v]
                checks.append(lambda x, subs=subs: any(c(x) for c in subs))
            elif k in ("properties", "additionalProperties", "required"):
                checks.append(self._object_check(s, True, any_type=True))
            elif k == "items":
                checks.append(self._array_check(s, True, any_type=True))
            elif k == "uniqueItems":
                if v:
                    checks.append(lambda x: type(x) is not list or len({json.dumps(i, sort_keys=True) for i in x}) == len(x))
            elif k == "minimum":
                checks.append(lambda x, m=v: type(x) not in (int, float) or x >= m)
            elif k == "maximum":
                checks.append(lambda x, m=v: type(x) not in (int, float) or x <= m)
            elif k == "minLength":
                checks.append(lambda x, m=v: type(x) is not str or len(x) >= m)
            elif k == "maxLength":
                checks.append(lambda x, m=v: type(x) is not str or len(x) <= m)
            elif k == "pattern":
                rx = re.compile(v)
                checks.append(lambda x, rx=rx: type(x) is not str or rx.search(x) is not None)
            else:
                raise _Unsupported(k)
        if len(checks) == 1:
            return (2, checks[0])

        def all_of(x: Any) -> bool:
            for c in checks:
                if not c(x):
                    return False
            return True

        return (2, all_of)

    def _child(self, node: Any) -> tuple:
        key = id(node)
        if key in self.memo:
            return (2, self.memo[key])
        spec = self._spec(node) if not (isinstance(node, dict) and "$ref" in node and len(node) == 1) else None
        if spec is not None and spec[0] != 2:
            return spec
        return (2, self.compile(node))

    def _array_check(self, s: dict[str, Any], nullable: bool, any_type: bool = False) -> Check:
        kind, a, b = (*self._child(s["items"]), None)[:3]

        def check(x: Any) -> bool:
            if type(x) is not list:
                return any_type or (nullable and x is None)
            for i in x:
                if not _ok(kind, a, b, i):
                    return False
            return True

        return check

    def _object_check(self, s: dict[str, Any], nullable: bool, any_type: bool = False) -> Check:
        props = {k: (*self._child(v), None)[:3] for k, v in (s.get("properties") or {}).items()}
        extra = s.get("additionalProperties", True)
        extra_check = None if extra is True or extra is False else self.compile(extra)
        closed = extra is False
        required = tuple(s.get("required") or ())

        def check(x: Any) -> bool:
            if type(x) is not dict:
                return any_type or (nullable and x is None)
            for r in required:
                if r not in x:
                    return False
            for k, val in x.items():
                p = props.get(k)
                if p is None:
                    if closed or (extra_check is not None and not extra_check(val)):
                        return False
                    continue
                kind = p[0]
                if kind == 0:
                    if type(val) not in p[1] and not (p[2] and type(val) is float and val.is_integer()):
                        return False
                elif kind == 1:
                    if not ((val is None and p[2]) or (type(val) is str and val in p[1])):
                        return False
                elif not p[1](val):
                    return False
            return True

        return check


def _ok(kind: int, a: Any, b: Any, x: Any) -> bool:
    if kind == 0:
        return type(x) in a or (b and type(x) is float and x.is_integer())
    if kind == 1:
        return (x is None and b) or (type(x) is str and x in a)
    return a(x)


def _types_spec(types: Any) -> tuple:
    names = [types] if isinstance(types, str) else list(types)
    for n in names:
        if n not in _PYTYPES:
            raise _Unsupported(f"type {n}")
    return (0, frozenset(t for n in names for t in _PYTYPES[n]), "integer" in names and "number" not in names)


def _spec_fn(spec: tuple) -> Check:
    if spec[0] == 2:
        return spec[1]
    kind, a, b = spec
    return lambda x: _ok(kind, a, b, x)


def _enum_check(values: list[Any]) -> Check:
    if all(v is None or type(v) is str for v in values):
        strs = frozenset(v for v in values if v is not None)
        has_null = None in values
        return lambda x: (x is None and has_null) or (type(x) is str and x in strs)
    keys = {json.dumps(v, sort_keys=True) for v in values}
    return lambda x: type(x) in (str, int, float, bool, type(None), list, dict) and json.dumps(x, sort_keys=True) in keys


@cache
def _compiler() -> _Compiler:
    return _Compiler(_schema())


@cache
def _fast_check() -> Check | None:
    """The compiled checker, or None when the schema uses a keyword it does not know."""
    try:
        return _compiler().compile(_schema())
    except (_Unsupported, KeyError, re.error):
        return None


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


def norm_name(name: str) -> str:
    """A computer or cluster name as the rules compare it: first DNS label, upper-case
    ("hv01.corp.example" -> "HV01"). Must match ``norm`` in policies/lib/facts.rego."""
    return name.strip().split(".")[0].upper()


def duplicate_problems(doc: Facts) -> list[str]:
    """Hosts or clusters whose names are equal once normalised: the rules key on that form."""
    out: list[str] = []
    for key in ("hosts", "clusters"):
        seen: dict[str, int] = {}
        for i, item in enumerate(doc.get(key) or []):
            n = norm_name(item["name"])
            if n in seen:
                out.append(f"$.{key}[{i}].name: {item['name']!r} is the same {key[:-1]} as $.{key}[{seen[n]}].name "
                           f"(names compare case-insensitively on their first label: {n})")
            else:
                seen[n] = i
    return out


def loads(text: str, *, source: str = "facts") -> Facts:
    if not text.strip():
        raise FactsError(f"{source}: the file is empty (expected a facts JSON document)")
    was_enabled = gc.isenabled()
    gc.disable()  # a large document is millions of containers: GC passes cost 20-40% of the parse
    try:
        doc = json_loads(text)
    except json.JSONDecodeError as e:
        raise FactsError(f"{source}: not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    except RecursionError:
        raise FactsError(f"{source}: not valid JSON: nested too deeply") from None
    finally:
        if was_enabled:
            gc.enable()
    return validate(doc, source=source)


def read_text(path: str | os.PathLike[str]) -> str:
    """The facts file's text, not yet parsed; FactsError when it cannot be read."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FactsError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise FactsError(f"{p}: is a directory, expected a facts JSON file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise FactsError(f"{p}: cannot read: {e}") from None


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
