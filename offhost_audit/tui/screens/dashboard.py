"""The dashboard: counts, per-proxy verdicts with the rules that block them, the manifest's failures."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from offhost_audit.findings import SEVERITIES, STATUSES, counts, proxy_verdicts
from offhost_audit.text import clean
from offhost_audit.tui import estate, scopes
from offhost_audit.tui.messages import ShowFindings
from offhost_audit.tui.screens.view import ViewScreen
from offhost_audit.tui.widgets.keyed import KeyedDataTable

MAX_ROWS = 100  # the built-in DataTable: fine for a hundred rows, slow for thousands
_VERDICT = {
    "ready": ("ready", "bold green"),
    "not_ready": ("not ready", "bold red"),
    "unknown": ("unknown", "bold yellow"),
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
        Binding("escape", "back", "Back", show=False, id="dashboard.back"),
    ]

    def __init__(self) -> None:
        super().__init__("dashboard")
        self._failures: list[dict] = []
        self._verdicts: list[dict] = []

    def compose(self) -> ComposeResult:
        yield Static(id="dashboard-title", classes="title-bar")
        with VerticalScroll(id="dashboard-body"):
            yield Static(id="counts")
            yield Static("Proxies", classes="section", id="proxies-title")
            yield KeyedDataTable(id="proxies", cursor_type="row", zebra_stripes=True)
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

        rank = {"not_ready": 0, "unknown": 1, "ready": 2}
        verdicts = sorted(proxy_verdicts(findings), key=lambda v: rank[v["verdict"]])  # stable: names within
        self._verdicts = verdicts[:MAX_ROWS]
        p = self.query_one("#proxies", DataTable)
        p.clear(columns=True)  # columns too: their widths follow the new rows
        p.add_columns("proxy", "verdict", "blocked by", "undecided")
        for v in self._verdicts:
            label, style = _VERDICT[v["verdict"]]
            p.add_row(
                _t(v["proxy"], "bold"),
                Text(label, style=style),
                _t(", ".join(v["blocking"]) or "-"),
                _t(", ".join(v["unknown"]) or "-"),
            )
        if not self._verdicts:
            p.add_row(Text("no proxies in these findings", style="dim"), Text(""), Text(""), Text(""))
        by = {k: sum(1 for v in verdicts if v["verdict"] == k) for k in rank}
        self.query_one("#proxies-title", Static).update(
            f"Proxies: {by['not_ready']} not ready, {by['unknown']} unknown, {by['ready']} ready"
            + (
                f" (the first {MAX_ROWS} shown, not ready first; the matrix has all)"
                if len(verdicts) > MAX_ROWS
                else ""
            )
        )

        failures = estate.manifest_failures(s.facts)
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
        for line in s.warnings:
            w.append("warning: ", style="bold yellow")
            w.append(clean(line) + "\n")
        self.query_one("#warnings", Static).update(w)

    @on(DataTable.RowSelected, "#proxies")
    def _proxy(self, event: DataTable.RowSelected) -> None:
        if event.cursor_row < len(self._verdicts):
            self.post_message(ShowFindings(scope=scopes.proxy(self._verdicts[event.cursor_row]["proxy"])))

    @on(DataTable.RowSelected, "#failures")
    def _failure(self, event: DataTable.RowSelected) -> None:
        if event.cursor_row < len(self._failures):
            e = self._failures[event.cursor_row]
            self.post_message(ShowFindings(scope=scopes.collection_failure(e["target"], e["collector"])))

    def action_open(self) -> None:
        focused = self.focused
        if isinstance(focused, DataTable):
            focused.action_select_cursor()
