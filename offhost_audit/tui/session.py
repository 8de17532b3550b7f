"""What the TUI has open: facts, findings, profile, where they came from, and the actions on them.

Every action goes through the audit service: ``audit.run`` (the one pipeline: collect or take
the facts, evaluate, apply the waivers, record) for opening, re-evaluating and live audits,
``audit.previous_runs`` for an export's change since the previous run, ``waivers.append`` to add
a waiver, ``reports.render.render`` to export. Neither the collectors nor the engine are imported
here (tests/test_layers.py). No Textual here: workers call these methods from threads.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from offhost_audit import assemble, audit, facts as facts_doc
from offhost_audit.errors import EXIT_NOT_STORED, InputError
from offhost_audit.findings import Finding, sorted_findings
from offhost_audit.names import norm_name
from offhost_audit.reports.render import render
from offhost_audit.store import history, waivers as waivers_mod
from offhost_audit.store.history_errors import HistoryError

Progress = Callable[[str, str, str], None]
Steps = Callable[[str, int | None, int | None], None]  # (what is being done, done, total): None, None = no count yet


@dataclass
class Session:
    facts: dict[str, Any]
    findings: list[Finding]
    warnings: list[str] = field(default_factory=list)
    waiver_warnings: list[str] = field(default_factory=list)  # waivers not applied as too broad
    profile: str | None = None  # as asked; None: the facts' vbr.profile, else the policies' default
    source: str = ""  # shown in the header: "facts FILE", "run ID", "live audit of FILE"
    facts_path: str | None = None
    inventory: Any = None  # an inventory.Inventory for live audits
    resolver: Any = None
    waivers_path: str | None = None
    history_db: str | None = None
    run_id: str | None = None
    collect_options: audit.CollectOptions = audit.CollectOptions()  # timeouts, concurrency, TLS of live audits
    origin: str = ""  # what the session was opened on, kept when live runs renumber ``source``
    engine: str = "embedded"  # the Rego engine every evaluation of this session uses (--engine)
    pending: str | None = None  # a facts file's text not yet validated and evaluated (``open`` does it)

    @property
    def all_warnings(self) -> list[str]:
        """The run's warnings and the waivers' (a stored run already holds both in its warnings)."""
        return list(dict.fromkeys([*self.warnings, *self.waiver_warnings]))

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def for_facts_file(cls, path: str, *, profile: str | None = None, **kw: Any) -> Session:
        """A session on a facts file, read but not yet evaluated: ``open`` does that (in a worker).

        The file is read here, so that one that cannot be read fails before the UI starts."""
        text = facts_doc.read_text(path)
        return cls({}, [], profile=profile, source=f"facts {path}", facts_path=str(path), pending=text, **kw)

    @classmethod
    def from_facts_file(cls, path: str, *, profile: str | None = None, **kw: Any) -> Session:
        s = cls.for_facts_file(path, profile=profile, **kw)
        s.open()
        return s

    def open(self, steps: Steps | None = None) -> None:
        """Validate and evaluate the pending facts file; ``steps`` hears each step as it starts."""
        say = steps or (lambda what, done, total: None)
        text, path = self.pending, self.facts_path
        if text is None:
            return
        say(f"checking {path} ({len(text) / 2**20:,.1f} MB)", None, None)
        doc = facts_doc.loads(text, source=str(path))
        result = audit.run(self._request(doc, say, facts_json=text, save=False))
        # all at once: the UI reads the session on the event loop while this runs in a worker
        self._take(result)
        self.pending = None

    def _request(
        self, doc: dict[str, Any], say: Steps | None = None, *, facts_json: str | None = None, save: bool
    ) -> audit.AuditRequest:
        """The audit of ``doc`` as this session runs it: its profile, engine, waivers and history."""
        progress = None
        if say is not None:
            what = f"evaluating {len(doc.get('hosts') or []):,} hosts with profile {self.current_profile(doc)}"
            say(what, None, None)
            progress = lambda done, total: say(what, done, total)  # noqa: E731
        return audit.AuditRequest(
            facts=doc,
            facts_json=facts_json,
            inventory_path=getattr(self.inventory, "path", None) if self._inventory_file() else None,
            evaluate=audit.EvaluateOptions(profile=self.profile, engine=self.engine, progress=progress),
            record=audit.RecordOptions(db=self.history_db, save=save, waivers=self._waivers_file()),
        )

    def _take(self, result: audit.AuditResult, *, same_facts: bool = False) -> None:
        """The audited run's facts, findings (waivers applied) and warnings become the session's;
        ``same_facts`` (a re-evaluation): the run's warnings stay as they were (a live audit's
        "collector run(s) failed" is not in the facts)."""
        run = result.run
        self.waiver_warnings = waivers_mod.summary_warnings(run.meta["waivers"])
        if not same_facts:  # the run's own warnings; the waivers' are kept apart (``all_warnings``)
            self.facts = run.facts
            self.warnings = [w for w in run.meta["warnings"] if w not in self.waiver_warnings]
        self.findings = run.findings

    def _waivers_file(self) -> str | None:
        return self.waivers_path if self.waivers_path and os.path.exists(self.waivers_path) else None

    @classmethod
    def from_history(
        cls, run_id: str | None = None, *, db: str | None = None, profile: str | None = None, **kw: Any
    ) -> Session:
        """A stored run (None: the latest); its findings as stored, waivers included."""
        if run_id is not None and not (str(run_id).isdigit() and 1 <= int(run_id) <= history.MAX_ID):
            raise InputError(
                f"--run {run_id!r}: a run id is a number from 1 to {history.MAX_ID} (`offhost-audit history` lists them)"
            )
        with history.History(db, create=False) as store:  # opening a run never creates a database
            run = store.load(int(run_id) if run_id is not None else None)
        s = cls(
            run.facts or {},
            list(run.findings),
            list(run.meta.get("warnings") or []),
            profile=profile or run.meta.get("profile"),
            source=f"run {run.id} ({run.started_at})",
            history_db=db,
            run_id=str(run.id),
            **kw,
        )
        if profile or kw.get("waivers_path"):
            s.reevaluate(profile)
        return s

    @classmethod
    def empty_for_inventory(cls, inventory: Any, *, source: str, **kw: Any) -> Session:
        return cls(
            {"collection": [], "hosts": [], "assignments": list(inventory.assignments)},
            [],
            source=source,
            inventory=inventory,
            **kw,
        )

    # --- actions -----------------------------------------------------------------------------

    def profiles(self) -> list[str]:
        return audit.profiles()

    def current_profile(self, facts: dict[str, Any] | None = None) -> str:
        return audit.resolve_profile(self.facts if facts is None else facts, self.profile)

    def reevaluate(self, profile: str | None = None, steps: Steps | None = None) -> None:
        """Judge the same facts again (another profile): findings replaced in place."""
        before = self.profile
        if profile is not None:
            self.profile = profile
        try:
            self._take(audit.run(self._request(self.facts, steps, save=False)), same_facts=True)
        except BaseException:
            self.profile = before  # the findings are still the old profile's
            raise

    def run_audit(self, progress: Progress, *, only: str | None = None) -> None:
        """Audit live (all targets, or ``only`` one, merged into the facts in hand) through
        ``audit.run`` and record the run in the history. A history that cannot take the run raises
        HistoryError once the session holds the run's findings."""
        if self.inventory is None:
            raise InputError("this session has no inventory: open the TUI with --inventory FILE for a live audit")
        options = self.collect_options._replace(progress=progress, resolver=self.resolver)
        if only is None:
            request = self._request({}, save=True)._replace(facts=None, inventory=self.inventory, collect=options)
        else:
            fresh = audit.collect_checked(_only(self.inventory, only), options)
            request = self._request(assemble.merge_target(self.facts, fresh, only), save=True)
        result = audit.run(request)
        self._take(result)
        if result.stored == EXIT_NOT_STORED and result.history_error is not None:
            raise result.history_error
        self._stored(result.run)

    def record(self) -> str:
        """Store the current run (its facts and findings as they are) in the history; its id."""
        run = audit.record_run(
            self.facts,
            self.findings,
            profile=self.profile,
            engine=self.engine,
            waivers=self._waivers_file(),
            inventory_path=getattr(self.inventory, "path", None) if self._inventory_file() else None,
            warnings=self.warnings,
            save=False,
        )
        audit.store_run(run, self.history_db)
        self.findings = run.findings
        self.waiver_warnings = waivers_mod.summary_warnings(run.meta["waivers"])
        self._stored(run)
        return str(run.id)

    def _stored(self, run: Any) -> None:
        self.run_id = str(run.id)
        self.origin = self.origin or self.source
        self.source = f"run {run.id} ({self.origin})"

    def _inventory_file(self) -> bool:
        path = getattr(self.inventory, "path", None)
        return bool(path) and os.path.isfile(str(path))

    def waive(self, finding: Finding, *, reason: str, approver: str, expires: str, owner: str | None = None) -> str:
        """Append a waiver for this finding (exact subject) to the waivers file and re-apply; the file written."""
        path = self.waivers_path or _default_waivers_path(self)
        w = waivers_mod.new_waiver(
            id=f"W-{uuid.uuid4().hex[:8]}",
            rule_id=finding["rule_id"],
            subject=_glob_escape(finding["subject"]["name"]),
            justification=reason,
            owner=owner or approver,
            approved_by=approver,
            created=dt.date.today().isoformat(),
            expires=expires,
            statuses=[finding["status"]] if finding["status"] in waivers_mod.WAIVABLE else None,
        )
        waivers_mod.append(path, w)
        self.waivers_path = path
        self.reevaluate()
        return path

    def export(
        self, rows: list[int], directory: str, formats: tuple[str, ...] = ("html",), *, note: str = ""
    ) -> list[str]:
        """Render the given findings (the current view) as reports into ``directory``; the files written.

        ``note``: what filtered the view, added to the run's warnings so the reports say it too. A
        stored run's reports show the change since the previous run of its estate and the trend,
        as the CLI's do; a history that cannot be read leaves them out (the reports say nothing of it)."""
        view = sorted_findings([self.findings[i] for i in rows])  # the reports' order, whatever the list's sort
        warnings = self.all_warnings + ([f"This report is {note}."] if note else [])
        run = audit.record_run(
            self.facts, view, profile=self.profile, engine=self.engine, save=False, warnings=warnings
        )
        run.id = int(self.run_id) if self.run_id and self.run_id.isdigit() else None
        context: dict[str, Any] = {}
        if run.id is not None:
            try:
                previous, trend = audit.previous_runs(self.history_db, run.id)
                context = {"previous": previous, "trend": trend}
            except HistoryError:
                pass
        return [str(p) for p in render(run, list(formats), directory, **context)]


def _glob_escape(name: str) -> str:
    """A subject name as an exact waiver pattern (fnmatch: brackets quote * ? [)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _default_waivers_path(s: Session) -> str:
    inv_path = getattr(s.inventory, "path", None)
    base = os.path.dirname(inv_path) if inv_path and os.path.exists(inv_path) else os.getcwd()
    return os.path.join(base, "waivers.yaml")


def _only(inventory: Any, target: str) -> Any:
    """The inventory reduced to one target (assignments kept: the proxies list is context)."""
    t = norm_name(target)
    return replace(
        inventory,
        hosts=[h for h in inventory.hosts if norm_name(h.name) == t],
        file_servers=[e for e in inventory.file_servers if norm_name(e["target"].name) == t],
        domain_controllers=[e for e in inventory.domain_controllers if norm_name(e["target"].name) == t],
    )


def describe(rule_id: str) -> str | None:
    """The rule's METADATA description (for the detail pane)."""
    return audit.rule_description(rule_id)


def plan(session: Session, only: str | None = None) -> dict[str, int]:
    """Collector runs per target that a live audit will make (for the progress display)."""
    inv = session.inventory if only is None else _only(session.inventory, only)
    return audit.plan(inv, session.resolver)
