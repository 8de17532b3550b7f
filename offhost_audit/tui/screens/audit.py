"""The live audit: one row per target with its collector runs, updated from the collection threads."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, ProgressBar, Static

from offhost_audit.text import clean
from offhost_audit.tui.messages import AuditFinished, AuditProgress, AuditStarted


class AuditScreen(Screen):
    AUTO_FOCUS = "#targets"
    BINDINGS = [
        Binding("R", "rerun_all", "Re-run all", id="audit.rerun_all", tooltip="Collect and evaluate the whole estate again"),
        Binding("t", "rerun_target", "Re-run target", id="audit.rerun_target", tooltip="Collect the highlighted target again"),
        Binding("escape", "back", "Back", id="audit.back"),
    ]

    def __init__(self) -> None:
        super().__init__(id="audit")
        self.plan: dict[str, int] = {}
        self.state: dict[str, dict] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="audit-title", classes="title-bar")
        yield ProgressBar(id="audit-bar", show_eta=False)
        yield Static(id="audit-status", classes="status-line")
        yield DataTable(id="targets", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#targets", DataTable).add_columns("target", "done", "last collector", "status", "errors")
        self.query_one("#audit-title", Static).update(self.app.title_text("Live audit"))
        self._status()

    def _status(self, text: Text | None = None) -> None:
        s = self.app.session
        if text is None:
            text = Text("No live audit yet. " + ("R runs one." if s.inventory is not None else
                        "Open the TUI with --inventory FILE (or demo --tui) to audit live."), style="dim")
        self.query_one("#audit-status", Static).update(text)

    def started(self, msg: AuditStarted) -> None:
        table = self.query_one("#targets", DataTable)
        if msg.only is None:
            self.plan, self.state = dict(msg.plan), {}
            table.clear()
            for target, total in self.plan.items():
                self.state[target] = {"done": 0, "errors": 0}
                table.add_row(Text(clean(target, keep_newlines=False), style="bold"), Text(f"0/{total}"), Text(""),
                              Text("waiting", style="dim"), Text("0"), key=target)
        else:
            self.plan.update(msg.plan)
            for target, total in msg.plan.items():
                self.state[target] = {"done": 0, "errors": 0}
                if target in table.rows:
                    self._row(target, f"0/{total}", "", Text("waiting", style="dim"), 0)
        self.query_one("#audit-bar", ProgressBar).update(total=sum(self.plan.values()) or None, progress=self._done())
        self._status(Text(f"collecting {'target ' + msg.only if msg.only else 'the estate'}…", style="bold"))

    def _done(self) -> int:
        return sum(v["done"] for v in self.state.values())

    def _row(self, target: str, done: str, collector: str, status: Text, errors: int) -> None:
        table = self.query_one("#targets", DataTable)
        if target not in table.rows:
            table.add_row(Text(clean(target, keep_newlines=False), style="bold"), Text(done), Text(""), status,
                          Text(str(errors)), key=target)
            return
        for col, value in zip(table.columns, (None, Text(done), Text(clean(collector, keep_newlines=False)), status,
                                             Text(str(errors), style="red" if errors else ""))):
            if value is not None:
                table.update_cell(target, col, value)

    def progress(self, msg: AuditProgress) -> None:
        self.state.setdefault(msg.target, {})
        self.state[msg.target].update(done=msg.done, errors=msg.errors)
        total = self.plan.get(msg.target, msg.done)
        style = {"ok": "green", "error": "bold red", "skipped": "yellow"}.get(msg.status, "")
        self._row(msg.target, f"{msg.done}/{total}", msg.collector, Text(msg.status, style=style), msg.errors)
        self.query_one("#audit-bar", ProgressBar).update(progress=self._done())

    def finished(self, msg: AuditFinished) -> None:
        s = self.app.session
        fails = sum(1 for f in s.findings if f["status"] == "fail")
        unknown = sum(1 for f in s.findings if f["status"] == "unknown")
        t = Text(f"done: {len(s.findings)} findings, {fails} failing, {unknown} unknown", style="bold")
        t.append(f"; saved to history as run {msg.run_id}" if msg.run_id else "; not saved (no history store)", style="dim")
        t.append("  2: findings  1: dashboard", style="dim")
        self._status(t)

    def failed(self, error: str) -> None:
        self._status(Text("audit failed: " + clean(error, keep_newlines=False), style="bold red"))

    @on(DataTable.RowSelected, "#targets")
    def _selected(self) -> None:
        self.action_rerun_target()

    def action_rerun_all(self) -> None:
        self.app.action_audit()

    def action_rerun_target(self) -> None:
        table = self.query_one("#targets", DataTable)
        if not table.row_count:
            self.app.say("No targets yet: R runs the whole audit first.", severity="warning")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self.app.action_audit(only=key)

    def action_back(self) -> None:
        self.app.action_back()
