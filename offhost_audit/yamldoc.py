"""YAML documents read safely, with the line of every value and every problem found.

:func:`compose` refuses what would hurt the reader before building anything: mappings and lists
nested deeper than :data:`MAX_DEPTH` (PyYAML's composer is recursive) and aliases that expand to
more than :data:`MAX_VALUES` values (a "billion laughs" file is 1 KB and 10^9 values). :class:`Doc`
turns the composed tree into plain values and collects errors as ``file:line: field: message``,
so a loader can report every problem at once (``doc.fail`` skips the entry, ``doc.note`` goes on).
Used by the inventory, the waivers file and the lab's scenario files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import yaml

from offhost_audit.errors import InputError

MAX_DEPTH = 50  # mappings and lists nested deeper than this are refused (a real inventory needs 6)
MAX_VALUES = 500_000  # values after YAML aliases are expanded (a "billion laughs" file expands to 10^9)
_PLAIN_KEY = re.compile(r"[\w.-]{1,60}\Z")


def compose(text: str, source: str, error: type[InputError] = InputError) -> yaml.Node | None:
    """The YAML node tree of text (None when empty); ``error`` (one line, file:line) when it is not
    valid YAML, nested too deeply or expands too far."""
    try:
        _check_shape(text, source, error)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise _yaml_error(e, source, error) from None
    if node is not None:
        _check_expansion(node, source, error)
    return node


def safe_load(text: str, source: str, error: type[InputError] = InputError) -> Any:
    """``yaml.safe_load`` with the limits of :func:`compose`."""
    node = compose(text, source, error)
    if node is None:
        return None
    try:
        return yaml.constructor.SafeConstructor().construct_document(node)
    except yaml.YAMLError as e:
        raise _yaml_error(e, source, error) from None


def _yaml_error(e: yaml.YAMLError, source: str, error: type[InputError]) -> InputError:
    mark = getattr(e, "problem_mark", None)
    line = f":{mark.line + 1}" if mark else ""
    problem = getattr(e, "problem", None) or type(e).__name__  # never str(e): it quotes the line
    return error(f"{source}{line}: not valid YAML: {problem}")


def _check_shape(text: str, source: str, error: type[InputError]) -> None:
    """Refuse deep nesting before the (recursive) composer sees it."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise error(f"{source}:{line}: nested more than {MAX_DEPTH} levels deep (an inventory needs a handful)")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _check_expansion(root: yaml.Node, source: str, error: type[InputError]) -> None:
    """Refuse a document whose aliases expand to more than MAX_VALUES values (counted, not built)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            if sizes[key] < 0:
                raise error(f"{source}:{node.start_mark.line + 1}: a YAML alias refers to itself")
            return sizes[key]
        sizes[key] = -1
        children = (
            [x for kv in node.value for x in kv]
            if isinstance(node, yaml.MappingNode)
            else (node.value if isinstance(node, yaml.SequenceNode) else [])
        )
        total = 1 + sum(size(c) for c in children)
        sizes[key] = min(total, MAX_VALUES + 1)
        return sizes[key]

    if size(root) > MAX_VALUES:
        raise error(
            f"{source}: the document expands to more than {MAX_VALUES:,} values through YAML aliases (*name): refused"
        )


class Skip(Exception):
    """One entry is wrong (recorded); parsing goes on with the next one."""


class Doc:
    """Plain Python values from a composed YAML tree, with the line of every path, and the errors."""

    def __init__(self, path: str, error: type[InputError] = InputError) -> None:
        self.path = path
        self.error = error
        self.lines: dict[tuple[Any, ...], int] = {}
        self.errors: list[tuple[int, str]] = []
        self._scalars = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, at: tuple[Any, ...] = ()) -> Any:
        self.lines[at] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for k, v in node.value:
                key = str(self.scalar(k)) if not isinstance(k, yaml.ScalarNode) else k.value
                if key in out:
                    self.note(at + (key,), f"duplicate key '{key}'", line=k.start_mark.line + 1)
                out[key] = self.build(v, at + (key,))
                self.lines.setdefault(at + (key,), k.start_mark.line + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, at + (i,)) for i, v in enumerate(node.value)]
        return self.scalar(node) if node.tag != "tag:yaml.org,2002:str" else node.value

    def scalar(self, node: yaml.Node) -> Any:
        """A YAML value as the safe loader builds it (numbers, booleans, null, dates); only safe tags."""
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.YAMLError as e:
            line = node.start_mark.line + 1
            raise self.error(
                f"{self.path}:{line}: not valid YAML: {getattr(e, 'problem', None) or type(e).__name__}"
            ) from None

    def where(self, at: tuple[Any, ...]) -> str:
        return f"{self.path}:{self.line(at)}"

    def line(self, at: tuple[Any, ...]) -> int:
        return next((self.lines[at[:i]] for i in range(len(at), -1, -1) if at[:i] in self.lines), 1)

    def note(self, at: tuple[Any, ...], msg: str, *, line: int | None = None) -> None:
        """Record an error and go on."""
        line = line or self.line(at)
        self.errors.append((line, f"{self.path}:{line}: {field_path(at) or '(top)'}: {msg}"))

    def fail(self, at: tuple[Any, ...], msg: str, *, line: int | None = None) -> NoReturn:
        """Record an error and skip the rest of the entry being parsed."""
        self.note(at, msg, line=line)
        raise Skip

    @contextmanager
    def each(self) -> Iterator[None]:
        """An entry whose errors are recorded without stopping the entries after it."""
        try:
            yield
        except Skip:
            pass

    def raise_errors(self) -> None:
        if self.errors:
            seen = dict.fromkeys(text for _, text in sorted(self.errors, key=lambda e: e[0]))
            raise self.error("\n".join(seen))


def field_path(at: tuple[Any, ...]) -> str:
    s = ""
    for p in at:
        if isinstance(p, int):
            s += f"[{p}]"
        elif not _PLAIN_KEY.match(p):  # a key with spaces, newlines or control characters: quoted, short
            s += f"[{show(p)}]"
        else:
            s += f".{p}" if s else p
    return s


def show(value: Any) -> str:
    """A value for an error message: repr, cut short (never used for credential fields)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
