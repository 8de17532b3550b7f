"""Proxy eligibility: proxies x Hyper-V hosts, clusters and SMB shares; a cell opens its findings."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from offhost_audit.text import clean
from offhost_audit.tui import estate
from offhost_audit.tui.messages import ShowFindings

_KIND = {"cluster": "cluster", "host": "host", "share": "share"}


def cell_text(cell: estate.Cell) -> Text:
    if cell.state == "blocked":
        return Text("✘ " + ",".join(r.removeprefix("OHP-") for r in cell.rules), style="bold red")
    if cell.state == "unknown":
        return Text("? " + ",".join(r.removeprefix("OHP-") for r in cell.rules), style="bold yellow")
    if cell.state == "ready":
        return Text("✔ ready", style="green")
    return Text("·", style="dim")


class MatrixScreen(Screen):
    AUTO_FOCUS = "#matrix-table"
    BINDINGS = [
        Binding("enter", "open", "Findings", id="matrix.open", tooltip="Open the findings behind the cell"),
        Binding("escape", "back", "Back", id="matrix.back"),
    ]

    def __init__(self) -> None:
        super().__init__(id="matrix")
        self._generation = -1
        self.model: estate.Matrix | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="matrix-title", classes="title-bar")
        yield Static(Text.assemble(("✔ ready  ", "green"), ("✘ blocked by rules  ", "red"), ("? undecided  ", "yellow"),
                                   ("· not assigned", "dim"), ("   Enter: the findings behind a cell", "dim")),
                     classes="status-line")
        yield DataTable(id="matrix-table", cursor_type="cell", zebra_stripes=True)
        yield Static(id="matrix-cell", classes="status-line")
        yield Footer()

    def on_screen_resume(self) -> None:
        if self._generation != self.app.generation:
            self.reload()

    def reload(self) -> None:
        self._generation = self.app.generation
        self.query_one("#matrix-title", Static).update(self.app.title_text("Proxy eligibility"))
        m = self.model = estate.matrix(self.app.session.facts, self.app.session.findings)
        table = self.query_one("#matrix-table", DataTable)
        table.clear(columns=True)
        table.add_column(Text("proxy \\ source", style="bold"), key="proxy")
        for kind, name in m.columns:
            table.add_column(Text(f"{_KIND[kind]} {clean(name, keep_newlines=False)}"))
        for p in m.proxies:
            table.add_row(Text(clean(p, keep_newlines=False), style="bold"),
                          *(cell_text(m.cells[(p, col)]) for col in m.columns))
        if not m.proxies:
            self.query_one("#matrix-cell", Static).update(Text("No proxies in these facts or findings.", style="dim"))

    def _cell_at(self, row: int, column: int) -> tuple[str, tuple[str, str], estate.Cell] | None:
        m = self.model
        if m is None or column < 1 or row >= len(m.proxies) or column - 1 >= len(m.columns):
            return None
        p, col = m.proxies[row], m.columns[column - 1]
        return p, col, m.cells[(p, col)]

    @on(DataTable.CellHighlighted)
    def _highlighted(self, event: DataTable.CellHighlighted) -> None:
        hit = self._cell_at(event.coordinate.row, event.coordinate.column)
        if hit is None:
            return
        p, (kind, name), cell = hit
        t = Text(f"{clean(p)} × {kind} {clean(name)}: ", style="bold")
        what = {"blocked": "blocked by " + ", ".join(cell.rules), "unknown": "undecided: " + ", ".join(cell.rules),
                "ready": "ready", "none": "not assigned to this proxy"}[cell.state]
        t.append(f"{what} ({len(cell.rows)} findings)")
        self.query_one("#matrix-cell", Static).update(t)

    @on(DataTable.CellSelected)
    def _selected(self, event: DataTable.CellSelected) -> None:
        hit = self._cell_at(event.coordinate.row, event.coordinate.column)
        if hit is None:
            return
        p, (kind, name), cell = hit
        if not cell.rows:
            self.app.say(f"No findings behind {p} × {name}.")
            return
        self.post_message(ShowFindings(rows=cell.rows, label=f"{p} × {kind} {name}"))

    def action_open(self) -> None:
        self.query_one("#matrix-table", DataTable).action_select_cursor()

    async def action_back(self) -> None:
        await self.app.action_back()
