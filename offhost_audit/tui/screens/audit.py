"""The live audit: one row per target with its collector runs, updated from the collection threads."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, ProgressBar, Static

from offhost_audit.text import clean
from offhost_audit.tui.messages import AuditFinished, AuditProgress, AuditStarted
from offhost_audit.tui.screens.view import ViewScreen
from offhost_audit.tui.widgets.findings_list import fit
from offhost_audit.tui.widgets.keyed import KeyedDataTable

TARGET_W, COLLECTOR_W = 16, 20  # longer names end in "…" (winrm.backup_server fits)


class AuditScreen(ViewScreen):
    VIEW = "Live audit"
    AUTO_FOCUS = "#targets"
    BINDINGS = [
        Binding(
            "R", "rerun_all", "Re-run all", id="audit.rerun_all", tooltip="Collect and evaluate the whole estate again"
        ),
        Binding(
            "t",
            "rerun_target",
            "Re-run target",
            id="audit.rerun_target",
            tooltip="Collect the highlighted target again",
        ),
        Binding("escape", "back", "Back", id="audit.back"),
    ]

    def __init__(self) -> None:
        super().__init__("audit")
        self.plan: dict[str, int] = {}
        self.state: dict[str, dict] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="audit-title", classes="title-bar")
        yield ProgressBar(id="audit-bar", show_eta=False)
        yield Static(id="audit-status", classes="status-line")
        yield KeyedDataTable(id="targets", cursor_type="row", zebra_stripes=True)
        yield Footer(show_command_palette=False)  # ? (help) names Ctrl+P: room for the view keys

    def on_mount(self) -> None:
        table = self.query_one("#targets", DataTable)
        for label, width in (
            ("target", TARGET_W),
            ("done", 6),
            ("last collector", COLLECTOR_W),
            ("status", 10),
            ("failed", 6),
            ("first error", None),
        ):
            table.add_column(label, width=width, key=label)
        self.reload()
        self._status()

    def _status(self, text: Text | None = None) -> None:
        s = self.app.session
        if text is None:
            text = Text(
                "No live audit yet. "
                + (
                    "R runs one."
                    if s.inventory is not None
                    else "Open the TUI with --inventory FILE (or demo --tui) to audit live."
                ),
                style="dim",
            )
        self.query_one("#audit-status", Static).update(text)

    def started(self, msg: AuditStarted) -> None:
        table = self.query_one("#targets", DataTable)
        if msg.only is None:
            self.plan, self.state = dict(msg.plan), {}
            table.clear()
            for target, total in self.plan.items():
                self.state[target] = {"done": 0, "errors": 0}
                table.add_row(
                    Text(fit(clean(target, keep_newlines=False), TARGET_W).rstrip(), style="bold"),
                    Text(f"0/{total}"),
                    Text(""),
                    Text("waiting", style="dim"),
                    Text("0"),
                    Text(""),
                    key=target,
                )
        else:
            self.plan.update(msg.plan)
            for target, total in msg.plan.items():
                self.state[target] = {"done": 0, "errors": 0}
                if target in table.rows:
                    self._row(target, f"0/{total}", "", Text("waiting", style="dim"), 0, error="")
        self.query_one("#audit-bar", ProgressBar).update(total=sum(self.plan.values()) or None, progress=self._done())
        self._status(Text(f"collecting {'target ' + msg.only if msg.only else 'the estate'}…", style="bold"))

    def _done(self) -> int:
        return sum(v["done"] for v in self.state.values())

    def _row(self, target: str, done: str, collector: str, status: Text, errors: int, error: str | None = None) -> None:
        table = self.query_one("#targets", DataTable)
        values = [
            Text(fit(clean(target, keep_newlines=False), TARGET_W).rstrip(), style="bold"),
            Text(done),
            Text(fit(clean(collector, keep_newlines=False), COLLECTOR_W).rstrip()),
            status,
            Text(str(errors), style="red" if errors else ""),
            Text(clean(error or "", keep_newlines=False)),
        ]
        if target not in table.rows:
            table.add_row(*values, key=target)
            return
        for key, value in zip(("done", "last collector", "status", "failed", "first error"), values[1:]):
            if key != "first error" or error is not None:
                table.update_cell(target, key, value)

    def progress(self, msg: AuditProgress) -> None:
        self.state.setdefault(msg.target, {})
        self.state[msg.target].update(done=msg.done, errors=msg.errors)
        total = self.plan.get(msg.target, msg.done)
        state = "running" if msg.done < total else ("ok" if not msg.errors else "failures")
        style = {"ok": "green", "failures": "bold red", "running": "yellow"}[state]
        self._row(msg.target, f"{msg.done}/{total}", msg.collector, Text(state, style=style), msg.errors)
        self.query_one("#audit-bar", ProgressBar).update(progress=self._done())

    def finished(self, msg: AuditFinished) -> None:
        s = self.app.session
        self.reload()
        table = self.query_one("#targets", DataTable)
        for e in s.facts.get("collection") or []:
            if e.get("status") != "ok" and e.get("error") and e["target"] in table.rows:
                if not str(table.get_cell(e["target"], "first error")):
                    error = clean(e["error"], keep_newlines=False)[:160]
                    table.update_cell(e["target"], "first error", Text(error, style="red"), update_width=True)
        fails = sum(1 for f in s.findings if f["status"] == "fail")
        unknown = sum(1 for f in s.findings if f["status"] == "unknown")
        t = Text(f"done: {len(s.findings)} findings, {fails} failing, {unknown} unknown", style="bold")
        t.append(
            f"; saved to history as run {msg.run_id}" if msg.run_id else "; not saved (no history store)", style="dim"
        )
        t.append("  2: findings  1: dashboard", style="dim")
        self._status(t)

    def failed(self, error: str) -> None:
        self._status(Text("audit failed: " + clean(error, keep_newlines=False), style="bold red"))

    @on(DataTable.RowSelected, "#targets")
    async def _selected(self) -> None:
        await self.action_rerun_target()

    async def action_rerun_all(self) -> None:
        await self.app.action_audit()

    async def action_rerun_target(self) -> None:
        table = self.query_one("#targets", DataTable)
        if not table.row_count:
            self.app.say("No targets yet: R runs the whole audit first.", severity="warning")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        await self.app.action_audit(only=key)
