"""The dashboard: counts, per-proxy verdicts with the rules that block them, the manifest's failures."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from offhost_audit.findings import SEVERITIES, STATUSES, counts, job_verdicts, unknowns, verdicts
from offhost_audit.text import clean
from offhost_audit.tui import estate, scopes
from offhost_audit.tui.messages import ShowFindings
from offhost_audit.tui.screens.jobs import STYLE as JOB_STYLE
from offhost_audit.tui.screens.view import ViewScreen
from offhost_audit.tui.widgets.keyed import KeyedDataTable

MAX_ROWS = 100  # the built-in DataTable: fine for a hundred rows, slow for thousands
MAX_RULE_TITLES = 12
_VERDICT_STYLE = {
    "ready": "bold green",
    "ready_with_warnings": "bold cyan",
    "not_ready": "bold red",
    "unknown": "bold yellow",
}
_STATUS_STYLE = {
    "fail": "bold red",
    "unknown": "bold yellow",
    "pass": "green",
    "not_applicable": "dim",
    "waived": "magenta",
}


def _t(value: object, style: str = "", width: int | None = None) -> Text:
    s = clean(value if value is not None else "", keep_newlines=False)
    if width and len(s) > width:
        s = s[: width - 1] + "…"
    return Text(s, style=style)


class DashboardScreen(ViewScreen):
    VIEW = "Dashboard"
    AUTO_FOCUS = "#proxies"
    BINDINGS = [
        Binding("enter", "open", "Open", id="dashboard.open", tooltip="Open the findings behind the row"),
        Binding("F", "fix", "Fix", show=False, id="dashboard.fix", tooltip="The fixes on the proxy (read-only)"),
        Binding("escape", "back", "Back", show=False, id="dashboard.back"),
    ]

    def __init__(self) -> None:
        super().__init__("dashboard")
        self._failures: list[dict] = []
        self._verdicts: list[verdicts.Summary] = []
        self._sources: list[verdicts.Summary] = []
        self._risky: list[tuple[job_verdicts.JobVerdict, job_verdicts.SourceVerdict]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="dashboard-title", classes="title-bar")
        with VerticalScroll(id="dashboard-body"):
            yield Static(id="counts")
            yield Static("Jobs", classes="section", id="jobs-title")
            yield KeyedDataTable(id="jobs-at-risk", cursor_type="row", zebra_stripes=True)
            yield Static("Proxies", classes="section", id="proxies-title")
            yield KeyedDataTable(id="proxies", cursor_type="row", zebra_stripes=True)
            yield Static(id="rule-titles")
            yield Static("Sources", classes="section", id="sources-title")
            yield KeyedDataTable(id="sources", cursor_type="row", zebra_stripes=True)
            yield Static("Collection failures", classes="section", id="failures-title")
            yield KeyedDataTable(id="failures", cursor_type="row")
            yield Static(id="warnings")
        yield Footer(show_command_palette=False)  # ? (help) names Ctrl+P: room for the view keys

    def load(self) -> None:
        s = self.app.session
        if s.pending is not None:  # a facts file still being evaluated (the activity line shows how far)
            self.query_one("#counts", Static).update(
                Text("Opening the facts: counts and verdicts follow.", style="dim")
            )
            return
        findings = s.findings
        c = counts(findings)
        t = Text()
        t.append(f"{len(findings):,} findings  ", style="bold")
        for st in STATUSES:
            if c.get(st):
                t.append(f"{st.replace('_', ' ')} {c[st]:,}  ", style=_STATUS_STYLE.get(st, ""))
        fails = [f for f in findings if f["status"] == "fail"]
        if fails:
            t.append("\nfailures by severity: ", style="bold")
            for sev in SEVERITIES:
                n = sum(1 for f in fails if f["severity"] == sev)
                if n:
                    t.append(f"{sev} {n:,}  ")
        self.query_one("#counts", Static).update(t)

        judged = estate.matrix(s.facts, findings)
        self._jobs(job_verdicts.judge_jobs(s.facts, findings, judged))
        self._verdicts = self._summaries("#proxies", "proxy", judged.by_proxy)
        self.query_one("#proxies-title", Static).update(self._title(judged.by_proxy, "proxies"))
        self.query_one("#rule-titles", Static).update(self._rule_titles(findings, self._verdicts))
        self._sources = self._summaries("#sources", "source", judged.by_source)
        self.query_one("#sources-title", Static).update(self._title(judged.by_source, "sources"))

        failures = unknowns.failures(s.facts)
        self._failures = failures[:MAX_ROWS]
        m = self.query_one("#failures", DataTable)
        m.clear(columns=True)
        m.add_columns("target", "collector", "status", "error")
        for e in self._failures:
            m.add_row(
                _t(e["target"], "bold"),
                _t(e["collector"]),
                _t(e["status"], "yellow"),
                _t(e.get("error") or "", width=200),
            )
        total = len(s.facts.get("collection") or [])
        self.query_one("#failures-title", Static).update(
            f"Collection failures: {len(failures)} of {total} collector runs"
            + (f" (the first {MAX_ROWS} shown)" if len(failures) > MAX_ROWS else "")
            if total
            else "Collection failures: no collection manifest in these facts"
        )
        w = Text()
        for line in s.all_warnings:
            w.append("warning: ", style="bold yellow")
            w.append(clean(line) + "\n")
        self.query_one("#warnings", Static).update(w)

    def _jobs(self, jv: job_verdicts.JobVerdicts) -> None:
        """Jobs at risk: each (job, source) that falls back to on-host, fails or is unknown tonight."""
        risky = jv.risky_sources()
        self._risky = risky[:MAX_ROWS]
        title = jv.tally_text()
        if len(risky) > MAX_ROWS:
            title += f" (the first {MAX_ROWS} sources at risk shown; 7: every job)"
        elif jv.read:
            title += "  (7: every job)"
        self.query_one("#jobs-title", Static).update(_t(title, "bold red" if risky else ""))
        t = self.query_one("#jobs-at-risk", DataTable)
        t.clear(columns=True)
        t.add_columns("job at risk", "source", "tonight", "what blocks it")
        for job, src in self._risky:
            t.add_row(
                _t(job.name, "bold"),
                _t(src.source),
                _t(src.tonight, JOB_STYLE[src.state], width=60),
                _t(src.blockers, width=200),
            )
        if not self._risky:  # a row, not a hidden table (hiding and showing a DataTable loses its height)
            t.add_row(_t("none at risk" if jv.read else "none read", "dim"), Text(""), Text(""), Text(""))

    def _summaries(self, table_id: str, head: str, summaries: list[verdicts.Summary]) -> list[verdicts.Summary]:
        """The first MAX_ROWS summaries (not ready first) as rows: name, verdict, which pairs and rules."""
        shown = summaries[:MAX_ROWS]
        t = self.query_one(table_id, DataTable)
        t.clear(columns=True)  # columns too: their widths follow the new rows
        t.add_columns(head, "verdict", "which " + ("sources" if head == "proxy" else "proxies") + ", which rules")
        for v in shown:
            t.add_row(
                _t(v.name if head == "proxy" else f"{v.kind} {v.name}", "bold"),
                Text(v.verdict.label, style=_VERDICT_STYLE[v.state]),
                _t(v.text, width=200),
            )
        if not shown:
            t.add_row(Text(f"no {head} in these findings", style="dim"), Text(""), Text(""))
        return shown

    @staticmethod
    def _rule_titles(findings: list[dict], shown: list[verdicts.Summary]) -> Text:
        """The rules the proxies' verdicts name, each with its title: ``OHP-010 Off-host proxy is not a node...``."""
        named = sorted({r for v in shown for r in v.verdict.blocking + v.verdict.unknown + v.verdict.warnings})
        titles = {f["rule_id"]: f.get("title", "") for f in findings if f["rule_id"] in named}
        t = Text()
        for r in named[:MAX_RULE_TITLES]:
            t.append(f"  {r} ", style="bold")
            t.append(clean(titles.get(r, ""), keep_newlines=False) + "\n", style="dim")
        if len(named) > MAX_RULE_TITLES:
            t.append(
                f"  … and {len(named) - MAX_RULE_TITLES} more rules (the findings view has them all)\n", style="dim"
            )
        return t

    @staticmethod
    def _title(summaries: list[verdicts.Summary], what: str) -> str:
        return verdicts.tally_text(summaries, what) + (
            f" (the first {MAX_ROWS} shown, not ready first; the matrix has all)" if len(summaries) > MAX_ROWS else ""
        )

    def _open_summary(self, v: verdicts.Summary) -> None:
        self.post_message(ShowFindings(scope=scopes.summary(v.kind, v.name)))

    @on(DataTable.RowSelected, "#proxies")
    def _proxy(self, event: DataTable.RowSelected) -> None:
        if event.cursor_row < len(self._verdicts):
            self._open_summary(self._verdicts[event.cursor_row])

    @on(DataTable.RowSelected, "#jobs-at-risk")
    def _job(self, event: DataTable.RowSelected) -> None:
        if event.cursor_row < len(self._risky):
            job, src = self._risky[event.cursor_row]
            self.post_message(ShowFindings(scope=scopes.job(job.name, src.kind, src.name)))

    @on(DataTable.RowSelected, "#sources")
    def _source(self, event: DataTable.RowSelected) -> None:
        if event.cursor_row < len(self._sources):
            self._open_summary(self._sources[event.cursor_row])

    @on(DataTable.RowSelected, "#failures")
    def _failure(self, event: DataTable.RowSelected) -> None:
        if event.cursor_row < len(self._failures):
            e = self._failures[event.cursor_row]
            self.post_message(ShowFindings(scope=scopes.collection_failure(e["target"], e["collector"])))

    def action_fix(self) -> None:
        table = self.query_one("#proxies", DataTable)
        if self.focused is not table or not table.row_count or table.cursor_row >= len(self._verdicts):
            self.notify("Highlight a proxy in the proxies table.", severity="warning")
            return
        from offhost_audit.tui.screens.fix import FixScreen, fix_text

        host = self._verdicts[table.cursor_row].name
        self.app.push_screen(FixScreen(fix_text(self.app.session, host=host)))

    def action_open(self) -> None:
        focused = self.focused
        if isinstance(focused, DataTable):
            focused.action_select_cursor()
