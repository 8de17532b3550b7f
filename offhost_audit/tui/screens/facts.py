"""The facts explorer: the facts document as a lazy tree, a search box, jumps to evidence paths."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, Static

from offhost_audit.text import clean
from offhost_audit.tui import estate
from offhost_audit.tui.screens.view import ViewScreen
from offhost_audit.tui.widgets.facts_tree import FactsTree, Path, walk

MAX_MATCHES = 1000


def _show(path: Path, doc: dict) -> str:
    out, node = "", doc
    for step in path:
        if isinstance(step, int):
            name = estate.item_name(node[step])
            out += f"[{name}]" if name is not None else f"[{step}]"
        else:
            out += ("." if out else "") + str(step)
        node = node[step]
    return out or "facts"


class FactsScreen(ViewScreen):
    VIEW = "Facts"
    AUTO_FOCUS = "#facts-tree"
    BINDINGS = [
        Binding("slash", "focus_search", "Search", id="facts.search", tooltip="Search keys and values"),
        Binding("n", "next(1)", "Next", id="facts.next", tooltip="Next match or evidence path"),
        Binding("N", "next(-1)", "Prev", id="facts.prev"),
        Binding("escape", "back", "Back", id="facts.back"),
    ]

    def __init__(self) -> None:
        super().__init__("facts")
        self.matches: list[Path] = []
        self.position = -1
        self.label = ""

    def compose(self) -> ComposeResult:
        yield Static(id="facts-title", classes="title-bar")
        yield Input(placeholder="/ search facts (keys and values; Enter)", id="facts-search")
        yield Static(id="facts-status", classes="status-line")
        yield FactsTree(id="facts-tree")
        yield Footer(show_command_palette=False)  # ? (help) names Ctrl+P: room for the view keys

    def load(self) -> None:
        self.query_one(FactsTree).load(self.app.session.facts)
        self.matches, self.position = [], -1
        self._status()

    def _status(self, extra: str = "") -> None:
        t = Text()
        if self.matches:
            t.append(f"{self.label} {self.position + 1}/{len(self.matches)}: ", style="bold")
            t.append(
                clean(_show(self.matches[self.position], self.app.session.facts), keep_newlines=False), style="cyan"
            )
            t.append("  n/N: next/previous", style="dim")
        elif extra:
            t.append(clean(extra, keep_newlines=False), style="yellow")
        else:
            t.append("Enter or → opens a node; / searches", style="dim")
        self.query_one("#facts-status", Static).update(t, layout=False)

    # --- search and jumps --------------------------------------------------------------------

    @on(Input.Submitted, "#facts-search")
    def _search(self, event: Input.Submitted) -> None:
        self.search(event.value)
        self.query_one(FactsTree).focus()

    def search(self, needle: str) -> None:
        needle = needle.strip().lower()
        if not needle:
            self.matches = []
            self._status()
            return
        doc = self.app.session.facts
        found: list[Path] = []
        for path, value in walk(doc):
            if not path:
                continue
            key = path[-1]
            hay = str(key).lower() if isinstance(key, str) else ""
            if not isinstance(value, (dict, list)):
                hay += " " + str(value).lower()
            elif isinstance(value, dict) and estate.item_name(value) is not None and isinstance(key, int):
                hay += " " + str(estate.item_name(value)).lower()
            if needle in hay:
                found.append(path)
                if len(found) >= MAX_MATCHES:
                    break
        self.label = "match"
        self._jump_to(found, f"no fact matches {needle!r}")

    def show_paths(self, paths: list[str], label: str = "") -> None:
        """Reveal the facts behind evidence/missing paths (as far as each exists)."""
        doc = self.app.session.facts
        found: list[Path] = []
        for p in paths:
            steps = estate.fact_path(p)
            concrete = tuple(estate.resolve(doc, steps))
            if concrete and concrete not in found:
                found.append(concrete)
        self.label = "evidence"
        self._jump_to(found, f"{label}: none of its fact paths exist in these facts ({', '.join(paths[:3])})")

    def _jump_to(self, found: list[Path], empty: str) -> None:
        self.matches, self.position = found, 0 if found else -1
        if found:
            self.query_one(FactsTree).reveal(found[0])
        self._status(empty)

    def action_next(self, step: int) -> None:
        if not self.matches:
            return
        self.position = (self.position + step) % len(self.matches)
        self.query_one(FactsTree).reveal(self.matches[self.position])
        self._status()

    def action_focus_search(self) -> None:
        self.query_one("#facts-search", Input).focus()

    async def action_back(self) -> None:
        if self.focused is self.query_one("#facts-search", Input):
            self.query_one(FactsTree).focus()
        else:
            await self.app.action_back()
