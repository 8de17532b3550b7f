"""The findings screen: `/` filter, the Line-API list, toggles, sort, and the detail pane."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, Static

from offhost_audit.text import clean
from offhost_audit.tui.messages import FindingHighlighted, FindingSelected, ShowFacts, SortRequested
from offhost_audit.tui.query import COLUMNS, QueryError, hidden_note, sort_label
from offhost_audit.tui.scopes import Scope
from offhost_audit.tui.screens.view import ViewScreen
from offhost_audit.tui.session import describe
from offhost_audit.tui.widgets.finding_detail import FindingDetail
from offhost_audit.tui.widgets.findings_list import FindingsList

DEBOUNCE_S = 0.02  # long enough to coalesce a burst of keys (auto-repeat, paste), short enough to feel immediate


class FindingsScreen(ViewScreen):
    VIEW = "Findings"
    AUTO_FOCUS = "#findings-list"
    ESCAPE_TO_MINIMIZE = False  # Esc goes through action_back: un-zoom and give the list its focus back
    """Every finding; the filter runs in an exclusive worker after a short debounce."""

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", id="findings.filter", tooltip="Filter as you type"),
        Binding("p", "toggle_pass", "Passes", id="findings.passes", tooltip="Hide or show passes and n/a"),
        Binding(
            "w", "toggle_waived", "Waived", show=False, id="findings.waived", tooltip="Hide or show waived findings"
        ),
        Binding("s", "sort", "Sort", id="findings.sort", tooltip="Sort by the next column"),
        Binding("S", "reverse", "Reverse", show=False, id="findings.reverse"),
        Binding("e", "facts", "Facts", show=False, id="findings.facts", tooltip="Jump to the facts that decided it"),
        Binding("o", "doc", "Doc", show=False, id="findings.doc", tooltip="Open the doc link (or copy it)"),
        Binding("W", "waive", "Waive", id="findings.waive", tooltip="Waive the finding"),
        Binding("F", "fix", "Fix", show=False, id="findings.fix", tooltip="The fix for the finding (read-only)"),
        Binding("X", "export", "Export", id="findings.export", tooltip="Export this view as a report"),
        Binding("z", "zoom", "Zoom", show=False, id="findings.zoom", tooltip="Detail pane full screen"),
        Binding("escape", "back", "Back", show=False, id="findings.back"),
    ]

    def __init__(self) -> None:
        super().__init__("findings")
        self.query_text = ""
        self.hide_pass = True
        self.hide_waived = False
        self.scope: Scope | None = None  # a drill-down (proxy, matrix cell, manifest failure); Esc clears it
        self._scope_rows: tuple[int, set[int]] | None = None  # (generation, rows) of the scope for the findings shown
        self._hide_pass_outside = True  # the passes setting to restore when the drill-down is cleared
        self.view_rows: list[int] = []
        self._hidden_asked = ""  # the filter asks for statuses a toggle hides: says so
        self._shown: tuple[int | None, int] | None = None  # (row, generation) in the detail pane

    def compose(self) -> ComposeResult:
        yield Static(id="findings-title", classes="title-bar")
        yield Input(
            placeholder="/ filter: text  sev:high+  status:fail  rule:OHP-010  host:NAME  -status:pass",
            id="filter",
            select_on_focus=False,
        )
        yield Static(id="findings-status", classes="status-line")
        yield FindingsList(id="findings-list")
        yield FindingDetail(id="detail")
        yield Footer(show_command_palette=False)  # ? (help) names Ctrl+P: room for the view keys

    # --- data --------------------------------------------------------------------------------

    def load(self) -> None:
        """The session's findings changed: rebuild the view with the same filter."""
        self.refilter(debounce=False)

    def show(self, query: str = "", scope: Scope | None = None) -> None:
        """Open on a filter, or on a drill-down scope (Esc clears it).

        A scope shows its passes too (a ready cell is its passes); the status line says so, and
        clearing the scope gives back the passes setting from before."""
        if scope is not None and self.scope is None:
            self._hide_pass_outside = self.hide_pass
        elif scope is None and self.scope is not None:
            self.hide_pass = self._hide_pass_outside
        if scope is not None:
            self.hide_pass = False
        self.scope, self._scope_rows = scope, None
        self.query_text = query
        self.query_one("#filter", Input).value = query
        self.mark_current()
        self.refilter(debounce=False)

    @on(Input.Changed, "#filter")
    def _typed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self.refilter()

    @on(Input.Submitted, "#filter")
    def _submitted(self) -> None:
        self.query_one(FindingsList).focus()

    @work(exclusive=True, group="filter", exit_on_error=False)
    async def refilter(self, debounce: bool = True) -> None:
        if debounce:
            await asyncio.sleep(DEBOUNCE_S)
        lst = self.query_one(FindingsList)
        index, generation, session = self.app.index, self.app.generation, self.app.session
        args = dict(
            sort=lst.sort_column, reverse=lst.sort_reverse, hide_pass=self.hide_pass, hide_waived=self.hide_waived
        )
        try:
            rows = await asyncio.to_thread(index.select, self.query_text, **args)
        except QueryError as e:
            self._status(Text(f"filter: {e}", style="bold red"))
            return
        if self.scope is not None:
            if self._scope_rows is None or self._scope_rows[0] != generation:  # new findings: the same scope again
                scoped = await asyncio.to_thread(self.scope.rows, session.facts, index.findings)
                self._scope_rows = (generation, set(scoped))
            keep = self._scope_rows[1]
            rows = [r for r in rows if r in keep]
        self._hidden_asked = hidden_note(self.query_text, hide_pass=self.hide_pass, hide_waived=self.hide_waived)
        self.view_rows = rows
        lst.set_rows(index.findings, rows, keep=lst.current)
        self._status()

    def _status(self, error: Text | None = None) -> None:
        lst = self.query_one(FindingsList)
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f"{len(self.view_rows):,} of {len(self.app.index):,} findings", style="bold")
        if self.scope is not None:
            t.append("  only: ", style="bold magenta")
            t.append(clean(self.scope.label, keep_newlines=False) + " (Esc clears)", style="magenta")
        if self._hidden_asked and error is None:
            t.append(f"  {self._hidden_asked}", style="bold yellow")
        t.append(f"  sort {sort_label(lst.sort_column, lst.sort_reverse)}")
        if self.scope is not None and not self.hide_pass:
            t.append("  passes shown (drill-down)", style="dim")
        else:
            t.append("  passes hidden" if self.hide_pass else "  passes shown", style="dim")
        if self.hide_waived:
            t.append("  waived hidden", style="dim")
        if error is not None:
            t.append("  ")
            t.append_text(error)
        self.query_one("#findings-status", Static).update(t, layout=False)  # one line: no relayout per keystroke

    # --- selection ---------------------------------------------------------------------------

    @on(FindingHighlighted)
    def _highlighted(self, event: FindingHighlighted) -> None:
        key = (event.row, self.app.generation)
        if key == self._shown:  # the filter kept the same finding under the cursor: nothing to redraw
            return
        self._shown = key
        detail = self.query_one(FindingDetail)
        if event.row is None:
            detail.show(None)
            return
        f = self.app.index.findings[event.row]
        detail.show(f, description=describe(f["rule_id"]))

    @on(FindingSelected)
    def _selected(self) -> None:
        self.query_one(FindingDetail).focus()

    @on(SortRequested)
    def _sort_requested(self, event: SortRequested) -> None:
        lst = self.query_one(FindingsList)
        if lst.sort_column == event.column:
            lst.sort_reverse = not lst.sort_reverse
            self.refilter(debounce=False)
        else:
            self.sort_by(event.column)

    def sort_by(self, column: str) -> None:
        lst = self.query_one(FindingsList)
        lst.sort_column, lst.sort_reverse = column, False
        self.refilter(debounce=False)

    @property
    def current(self) -> dict | None:
        row = self.query_one(FindingsList).current
        return None if row is None else self.app.index.findings[row]

    # --- actions -----------------------------------------------------------------------------

    def action_focus_filter(self) -> None:
        if self.maximized is not None:  # never type into a filter the zoomed pane hides
            self.minimize()
        self.query_one("#filter", Input).focus()

    def action_toggle_pass(self) -> None:
        self.hide_pass = not self.hide_pass
        self.refilter(debounce=False)

    def action_toggle_waived(self) -> None:
        self.hide_waived = not self.hide_waived
        self.refilter(debounce=False)

    def action_sort(self) -> None:
        lst = self.query_one(FindingsList)
        lst.sort_column = COLUMNS[(COLUMNS.index(lst.sort_column) + 1) % len(COLUMNS)]
        lst.sort_reverse = False
        self.refilter(debounce=False)

    def action_reverse(self) -> None:
        lst = self.query_one(FindingsList)
        lst.sort_reverse = not lst.sort_reverse
        self.refilter(debounce=False)

    def action_zoom(self) -> None:
        """The detail pane full screen, focused (arrows, j/k, PgUp/PgDn scroll it); again: back to the list."""
        detail = self.query_one(FindingDetail)
        if self.maximized is detail:
            self.minimize()
            self.query_one(FindingsList).focus()
        else:
            self.maximize(detail, container=False)
            detail.focus()

    def action_facts(self) -> None:
        f = self.current
        if f is None:
            self.notify("No finding selected.", severity="warning")
            return
        paths = [e["path"] for e in f.get("evidence") or [] if e.get("path")] + list(f.get("missing") or [])
        self.app.post_message(ShowFacts(paths=paths, label=f"{f['rule_id']} {f['subject']['name']}"))

    def action_doc(self) -> None:
        f = self.current
        if f is None or not f.get("doc_url"):
            self.notify("This finding has no doc link.", severity="warning")
            return
        self.app.open_doc(f["doc_url"])

    def action_waive(self) -> None:
        f = self.current
        if f is None:
            self.notify("No finding selected.", severity="warning")
            return
        self.app.action_waive_finding(f)

    def action_fix(self) -> None:
        f = self.current
        if f is None:
            self.notify("No finding selected.", severity="warning")
            return
        from offhost_audit.tui.screens.fix import FixScreen, fix_text

        self.app.push_screen(FixScreen(fix_text(self.app.session, finding=f)))

    def action_export(self) -> None:
        self.app.action_export_view(list(self.view_rows), self.filtered_by())

    def filtered_by(self) -> str:
        """What narrows this view, in words ("" when it shows every finding)."""
        parts = []
        if self.query_text.strip():
            parts.append(f"filter {self.query_text.strip()}")
        if self.scope is not None:
            parts.append(f"only {self.scope.label}")
        hidden = [w for w, on in (("passes and n/a", self.hide_pass), ("waived", self.hide_waived)) if on]
        if hidden and len(self.view_rows) < len(self.app.index):
            parts.append(f"{' and '.join(hidden)} hidden")
        return "; ".join(parts)

    async def action_back(self) -> None:
        if self.maximized is not None:
            self.minimize()
            self.query_one(FindingsList).focus()
        elif self.focused is self.query_one("#filter", Input) or isinstance(self.focused, FindingDetail):
            self.query_one(FindingsList).focus()
        elif self.scope is not None or self.query_text:
            self.show("")
        else:
            await self.app.action_back()
