"""Jobs: what each backup job does tonight, per source, through which proxies; Enter opens the
findings that block it. The verdicts are ``findings.job_verdicts.judge_jobs`` (the reports' too)."""

from __future__ import annotations

import asyncio
import shlex

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static

from offhost_audit.findings import job_verdicts
from offhost_audit.text import clean
from offhost_audit.tui import scopes
from offhost_audit.tui.messages import ShowFindings
from offhost_audit.tui.screens.findings import DEBOUNCE_S
from offhost_audit.tui.screens.view import ViewScreen
from offhost_audit.tui.widgets.keyed import KeyedDataTable

MAX_ROWS = 2000  # the built-in DataTable: fine for a few thousand rows; the filter finds the rest
STYLE = {
    "fails": "bold red",
    "falls_back": "bold red",
    "unknown": "bold yellow",
    "off_host": "green",
    "on_host": "dim",
    "disabled": "dim",
}
_CANDIDATE_STYLE = {"good": "green", "blocked": "red", "undecided": "yellow"}

Row = tuple[job_verdicts.JobVerdict, job_verdicts.SourceVerdict | None]


def _t(value: object, style: str = "") -> Text:
    return Text(clean(str(value), keep_newlines=False), style=style)


def search_text(job: job_verdicts.JobVerdict, src: job_verdicts.SourceVerdict | None) -> str:
    """What the filter searches in a row: the job, its settings, the source, the verdict, the proxies and rules."""
    parts = [job.name, job.label, job.selection]
    if src is not None:
        parts += [src.source, src.label, src.tonight, src.blockers, *src.rules]
    return clean("\n".join(parts)).casefold()


def matches(query: str, text: str) -> bool:
    """Every word of the query (quotes keep spaces, as in the findings filter) is in the row's text."""
    try:
        words = shlex.split(query)
    except ValueError:  # an unbalanced quote while typing
        words = query.replace('"', " ").replace("'", " ").split()
    return all(w.casefold() in text for w in words)


