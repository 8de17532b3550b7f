"""The run history: every stored run; Enter opens one, space marks two, d shows what changed between them.

Reads the history through its public functions only (``History.runs``/``load``, ``diff.diff_runs``),
in worker threads (a ``History`` belongs to the thread that opened it), and never creates a database
that is not there.
"""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from offhost_audit.text import clean
from offhost_audit.tui.screens.view import ViewScreen
from offhost_audit.tui.widgets.keyed import KeyedDataTable

MAX_RUNS = 500  # the built-in DataTable: fine for hundreds of rows


def history_path(db: str | None) -> str:
    from offhost_audit.store import history

    return str(db) if db else str(history.default_db_path())


class RunsScreen(ViewScreen):
    VIEW = "Run history"
    AUTO_FOCUS = "#runs"
    BINDINGS = [
        Binding("enter", "open_run", "Open", id="runs.open", tooltip="Open the highlighted run"),
        Binding("space", "mark", "Mark", id="runs.mark", tooltip="Mark a run to diff (two at most)"),
        Binding(
            "d",
            "diff",
            "Diff",
            id="runs.diff",
            tooltip="What changed: the two marked runs, else this one and the one before",
        ),
        Binding("r", "refresh", "Refresh", show=False, id="runs.refresh"),
        Binding("escape", "back", "Back", show=False, id="runs.back"),
    ]

    def __init__(self) -> None:
        super().__init__("runs")
        self.runs: list[Any] = []  # history.RunSummary, newest first
        self.marked: list[int] = []  # run ids, in the order marked

    def compose(self) -> ComposeResult:
        yield Static(id="runs-title", classes="title-bar")
        yield Static(id="runs-status", classes="status-line")
        yield KeyedDataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Footer(show_command_palette=False)  # ? (help) names Ctrl+P: room for the view keys

    def load(self) -> None:
        self._status(Text("reading the history…", style="dim"))
        self._read(self.app.session.history_db)

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False, description="reading the run history")
    def _read(self, db: str | None) -> None:
        from offhost_audit.store import history

        path = history_path(db)
        if not os.path.exists(path):  # reading never creates a history
            self.app.call_from_thread(self._show, path, [])
            return
        with history.History(path) as store:
            runs = store.runs(limit=MAX_RUNS)
        self.app.call_from_thread(self._show, path, runs)

    def _show(self, path: str, runs: list[Any]) -> None:
        self.runs = runs
        ids = {r.id for r in runs}
        self.marked = [i for i in self.marked if i in ids]
        table = self.query_one("#runs", DataTable)
        table.clear(columns=True)
        for label in ("", "run", "started (UTC)", "fail", "unknown", "waived", "pass", "total", "profile", "source"):
            table.add_column(label, key=label or "mark")
        current = self.app.session.run_id
        for r in runs:
            st = r.counts.get("status", {})
            src = r.meta.get("inventory") or r.meta.get("facts_file") or "-"
            table.add_row(
                self._mark(r.id),
                Text(str(r.id), style="bold" + (" reverse" if str(r.id) == current else "")),
                Text(clean(r.started_at, keep_newlines=False)),
                Text(f"{st.get('fail', 0):,}", style="red" if st.get("fail") else ""),
                Text(f"{st.get('unknown', 0):,}", style="yellow" if st.get("unknown") else ""),
                Text(f"{st.get('waived', 0):,}"),
                Text(f"{st.get('pass', 0):,}"),
                Text(f"{r.counts.get('total', 0):,}"),
                Text(clean(r.meta.get("profile") or "-", keep_newlines=False)),
                Text(clean(os.path.basename(str(src)), keep_newlines=False)),
                key=str(r.id),
            )
        if not runs:
            self._status(Text(f"No runs in {clean(path, keep_newlines=False)} yet.", style="dim"))
        else:
            self._status()

    def _mark(self, run_id: int) -> Text:
        return Text("●", style="bold magenta") if run_id in self.marked else Text(" ")

    def _status(self, text: Text | None = None) -> None:
        if text is None:
            text = Text(f"{len(self.runs):,} run{'s' if len(self.runs) != 1 else ''}", style="bold")
            if self.marked:
                text.append(f"  marked: {', '.join(str(i) for i in sorted(self.marked))}", style="magenta")
            text.append("  Enter opens  space marks  d diffs", style="dim")
        self.query_one("#runs-status", Static).update(text, layout=False)

    def _highlighted(self) -> Any | None:
        table = self.query_one("#runs", DataTable)
        row = table.cursor_row
        return self.runs[row] if self.runs and 0 <= row < len(self.runs) else None

    @on(DataTable.RowSelected, "#runs")
    def _selected(self) -> None:
        self.action_open_run()

    def action_open_run(self) -> None:
        r = self._highlighted()
        if r is not None:
            self.app.open_run(r.id)

    def action_mark(self) -> None:
        r = self._highlighted()
        if r is None:
            return
        if r.id in self.marked:
            self.marked.remove(r.id)
        else:
            self.marked = (self.marked + [r.id])[-2:]
        table = self.query_one("#runs", DataTable)
        for run in self.runs:
            table.update_cell(str(run.id), "mark", self._mark(run.id))
        self._status()

    def action_diff(self) -> None:
        if len(self.marked) == 2:
            old, new = sorted(self.marked)
        else:
            r = self._highlighted()
            older = [x.id for x in self.runs if r is not None and x.id < r.id]
            if r is None or not older:
                self.app.say(
                    "Mark two runs with space (or highlight a run that has an earlier one) to diff.", severity="warning"
                )
                return
            old, new = max(older), r.id
        self._diff(self.app.session.history_db, old, new)

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False, description="diffing two runs")
    def _diff(self, db: str | None, old_id: int, new_id: int) -> None:
        from offhost_audit.store import history
        from offhost_audit.store.diff import diff_runs

        with history.History(history_path(db)) as store:
            old, new = store.load(old_id, facts=False), store.load(new_id, facts=False)
        d = diff_runs(old, new)
        from offhost_audit.tui.screens.diff import DiffScreen

        self.app.call_from_thread(
            self.app.push_screen, DiffScreen(d, (old.id, old.started_at), (new.id, new.started_at))
        )
