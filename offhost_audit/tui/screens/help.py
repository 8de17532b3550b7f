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
Views       1 dashboard  2 findings  3 facts  4 matrix  5 live audit
            6 run history  7 jobs
Anywhere    ?  this help             Ctrl+P  every action, themes
            Esc  back                q  quit
            P  switch the profile    R  run the live audit again
Findings    /  filter as you type    Enter  the detail pane
            p  hide/show passes      w  hide/show waived
            s  sort by next column   S  reverse (or click a header)
            z  zoom the detail (z or Esc: back; arrows, j/k, PgDn scroll it)
            e  the facts that decided it
            o  open or copy the doc  W  waive     X  export this view
            F  the fix (scripted and manual steps; read-only)
Lists       ↑↓ or j/k move           g / G  first / last (findings)
Facts       →/Enter open a node      ←  close it (or go to its parent)
            /  search                n / N  next / previous match
Matrix      Enter  the findings behind the cell
            p  the plan: fewest proxies (★ its pairs)
            w  what if the proxy under the cursor is down
Jobs        /  filter as you type    Enter  the findings that block the row
Dashboard   Enter  the findings of a proxy or a collection failure
            F  the fixes on the highlighted proxy
Live audit  R  re-run everything     t or Enter  re-run the target
Run history Enter  open the run      space  mark (two at most)
            d  diff the two marked runs (or this run and the one before)
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 100%; max-width: 100; height: 100%; border: thick $primary; background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("offhost-audit TUI: keys\n", style="bold"))
            yield Static(Text(HELP))
            yield Static(Text("Filter syntax\n", style="bold"))
            yield Static(Text(query.SYNTAX))
            yield Static(Text("Esc closes this help.", style="dim"))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