class JobsScreen(ViewScreen):
    VIEW = "Jobs"
    AUTO_FOCUS = "#jobs-table"
    DEFAULT_CSS = """
    #jobs-filter { height: 1; border: none; padding: 0 1; background: $boost; }
    #jobs-filter:focus { background: $primary 20%; }
    #jobs-table { height: 1fr; min-height: 5; }
    #jobs-detail { height: auto; max-height: 12; padding: 0 1; border-top: solid $primary-background; }
    """
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", id="jobs.filter", tooltip="Filter the jobs as you type"),
        Binding("enter", "open", "Findings", id="jobs.open", tooltip="The findings that block the job's source"),
        Binding("escape", "back", "Back", show=False, id="jobs.back"),
    ]

    def __init__(self) -> None:
        super().__init__("jobs")
        self.model: job_verdicts.JobVerdicts | None = None
        self.rows: list[Row] = []  # every row, in order
        self.shown: list[Row] = []  # the rows the filter lets through (at most MAX_ROWS)
        self._search: list[str] = []
        self.query_text = ""

    def compose(self) -> ComposeResult:
        yield Static(id="jobs-title", classes="title-bar")
        yield Input(placeholder="/ filter: job, source, proxy, verdict, rule (words are ANDed)", id="jobs-filter")
        yield Static(id="jobs-status", classes="status-line")
        yield KeyedDataTable(id="jobs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="jobs-detail")
        yield Footer(show_command_palette=False)

    def load(self) -> None:
        if self.app.session.pending is not None:
            self._status(Text("Opening the facts: the jobs follow.", style="dim"))
            return
        self._status(Text("computing…", style="dim"))
        self._compute(self.app.session.facts, self.app.session.findings)

    @work(thread=True, exclusive=True, group="jobs", exit_on_error=False, description="job verdicts")
    def _compute(self, facts: dict, findings: list) -> None:
        model = job_verdicts.judge_jobs(facts, findings)
        rows: list[Row] = [(j, s) for j in model.jobs for s in (j.sources or [None])]  # type: ignore[list-item]
        search = [search_text(j, s) for j, s in rows]
        self.app.call_from_thread(self._show, model, rows, search)

    def _show(self, model: job_verdicts.JobVerdicts, rows: list[Row], search: list[str]) -> None:
        self.model, self.rows, self._search = model, rows, search
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#jobs-table", DataTable)
        table.clear(columns=True)
        for label in ("job", "source", "tonight", "candidate proxies: what stops them"):
            table.add_column(Text(label, style="bold"))
        m = self.model
        if m is None:
            return
        if not m.read:
            table.add_row(_t(job_verdicts.NO_JOBS, "dim"), Text(""), Text(""), Text(""))
            self.shown = []
            self._status(_t(m.tally_text(), "bold yellow"))
            self.query_one("#jobs-detail", Static).update("")
            return
        hits = [r for r, text in zip(self.rows, self._search, strict=True) if matches(self.query_text, text)]
        self.shown = hits[:MAX_ROWS]
        for job, src in self.shown:
            if src is None:
                table.add_row(_t(job.name, "bold"), _t("—", "dim"), _t(job.label, STYLE[job.state]), _t(""))
                continue
            table.add_row(
                _t(job.name, "bold"),
                _t(src.source),
                _t(src.label + (" (waived)" if src.waived else ""), STYLE[src.state]),
                _t(src.blockers if src.state != "off_host" else src.tonight, "" if src.state != "off_host" else "dim"),
            )
        status = Text(m.tally_text(), style="bold red" if m.at_risk else "bold")
        if self.query_text:
            status.append(f"  filter: {len(hits):,} of {len(self.rows):,} rows", style="dim")
        if len(hits) > MAX_ROWS:
            status.append(f" (the first {MAX_ROWS:,} shown)", style="dim")
        if not hits:
            table.add_row(_t("no job matches the filter", "dim"), Text(""), Text(""), Text(""))
        self._status(status)
        self._describe(0)

    def _status(self, t: Text) -> None:
        self.query_one("#jobs-status", Static).update(t, layout=False)

    def _describe(self, row: int) -> None:
        """The job's settings and, for a source, what happens tonight and each candidate with what stops it."""
        detail = self.query_one("#jobs-detail", Static)
        if row >= len(self.shown):
            detail.update("")
            return
        job, src = self.shown[row]
        t = Text()
        t.append_text(_t(f"job {job.name}", "bold"))
        t.append_text(_t(f"  {job.label}; proxies: {job.selection}; {job.failover_text}", "dim"))
        if src is None:
            why = {"disabled": "the job is disabled", "on_host": "the job processes on-host by design"}
            t.append("\n")
            t.append_text(_t("no source judged: " + why.get(job.state, "the job lists no source"), "dim"))
        else:
            t.append("\n")
            t.append_text(_t(f"{src.source}: ", "bold"))
            t.append_text(_t(src.tonight, STYLE[src.state]))
            shown, more = src.stopped()
            shown = shown or src.candidates[: job_verdicts.SHOWN]  # none stopped: the good ones
            for c in shown:
                t.append("\n  ")
                t.append_text(_t(c.name, _CANDIDATE_STYLE[c.state]))
                t.append_text(_t(c.text[len(c.name) :]))
            if more:
                t.append("\n  ")
                t.append_text(_t(f"and {more:,} more candidates (the OHP-040 finding lists them all)", "dim"))
            for cause in src.causes:
                t.append("\n  ")
                t.append_text(_t(cause.text, "red"))
            if src.rows:
                t.append("\n")
                t.append_text(_t(f"Enter: the {len(src.rows)} finding(s) behind it", "dim"))
        detail.update(t)

    @on(DataTable.RowHighlighted, "#jobs-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe(event.cursor_row)

    @on(DataTable.RowSelected, "#jobs-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.cursor_row >= len(self.shown):
            return
        job, src = self.shown[event.cursor_row]
        rows = src.rows if src is not None else job.own_rows
        if not rows:
            self.app.say(f"No findings behind job {job.name}" + (f", {src.source}." if src else "."))
            return
        self.post_message(
            ShowFindings(scope=scopes.job(job.name, src.kind if src else None, src.name if src else None))
        )

    @on(Input.Changed, "#jobs-filter")
    def _typed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self._refilter()

    @work(exclusive=True, group="jobs-filter", exit_on_error=False)
    async def _refilter(self) -> None:
        await asyncio.sleep(DEBOUNCE_S)  # a burst of keys (auto-repeat, paste) refills the table once
        self._fill()

    @on(Input.Submitted, "#jobs-filter")
    def _submitted(self) -> None:
        self.query_one("#jobs-table", DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#jobs-filter", Input).focus()

    def action_open(self) -> None:
        self.query_one("#jobs-table", DataTable).action_select_cursor()

    async def action_back(self) -> None:
        if self.focused is self.query_one("#jobs-filter", Input):
            self.query_one("#jobs-table", DataTable).focus()
            return
        await super().action_back()
