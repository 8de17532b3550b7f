"""The App: views as modes, global keys, the command palette, workers; built by ``build_app``."""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from offhost_audit import audit
from offhost_audit.errors import AuditError
from offhost_audit.text import clean
from offhost_audit.tui import commands
from offhost_audit.tui.messages import (
    AuditFinished,
    AuditProgress,
    AuditStarted,
    DataChanged,
    SessionOpened,
    ShowFacts,
    ShowFindings,
    WorkProgress,
)
from offhost_audit.tui.query import Index
from offhost_audit.tui.scopes import Scope
from offhost_audit.tui.screens.audit import AuditScreen
from offhost_audit.tui.screens.dashboard import DashboardScreen
from offhost_audit.tui.screens.export import ExportScreen
from offhost_audit.tui.screens.facts import FactsScreen
from offhost_audit.tui.screens.findings import FindingsScreen
from offhost_audit.tui.screens.help import HelpScreen
from offhost_audit.tui.screens.jobs import JobsScreen
from offhost_audit.tui.screens.matrix import MatrixScreen
from offhost_audit.tui.screens.profile import ProfileScreen
from offhost_audit.tui.screens.runs import RunsScreen
from offhost_audit.tui.screens.waive import WaiveScreen
from offhost_audit.tui.session import Session, plan
from offhost_audit.tui.widgets.activity import Activity, Busy

VIEWS = Binding.Group("views", compact=True)  # the footer shows "1234567 views"


def _error_text(e: BaseException) -> str:
    return str(e) if isinstance(e, AuditError) else f"{type(e).__name__}: {e}"


