"""Proxy eligibility: proxies x Hyper-V hosts, clusters and SMB shares; a cell opens its findings.

``p`` shows the plan (offhost_audit/plan/: the fewest proxies that serve every source) over the
matrix, a ``★`` on each assigned pair and the plan's summary under it; ``w`` asks what happens
when the proxy under the cursor is down (again: it is back). ``--candidate`` and
``--assume-fixed`` are the CLI's (`offhost-audit plan`): they re-evaluate."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from offhost_audit import plan as planner
from offhost_audit.text import clean
from offhost_audit.tui import estate, scopes
from offhost_audit.tui.messages import ShowFindings
from offhost_audit.tui.screens.view import ViewScreen
from offhost_audit.tui.widgets.keyed import KeyedDataTable

_KIND = {"cluster": "cluster", "host": "host", "share": "share"}
MAX_GRID_COLUMNS = 60  # wider than that a grid is unreadable: one row per assigned pair instead
MAX_GRID_PROXIES = 300
MAX_PAIRS = 500  # the built-in DataTable is fine for hundreds of rows, not tens of thousands
PLAN_TIME_LIMIT = 5.0  # seconds per plan in the TUI (the CLI's default is 10)
PLANNED = " ★"


_MARK = {"not_ready": ("✘ ", "bold red"), "unknown": ("? ", "bold yellow"), "ready_with_warnings": ("! ", "cyan")}


def cell_text(cell: estate.Cell, planned: bool = False) -> Text:
    """``✘ 023`` not ready (blocking rules), ``? 020,021`` unknown, ``! 005`` ready with warnings,
    ``✔ ready``; `` ★`` after a pair the plan uses."""
    if cell.state in _MARK:
        mark, style = _MARK[cell.state]
        text = Text(mark + ",".join(r.removeprefix("OHP-") for r in cell.rules), style=style)
    elif cell.state == "ready":
        text = Text("✔ ready", style="green")
    else:
        text = Text("·", style="dim")
    if planned:
        text.append(PLANNED, style="bold magenta")
    return text


def plan_summary(doc: dict) -> str:
    """The plan under the matrix (★ marks its pairs): headline, solver, what taking proxies away changes."""
    from offhost_audit.reports import plan_view  # the CLI table's words

    out = [plan_view.headline(doc), plan_view.solver_line(doc)]
    w = doc.get("what_if")
    if w:
        out.append(f"without {', '.join(w['without'])} (w again: back): " + "; ".join(plan_view.what_if_lines(doc)[:4]))
    else:
        out.append("★ the plan's pairs.  w: what if the proxy under the cursor is down.  p: hide")
    return "\n".join(out)


class MatrixScreen(ViewScreen):
    VIEW = "Proxy eligibility"
    AUTO_FOCUS = "#matrix-table"
    BINDINGS = [
        Binding("enter", "open", "Findings", id="matrix.open", tooltip="Open the findings behind the cell"),
        Binding("escape", "back", "Back", id="matrix.back"),
        Binding("p", "plan", "Plan", id="matrix.plan", show=False, tooltip="Show or hide the plan (★)"),
        Binding("w", "without", "Without", id="matrix.without", show=False, tooltip="What if this proxy is down"),
    ]

    def __init__(self) -> None:
        super().__init__("matrix")
        self.model: estate.Matrix | None = None
        self.grid = True
        self.pairs: list[tuple[str, tuple[str, str], estate.Cell]] = []
        self.show_plan = False
        self.without: set[str] = set()
        self.plan: dict | None = None
        self.planned: set[tuple[str, tuple[str, str]]] = set()  # (proxy, (kind, source)) in the plan

    def compose(self) -> ComposeResult:
        yield Static(id="matrix-title", classes="title-bar")
        yield Static(
            Text.assemble(
                ("✔ ready  ", "green"),
                ("! warnings  ", "cyan"),
                ("? unknown  ", "yellow"),
                ("✘ not ready  ", "red"),
                ("· unassigned", "dim"),
                ("  Enter: findings", "dim"),
            ),
            classes="status-line",
        )
        yield KeyedDataTable(id="matrix-table", cursor_type="cell", zebra_stripes=True)
        yield Static(id="matrix-cell", classes="status-line")
        yield Static(id="matrix-plan", classes="status-line")
        yield Footer(show_command_palette=False)  # ? (help) names Ctrl+P: room for the view keys

    def on_mount(self) -> None:
        self.query_one("#matrix-plan", Static).display = False

    def load(self) -> None:
        self.query_one("#matrix-cell", Static).update(Text("computing…", style="dim"))
        self.plan = None
        self.planned = set()
        self._compute(self.app.session.facts, self.app.session.findings)
        if self.show_plan:
            self._plan()

    def action_plan(self) -> None:
        self.show_plan = not self.show_plan
        if self.show_plan:
            self._plan()
        else:
            self.planned = set()
            self.query_one("#matrix-plan", Static).display = False
            if self.model is not None:
                self._show(self.model)

    def action_without(self) -> None:
        """What if the proxy under the cursor is down (again: back up): the plan without it."""
        table = self.query_one("#matrix-table", DataTable)
        hit = self._cell_at(table.cursor_coordinate.row, max(1, table.cursor_coordinate.column))
        if hit is None:
            return
        self.without ^= {hit[0]}
        self.show_plan = True
        self._plan()

    def _plan(self) -> None:
        self.query_one("#matrix-plan", Static).display = True
        self.query_one("#matrix-plan", Static).update(Text("planning…", style="dim"))
        self._compute_plan(self.app.session.facts, self.app.session.findings, sorted(self.without))

    @work(thread=True, exclusive=True, group="matrix-plan", exit_on_error=False, description="proxy plan")
    def _compute_plan(self, facts: dict, findings: list, without: list[str]) -> None:
        doc = planner.make(facts, findings, without=without, time_limit=PLAN_TIME_LIMIT)
        self.app.call_from_thread(self._show_plan, doc)

    def _show_plan(self, doc: dict) -> None:
        if not self.show_plan:
            return
        self.plan = doc
        self.planned = {
            (p, (a["source"]["kind"], a["source"]["name"])) for a in doc["assignments"] for p in a["proxies"]
        }
        self.query_one("#matrix-plan", Static).update(Text(clean(plan_summary(doc), keep_newlines=True)))
        if self.model is not None:
            self._show(self.model)

    @work(thread=True, exclusive=True, group="matrix", exit_on_error=False, description="proxy matrix")
    def _compute(self, facts: dict, findings: list) -> None:
        model = estate.matrix(facts, findings)
        self.app.call_from_thread(self._show, model)

    def _show(self, m: estate.Matrix) -> None:
        self.model = m
        table = self.query_one("#matrix-table", DataTable)
        table.clear(columns=True)
        self.grid = len(m.columns) <= MAX_GRID_COLUMNS and len(m.proxies) <= MAX_GRID_PROXIES
        if self.grid:
            table.cursor_type = "cell"
            table.add_column(Text("proxy \\ source", style="bold"), key="proxy")
            for kind, name in m.columns:
                table.add_column(Text(f"{_KIND[kind]} {clean(name, keep_newlines=False)}"))
            for p in m.proxies:
                table.add_row(
                    Text(clean(p, keep_newlines=False), style="bold"),
                    *(cell_text(m.cell(p, col), (p, col) in self.planned) for col in m.columns),
                )
            note = Text(f"{len(m.proxies)} proxies x {len(m.columns)} sources", style="dim")
        else:  # a large estate: one row per assigned pair, the most urgent first
            table.cursor_type = "row"
            self.pairs = m.pairs()[:MAX_PAIRS]
            for label in ("proxy", "source", "state"):
                table.add_column(Text(label, style="bold"))
            for p, (kind, name), cell in self.pairs:
                table.add_row(
                    Text(clean(p, keep_newlines=False), style="bold"),
                    Text(f"{_KIND[kind]} {clean(name, keep_newlines=False)}"),
                    cell_text(cell, (p, (kind, name)) in self.planned),
                )
            note = Text(
                f"{len(m.cells):,} proxy x source pairs: too many for a grid; the {len(self.pairs):,} most urgent "
                "(not ready, then unknown). Enter opens a pair's findings; host:NAME in the findings filter finds any.",
                style="dim",
            )
        self.query_one("#matrix-cell", Static).update(
            note if m.proxies else Text("No proxies in these facts or findings.", style="dim")
        )

    def _cell_at(self, row: int, column: int) -> tuple[str, tuple[str, str], estate.Cell] | None:
        m = self.model
        if m is None:
            return None
        if not self.grid:
            return self.pairs[row] if row < len(self.pairs) else None
        if column < 1 or row >= len(m.proxies) or column - 1 >= len(m.columns):
            return None
        p, col = m.proxies[row], m.columns[column - 1]
        return p, col, m.cell(p, col)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if not self.grid:
            self._describe(self._cell_at(event.cursor_row, 0))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if not self.grid:
            self._open(self._cell_at(event.cursor_row, 0))

    @on(DataTable.CellHighlighted)
    def _highlighted(self, event: DataTable.CellHighlighted) -> None:
        if self.grid:
            self._describe(self._cell_at(event.coordinate.row, event.coordinate.column))

    def _describe(self, hit: tuple[str, tuple[str, str], estate.Cell] | None) -> None:
        if hit is None:
            return
        p, (kind, name), cell = hit
        t = Text(f"{clean(p)} × {kind} {clean(name)}: ", style="bold")
        what = "not assigned to this proxy" if cell.state == "none" else cell.label
        if cell.rules:
            what += ": " + ", ".join(cell.rules)
        t.append(f"{what} ({len(cell.rows)} findings)")
        self.query_one("#matrix-cell", Static).update(t, layout=False)

    @on(DataTable.CellSelected)
    def _selected(self, event: DataTable.CellSelected) -> None:
        if self.grid:
            self._open(self._cell_at(event.coordinate.row, event.coordinate.column))

    def _open(self, hit: tuple[str, tuple[str, str], estate.Cell] | None) -> None:
        if hit is None:
            return
        p, (kind, name), cell = hit
        if not cell.rows:
            self.app.say(f"No findings behind {p} × {name}.")
            return
        self.post_message(ShowFindings(scope=scopes.cell(p, (kind, name))))

    def action_open(self) -> None:
        self.query_one("#matrix-table", DataTable).action_select_cursor()
