"""`?`: the keys, the filter syntax, and what each view shows."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from offhost_audit.tui import query

HELP = """\
Views        1 dashboard   2 findings   3 facts   4 proxy matrix   5 live audit
Everywhere   ? this help   Ctrl+P every action   Esc back   q quit   P switch profile
             R run the live audit again (with --inventory or demo --tui)

Findings     / filter as you type   p hide/show passes   w hide/show waived
             s sort by the next column (or click a header)   S reverse
             Enter detail pane   z zoom detail   e jump to the facts that decided it
             o open the doc link (or copy it)   W waive   X export this view
Facts        / search   n/N next/previous match or evidence path   Enter open a node
Matrix       arrows move, Enter opens the findings behind a cell
Dashboard    Enter on a proxy or a collection failure opens its findings
Live audit   R re-run everything   t (or Enter) re-run the highlighted target
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("offhost-audit TUI: keys\n", style="bold"))
            yield Static(Text(HELP))
            yield Static(Text("Filter syntax\n", style="bold"))
            yield Static(Text(query.__doc__.split("::", 1)[1].split("``Index", 1)[0].rstrip() + "\n"))
            yield Static(Text("Esc closes this help.", style="dim"))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