class OffhostAuditApp(App[None]):
    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "offhost-audit"
    COMMANDS = App.COMMANDS | {commands.OffhostCommands}
    MODES = {
        "dashboard": DashboardScreen,
        "findings": FindingsScreen,
        "facts": FactsScreen,
        "matrix": MatrixScreen,
        "audit": AuditScreen,
        "runs": RunsScreen,
        "jobs": JobsScreen,
    }
    DEFAULT_MODE = "dashboard"
    BINDINGS = [
        Binding("1", "goto('dashboard')", "Dashboard", group=VIEWS, id="app.dashboard", tooltip="Counts and verdicts"),
        Binding("2", "goto('findings')", "Findings", group=VIEWS, id="app.findings", tooltip="Every finding"),
        Binding("3", "goto('facts')", "Facts", group=VIEWS, id="app.facts", tooltip="The facts document"),
        Binding("4", "goto('matrix')", "Matrix", group=VIEWS, id="app.matrix", tooltip="Proxy eligibility"),
        Binding("5", "goto('audit')", "Audit", group=VIEWS, id="app.audit", tooltip="Live audit"),
        Binding("6", "goto('runs')", "Runs", group=VIEWS, id="app.runs", tooltip="Run history: open a run, diff two"),
        Binding("7", "goto('jobs')", "Jobs", group=VIEWS, id="app.jobs", tooltip="What each backup job does tonight"),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Keys and filter syntax"),
        Binding("P", "switch_profile", "Profile", show=False, id="app.profile"),
        Binding("R", "audit", "Re-run", show=False, id="app.rerun"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, session: Session, *, start_audit: bool = False) -> None:
        super().__init__()
        self.session = session
        self.index = Index(session.findings)
        self.generation = 0
        self.start_audit = start_audit
        self._back: list[str] = []
        self.busy: Busy | None = None  # long work in progress (the views' activity line shows it)
        self._spinner: Timer | None = None
        self.open_error: BaseException | None = None  # opening the facts failed: the CLI reports it

    async def on_mount(self) -> None:
        if self.session.pending is not None:  # a facts file: validated and evaluated after the first frame
            self.begin_work(f"opening {self.session.facts_path}")
            self.call_after_refresh(self._open)
        else:
            self.call_after_refresh(self._warm, self.index)  # after the first paint: it competes for the GIL
        if self.start_audit:
            await self.action_audit()

    @work(thread=True, exclusive=True, group="evaluate", exit_on_error=False, description="opening the facts")
    def _open(self) -> None:
        self.session.open(self._steps)
        self.post_message(DataChanged())

    @work(thread=True, exclusive=True, group="index", exit_on_error=False, description="indexing findings")
    def _warm(self, index: Index) -> None:
        """Build the search text and sort order after the first paint, so that the first key is fast."""
        index.warm()
        gc.freeze()  # the findings are long-lived: keep full collections from rescanning them on every keystroke

    # --- long work: the activity line -------------------------------------------------------

    def begin_work(self, what: str) -> None:
        """Show at once that work started (on the event loop, before the worker runs)."""
        self.busy = Busy(what)
        if self._spinner is None:
            self._spinner = self.set_interval(0.2, self._spin)
        self._activities(Activity.sync)

    def end_work(self) -> None:
        self.busy = None
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None
        self._activities(Activity.sync)

    def _spin(self) -> None:
        self._activities(Activity.advance)

    def _activities(self, fn: Callable[[Activity], None]) -> None:
        for screen in self.screen_stack:  # the view under a modal (the profile picker) too
            for activity in screen.query(Activity):
                fn(activity)

    def _steps(self, what: str, done: int | None, total: int | None) -> None:
        """A worker's progress (called in the worker thread)."""
        self.post_message(WorkProgress(what, done, total))

    @on(WorkProgress)
    def _work_progress(self, msg: WorkProgress) -> None:
        if self.busy is not None:
            if msg.what != self.busy.what:
                self.busy.what, self.busy.done, self.busy.total = msg.what, None, None
            if msg.total:
                self.busy.done, self.busy.total = msg.done, msg.total
            self._activities(Activity.sync)

    def _refuse_while_busy(self) -> bool:
        if self.busy is not None:
            self.say(f"Still busy ({self.busy.what}): try again when it is done.", severity="warning")
        return self.busy is not None

    # --- helpers used by screens -------------------------------------------------------------

    def say(self, message: str, *, severity: str = "information", timeout: float | None = None) -> None:
        """A notification; the text is cleaned and never read as markup."""
        self.notify(clean(message), severity=severity, markup=False, timeout=timeout)  # type: ignore[arg-type]

    def title_text(self, view: str) -> Text:
        s = self.session
        t = Text(no_wrap=True, overflow="ellipsis")  # a long path ends in "…" at 80 columns
        t.append(" offhost-audit ", style="bold reverse")
        t.append(f" {view} ", style="bold")
        t.append(clean(s.source, keep_newlines=False), style="italic")
        if s.pending is not None:
            t.append("  opening…", style="dim")
            return t
        try:
            t.append(f"  profile {s.current_profile()}", style="dim")
        except AuditError:
            pass
        t.append(f"  {len(s.findings):,} findings", style="dim")
        return t

    def palette_commands(self) -> list:
        return commands.app_commands(self)

    def open_doc(self, url: str) -> None:
        """A browser when there is a graphical one (never a text browser in this terminal); else copy."""
        gui = sys.platform in ("darwin", "win32") or bool(
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        )
        if gui:
            self.open_url(url)
            self.say(f"Opened {url} in the browser.")
        else:
            self.copy_to_clipboard(url)
            self.say(f"No graphical browser here: copied {url} to the clipboard (OSC 52).")

    # --- navigation --------------------------------------------------------------------------

    async def action_goto(self, mode: str) -> None:
        if mode != self.current_mode:
            self._back.append(self.current_mode)
            del self._back[:-50]
            await self.switch_mode(mode)

    async def action_back(self) -> None:
        if self._back:
            await self.switch_mode(self._back.pop())
        elif self.current_mode != "dashboard":
            await self.switch_mode("dashboard")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def show_findings(self, query: str = "", scope: Scope | None = None) -> None:
        await self.action_goto("findings")
        self.screen.show(query, scope)  # type: ignore[attr-defined]

    async def findings_action(self, name: str) -> None:
        await self.action_goto("findings")
        await self.run_action(name, self.screen)

    async def sort_findings(self, column: str) -> None:
        await self.action_goto("findings")
        self.screen.sort_by(column)  # type: ignore[attr-defined]

    @on(ShowFindings)
    async def _show_findings(self, msg: ShowFindings) -> None:
        await self.show_findings(msg.query, msg.scope)

    @on(ShowFacts)
    async def _show_facts(self, msg: ShowFacts) -> None:
        await self.action_goto("facts")
        self.screen.show_paths(msg.paths, msg.label)  # type: ignore[attr-defined]

    # --- data changes ------------------------------------------------------------------------

    @on(DataChanged)
    def _data_changed(self, msg: DataChanged) -> None:
        self.end_work()
        self.index = Index(self.session.findings)
        self._warm(self.index)
        self.generation += 1
        reload = getattr(self.screen, "reload", None)
        if callable(reload):
            reload()
        if msg.reason:
            self.say(msg.reason)

    def action_switch_profile(self) -> None:
        if self._refuse_while_busy():
            return
        try:
            profiles, current = self.session.profiles(), self.session.current_profile()
        except AuditError as e:
            self.say(_error_text(e), severity="error")
            return
        self.push_screen(ProfileScreen(profiles, current), lambda p: self.set_profile(p) if p else None)

    def set_profile(self, profile: str) -> None:
        if self._refuse_while_busy():
            return
        self.begin_work(f"re-evaluating with profile {profile}")
        work = partial(self._in_thread, self.session.reevaluate, profile, self._steps)
        self.call_after_refresh(work, done=f"Re-evaluated with profile {profile}.")  # the activity line first

    def open_run(self, run_id: int) -> None:
        """Open a stored run in place of the current findings (the run history's Enter)."""
        if self._refuse_while_busy():
            return
        self.begin_work(f"opening run {run_id}")
        self.call_after_refresh(self._open_run, run_id)

    @work(thread=True, exclusive=True, group="evaluate", exit_on_error=False, description="opening a run")
    def _open_run(self, run_id: int) -> None:
        s = self.session
        keep = dict(inventory=s.inventory, resolver=s.resolver, collect_options=s.collect_options, engine=s.engine)
        new = Session.from_history(str(run_id), db=s.history_db, waivers_path=s.waivers_path, **keep)
        self.post_message(SessionOpened(new, f"Opened run {run_id}."))

    @on(SessionOpened)
    async def _session_opened(self, msg: SessionOpened) -> None:
        self.session = msg.session
        self.post_message(DataChanged(reason=msg.reason))
        await self.action_goto("dashboard")

    def action_waive_finding(self, finding: dict) -> None:
        if self._refuse_while_busy():
            return
        if finding["status"] not in ("fail", "unknown"):
            self.say(f"Only failures and unknowns can be waived (this one is {finding['status']}).", severity="warning")
            return

        def submit(form: Any) -> None:
            if form is None:
                return
            call = partial(
                self.session.waive, finding, reason=form.reason, approver=form.approver, expires=form.expires
            )
            rule, subject = finding["rule_id"], finding["subject"]["name"]
            self.begin_work(f"waiving {rule} for {subject}")
            self.call_after_refresh(
                self._in_thread, call, done=lambda p: f"Waived {rule} for {subject}: the waiver is in {p}"
            )

        self.push_screen(WaiveScreen(finding["rule_id"], finding["subject"]["name"]), submit)

    def action_export_view(self, rows: list[int], filtered: str = "") -> None:
        """Export these rows; ``filtered`` names what narrowed the view ("" when it is every finding)."""

        def submit(form: Any) -> None:
            if form is not None:
                self._export(rows, form.directory, form.formats, filtered)

        self.push_screen(ExportScreen(len(rows), len(self.session.findings), filtered), submit)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False, description="exporting")
    def _export(self, rows: list[int], directory: str, formats: tuple[str, ...], filtered: str) -> None:
        total = len(self.session.findings)
        note = f"a filtered view of {total:,} findings ({filtered}): {len(rows):,} exported" if filtered else ""
        files = self.session.export(rows, directory, formats, note=note)
        what = (
            f"{len(rows):,} of {total:,} findings (filtered: {filtered})" if filtered else f"all {len(rows):,} findings"
        )
        self.call_from_thread(self.say, f"Exported {what}: {', '.join(files)}", timeout=10)

    @work(thread=True, exclusive=True, group="evaluate", exit_on_error=False, description="evaluating")
    def _in_thread(self, fn: Any, *args: Any, done: str | Callable[[Any], str] = "") -> None:
        result = fn(*args)
        self.post_message(DataChanged(reason=done(result) if callable(done) else done))

    # --- live audit --------------------------------------------------------------------------

    async def action_audit(self, only: str | None = None) -> None:
        if self.session.inventory is None:
            self.say(
                "No inventory: open the TUI with --inventory FILE (or `offhost-audit demo --tui`) to audit live.",
                severity="warning",
            )
            return
        await self.action_goto("audit")
        self._audit(only)

    @work(thread=True, exclusive=True, group="audit", exit_on_error=False, description="live audit")
    def _audit(self, only: str | None) -> None:
        self.post_message(AuditStarted(plan=plan(self.session, only), only=only))
        lock = threading.Lock()
        tally: dict[str, tuple[int, int]] = {}

        def tick(target: str, collector: str, status: str) -> None:
            with lock:
                done, errors = tally.get(target, (0, 0))
                tally[target] = (done + 1, errors + (status != "ok"))
                done, errors = tally[target]
            self.post_message(AuditProgress(target, collector, status, done, errors))

        self.session.run_audit(tick, only=only)
        self.post_message(AuditFinished(only=only, run_id=self.session.run_id))

    def _audit_screen(self) -> AuditScreen | None:
        try:
            screen = self.get_screen("audit") if self.current_mode != "audit" else self.screen
        except Exception:  # noqa: BLE001 - not created yet
            return None
        return screen if isinstance(screen, AuditScreen) and screen.is_mounted else None

    @on(AuditStarted)
    def _audit_started(self, msg: AuditStarted) -> None:
        if (s := self._audit_screen()) is not None:
            s.started(msg)

    @on(AuditProgress)
    def _audit_progress(self, msg: AuditProgress) -> None:
        if (s := self._audit_screen()) is not None:
            s.progress(msg)

    @on(AuditFinished)
    def _audit_finished(self, msg: AuditFinished) -> None:
        self.post_message(DataChanged(reason="Live audit finished: findings updated."))
        if (s := self._audit_screen()) is not None:
            s.call_after_refresh(s.finished, msg)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """The one place that turns a failed worker into a notification (never a traceback)."""
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "evaluate":
            self.end_work()
        if event.worker.description == "opening the facts":  # nothing to show: the CLI prints the error
            self.open_error = event.worker.error
            self.exit(return_code=2)
            return
        text = _error_text(event.worker.error) if event.worker.error else "failed"
        self.say(f"{event.worker.description or event.worker.group}: {text}", severity="error", timeout=10)
        if event.worker.group == "audit" and (s := self._audit_screen()) is not None:
            s.failed(text)


def build_app(session: Session, *, start_audit: bool = False) -> OffhostAuditApp:
    """The factory the CLI, the tests and the benchmark use."""
    audit.prepare_parallel()  # before Textual takes stderr: the process pool needs a real one
    return OffhostAuditApp(session, start_audit=start_audit)
