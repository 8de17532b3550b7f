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
from offhost_audit.perf import paused_gc

MAX_DEPTH = 50  # mappings and lists nested deeper than this are refused (a real inventory needs 6)
MAX_VALUES = 500_000  # values after YAML aliases are expanded (a "billion laughs" file expands to 10^9)
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep (an inventory needs a handful)"
_PLAIN_KEY = re.compile(r"[\w.-]{1,60}\Z")


def compose(text: str, source: str, error: type[InputError] = InputError) -> yaml.Node | None:
    """The YAML node tree of text (None when empty); ``error`` (one line, file:line) when it is not
    valid YAML, nested too deeply or expands too far.

    One pass over the parser's events (libyaml's when installed), building the nodes without
    recursion: depth and alias expansion are checked as the nodes are made. PyYAML's own composer
    recurses (a deep document overflows the stack) and, pure Python, took 13 s for 20,000 waivers."""
    try:
        with paused_gc():  # ~300,000 nodes for 20,000 waivers, no cycles: full collections would triple the time
            return _Composer(source, error).run(text)
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (a raw control character)
        line = text.count("\n", 0, e.position) + 1 if isinstance(e.position, int) else 0
        what = f"U+{e.character:04X}" if isinstance(e.character, int) else "a character"
        raise error(f"{source}:{line}: not valid YAML: {what} is not allowed in YAML text") from None
    except yaml.YAMLError as e:
        if "maximum nesting depth" in str(getattr(e, "problem", "")):  # libyaml's own limit (1,000), met first
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            raise error(f"{source}:{line}: {_TOO_DEEP}") from None
        raise _yaml_error(e, source, error) from None
    except UnicodeEncodeError as e:  # libyaml takes UTF-8: a lone surrogate in text given in-process
        line = text.count("\n", 0, e.start) + 1
        raise error(f"{source}:{line}: not valid YAML: lone surrogate U+{ord(text[e.start]):04X}") from None


_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present: ~25x faster


class _Composer:
    """yaml.composer.Composer's rules (one document, anchors, implicit tags) without its recursion."""

    def __init__(self, source: str, error: type[InputError]) -> None:
        self.source, self.error = source, error
        self.anchors: dict[str, yaml.Node] = {}
        self.sizes: dict[str, int] = {}  # anchor -> values its node expands to (absent while it is open)

    def run(self, text: str) -> yaml.Node | None:
        from yaml.events import (
            AliasEvent,
            DocumentStartEvent,
            MappingEndEvent,
            MappingStartEvent,
            ScalarEvent,
            SequenceEndEvent,
            SequenceStartEvent,
        )

        resolve = yaml.resolver.Resolver().resolve
        scalar, mapping, sequence = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode
        # open collections: [node, pending mapping key or None, values so far, anchor]
        stack: list[list[Any]] = []
        root: yaml.Node | None = None
        events: Iterator[Any] = yaml.parse(text, Loader=_PARSER)  # events typed loosely: attributes vary by kind
        for ev in events:
            kind = type(ev)
            if kind is ScalarEvent:
                tag = ev.tag if ev.tag is not None and ev.tag != "!" else resolve(scalar, ev.value, ev.implicit)
                node: yaml.Node = scalar(tag, ev.value, ev.start_mark, ev.end_mark, style=ev.style or None)
                size = 1
                if ev.anchor is not None:
                    self._anchor(ev, node, 1)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if len(stack) >= MAX_DEPTH:
                    raise self.error(f"{self.source}:{ev.start_mark.line + 1}: {_TOO_DEEP}")
                cls = mapping if kind is MappingStartEvent else sequence
                tag = ev.tag if ev.tag is not None and ev.tag != "!" else resolve(cls, None, ev.implicit)
                node = cls(tag, [], ev.start_mark, None, flow_style=ev.flow_style)
                if ev.anchor is not None:
                    self._anchor(ev, node, None)
                stack.append([node, None, 1, ev.anchor])
                continue
            elif kind is AliasEvent:
                if ev.anchor not in self.anchors:
                    raise yaml.composer.ComposerError(None, None, f"found undefined alias {ev.anchor!r}", ev.start_mark)
                if ev.anchor not in self.sizes:
                    raise self.error(f"{self.source}:{ev.start_mark.line + 1}: a YAML alias refers to itself")
                node, size = self.anchors[ev.anchor], self.sizes[ev.anchor]
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                node, _, size, anchor = stack.pop()
                node.end_mark = ev.end_mark
                if anchor is not None:
                    self.sizes[anchor] = size
            else:
                if kind is DocumentStartEvent and root is not None:
                    raise yaml.composer.ComposerError(
                        "expected a single document in the stream",
                        root.start_mark,
                        "but found another document",
                        ev.start_mark,
                    )
                continue
            if not stack:
                root = node
                continue
            frame = stack[-1]
            frame[2] += size
            if frame[2] > MAX_VALUES:
                raise self.error(
                    f"{self.source}: the document expands to more than {MAX_VALUES:,} values through YAML "
                    "aliases (*name): refused"
                )
            if type(frame[0]) is sequence:
                frame[0].value.append(node)
            elif frame[1] is None:
                frame[1] = node
            else:
                frame[0].value.append((frame[1], node))
                frame[1] = None
        return root

    def _anchor(self, ev: Any, node: yaml.Node, size: int | None) -> None:
        if ev.anchor in self.anchors:
            raise yaml.composer.ComposerError(
                f"found duplicate anchor {ev.anchor!r}; first occurrence",
                self.anchors[ev.anchor].start_mark,
                "second occurrence",
                ev.start_mark,
            )
        self.anchors[ev.anchor] = node
        if size is not None:
            self.sizes[ev.anchor] = size


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
