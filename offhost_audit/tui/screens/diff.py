"""What changed between two stored runs (``diff.diff_runs``): counts per category and the changes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from offhost_audit.store.diff import CATEGORIES, LABELS, RunDiff
from offhost_audit.text import clean
from offhost_audit.tui.widgets.keyed import KeyedDataTable

MAX_ROWS = 1000  # the built-in DataTable: fine for hundreds of rows
_STYLE = {
    "new": "bold red",
    "regressed": "bold red",
    "waiver_expired": "red",
    "to_unknown": "yellow",
    "fixed": "green",
    "still_failing": "dim",
    "not_evaluated": "magenta",
}


class DiffScreen(Screen):
    """Esc closes it. Still-failing findings are counted, not listed (as in ``offhost-audit diff``)."""

    BINDINGS = [Binding("escape,q", "close", "Close", id="diff.close")]
    DEFAULT_CSS = """
    DiffScreen #diff-table { height: 1fr; }
    DiffScreen #diff-counts { padding: 0 1; height: auto; }
    """

    def __init__(self, d: RunDiff, old: tuple[int | None, str], new: tuple[int | None, str]) -> None:
        super().__init__()
        self.d, self.old, self.new = d, old, new

    def compose(self) -> ComposeResult:
        title = Text(" offhost-audit ", style="bold reverse")
        title.append(
            f" What changed: run {self.old[0]} ({self.old[1]}) -> run {self.new[0]} ({self.new[1]})", style="bold"
        )
        title.no_wrap, title.overflow = True, "ellipsis"
        yield Static(title, classes="title-bar")
        counts = Text()
        for cat in CATEGORIES:
            n = len(self.d.changes[cat])
            counts.append(f"{LABELS[cat]}: {n:,}   ", style=_STYLE[cat] if n else "dim")
        yield Static(counts, id="diff-counts")
        yield KeyedDataTable(id="diff-table", cursor_type="row", zebra_stripes=True)
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#diff-table", DataTable)
        for label in ("change", "rule", "severity", "subject", "before -> now", "why"):
            table.add_column(label)
        shown = 0
        for cat in CATEGORIES:
            if cat == "still_failing":
                continue
            for c in self.d.changes[cat]:
                if shown >= MAX_ROWS:
                    break
                table.add_row(
                    Text(LABELS[cat], style=_STYLE[cat]),
                    Text(c.rule_id),
                    Text(c.severity),
                    Text(clean(c.subject, keep_newlines=False)),
                    Text(f"{c.old_status or '-'} -> {c.new_status or '-'}"),
                    Text(clean(c.reason, keep_newlines=False), style="dim"),
                )
                shown += 1
        if not shown:
            still = len(self.d.changes["still_failing"])
            note = f"no changes ({still:,} still failing)" if still else "no changes"
            table.add_row(Text(note, style="dim"), *(Text("") for _ in range(5)))
        table.focus()

    def action_close(self) -> None:
        self.dismiss()
