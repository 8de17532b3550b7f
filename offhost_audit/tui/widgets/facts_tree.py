"""The facts document as a lazily expanded tree: children are built only when a node opens.

Each node's data is its concrete path (keys and list indexes). Labels are Rich ``Text`` from
``clean``-ed values, never markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from offhost_audit.text import clean
from offhost_audit.tui.estate import item_name

Path = tuple[int | str, ...]
_ORDER = (
    "hosts",
    "clusters",
    "shares",
    "domains",
    "computer_accounts",
    "vms",
    "assignments",
    "vbr",
    "collection",
    "warnings",
)


def _scalar(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def label_for(key: int | str, value: Any, parent: Any) -> Text:
    t = Text()
    if isinstance(key, int):
        name = item_name(value)
        t.append(f"[{clean(name, keep_newlines=False)}]" if name is not None else f"[{key}]", style="bold")
    else:
        t.append(clean(key, keep_newlines=False), style="bold cyan")
    if isinstance(value, dict):
        t.append(f"  {{{len(value)}}}", style="dim")
    elif isinstance(value, list):
        t.append(f"  [{len(value)}]", style="dim")
    else:
        t.append(": ")
        s = clean(_scalar(value), keep_newlines=False)
        t.append(s if len(s) <= 300 else s[:299] + "…", style="red" if value is None else "")
    return t


def walk(doc: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) in document order (depth first)."""
    yield path, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from walk(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from walk(v, path + (i,))


def value_at(doc: Any, path: Path) -> Any:
    for step in path:
        doc = doc[step]
    return doc


class FactsTree(Tree[Path]):
    """A Tree over one facts document; ``reveal(path)`` expands down to a path and selects it."""

    DEFAULT_CSS = """
    FactsTree { height: 1fr; }
    """
    BINDINGS = [
        Binding("right,l", "open_node", "Open", show=False),
        Binding("left,h", "close_node", "Close", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("facts", style="bold"), data=(), id=id)
        self.doc: dict[str, Any] = {}
        self._loaded: set[Path] = set()

    def load(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self._loaded = set()
        self.clear()
        self.root.data = ()
        self._fill(self.root)
        self.root.expand()

    def _children(self, value: Any) -> list[tuple[int | str, Any]]:
        if isinstance(value, dict):
            keys = sorted(value, key=lambda k: (_ORDER.index(k) if k in _ORDER else len(_ORDER), str(k)))
            return [(k, value[k]) for k in keys]
        if isinstance(value, list):
            return list(enumerate(value))
        return []

    def _fill(self, node: TreeNode[Path]) -> None:
        path = node.data or ()
        if path in self._loaded:
            return
        self._loaded.add(path)
        value = value_at(self.doc, path)
        for key, child in self._children(value):
            expandable = isinstance(child, (dict, list)) and bool(child)
            node.add(label_for(key, child, value), data=path + (key,), allow_expand=expandable)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Path]) -> None:
        self._fill(event.node)

    def action_open_node(self) -> None:
        """→: open the node; on an open node (or a leaf), go to its first child (or stay)."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and not node.is_expanded:
            node.expand()
        elif node.children:
            self.move_cursor(node.children[0])

    def action_close_node(self) -> None:
        """←: close the node; on a closed node (or a leaf), go to its parent."""
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded and node.children:
            node.collapse()
        elif node.parent is not None:
            self.move_cursor(node.parent)

    def reveal(self, path: Path) -> TreeNode[Path]:
        """Expand each step of ``path`` (building children on the way); select and show the last node."""
        node = self.root
        self._fill(node)
        node.expand()
        for i in range(len(path)):
            want = path[: i + 1]
            nxt = next((c for c in node.children if c.data == want), None)
            if nxt is None:
                break
            node = nxt
            self._fill(node)
            node.expand()  # the last one too: its values show
        _ = self.last_line  # builds the tree lines, so that node.line is known
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)
        return node
