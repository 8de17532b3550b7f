"""What the TUI has open: facts, findings, profile, where they came from, and the actions on them.

Every action goes through the core services: ``audit.evaluate_facts`` and ``audit.run_audit`` to
judge and collect, ``audit.record_run`` to apply waivers and store a run in the history,
``waivers.append`` to add a waiver, ``reports.render.render`` to export. No Textual here: workers
call these methods from threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from offhost_audit import assemble, audit, facts as facts_doc
from offhost_audit.errors import InputError
from offhost_audit.findings import Finding, sorted_findings
from offhost_audit.names import norm_name
from offhost_audit.store import waivers as waivers_mod

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
    audit_options: dict[str, Any] = field(default_factory=dict)
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
        found = self._with_waivers(self._evaluate(doc, say, facts_json=text))
        # all at once: the UI reads the session on the event loop while this runs in a worker
        self.facts, self.findings, self.warnings, self.pending = doc, found, audit.run_warnings(doc), None

    def _evaluate(self, doc: dict[str, Any], say: Steps, facts_json: str | None = None) -> list[Finding]:
        what = f"evaluating {len(doc.get('hosts') or []):,} hosts with profile {self.current_profile(doc)}"
        say(what, None, None)
        return audit.evaluate_facts(
            doc,
            profile=self.profile,
            facts_json=facts_json,
            engine=self.engine,
            progress=lambda done, total: say(what, done, total),
        )

    @classmethod
    def from_history(
        cls, run_id: str | None = None, *, db: str | None = None, profile: str | None = None, **kw: Any
    ) -> Session:
        """A stored run (None: the latest); its findings as stored, waivers included."""
        from offhost_audit.store import history

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
            self.findings = self._with_waivers(self._evaluate(self.facts, steps or (lambda what, done, total: None)))
        except BaseException:
            self.profile = before  # the findings are still the old profile's
            raise

    def run_audit(self, progress: Progress, *, only: str | None = None) -> None:
        """Collect live (all targets, or ``only`` one) through ``audit.run_audit``; then record it in the history."""
        if self.inventory is None:
            raise InputError("this session has no inventory: open the TUI with --inventory FILE for a live audit")
        inv = self.inventory if only is None else _only(self.inventory, only)
        doc, found, warnings = audit.run_audit(
            inv,
            progress=progress,
            profile=self.profile,
            resolver=self.resolver,
            engine=self.engine,
            **self.audit_options,
        )
        if only is not None:
            doc = assemble.merge_target(self.facts, doc, only)
            found = audit.evaluate_facts(doc, profile=self.profile, engine=self.engine)
            warnings = audit.run_warnings(doc)
        self.facts, self.findings, self.warnings = doc, found, warnings
        self.record()  # applies the waivers too

    def _with_waivers(self, findings: list[Finding]) -> list[Finding]:
        """The findings with the waivers file applied (when there is one); the waivers the run held
        back as too broad become ``waiver_warnings``."""
        self.waiver_warnings = []
        if self.waivers_path and os.path.exists(self.waivers_path):
            applied = waivers_mod.apply(findings, waivers_mod.load(self.waivers_path))
            self.waiver_warnings = applied.warnings()
            return applied.findings
        return findings

    def record(self) -> str:
        """Apply the waivers and store the current run in the history (``audit.record_run``); its id."""
        run = audit.record_run(
            self.facts,
            self.findings,
            profile=self.profile,
            engine=self.engine,
            db=self.history_db,
            waivers=self.waivers_path if self.waivers_path and os.path.exists(self.waivers_path) else None,
            inventory_path=getattr(self.inventory, "path", None) if self._inventory_file() else None,
            warnings=self.warnings,
        )
        self.findings = run.findings
        self.waiver_warnings = waivers_mod.summary_warnings(run.meta["waivers"])
        self.run_id = str(run.id)
        self.origin = self.origin or self.source
        self.source = f"run {run.id} ({self.origin})"
        return self.run_id

    def _inventory_file(self) -> bool:
        path = getattr(self.inventory, "path", None)
        return bool(path) and os.path.isfile(str(path))

    def waive(self, finding: Finding, *, reason: str, approver: str, expires: str, owner: str | None = None) -> str:
        """Append a waiver for this finding (exact subject) to the waivers file and re-apply; the file written."""
        import datetime as dt
        import uuid

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

        ``note``: what filtered the view, added to the run's warnings so the reports say it too."""
        from offhost_audit.reports.render import render

        view = sorted_findings([self.findings[i] for i in rows])  # the reports' order, whatever the list's sort
        warnings = self.all_warnings + ([f"This report is {note}."] if note else [])
        run = audit.record_run(self.facts, view, profile=self.profile, save=False, warnings=warnings)
        run.id = int(self.run_id) if self.run_id and self.run_id.isdigit() else None
        return [str(p) for p in render(run, list(formats), directory)]


def _glob_escape(name: str) -> str:
    """A subject name as an exact waiver pattern (fnmatch: brackets quote * ? [)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _default_waivers_path(s: Session) -> str:
    inv_path = getattr(s.inventory, "path", None)
    base = os.path.dirname(inv_path) if inv_path and os.path.exists(inv_path) else os.getcwd()
    return os.path.join(base, "waivers.yaml")


def _only(inventory: Any, target: str) -> Any:
    """The inventory reduced to one target (assignments kept: the proxies list is context)."""
    from dataclasses import replace

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
    from offhost_audit import collect
    from offhost_audit.collectors import registry

    inv = session.inventory if only is None else _only(session.inventory, only)
    targets = inv.targets(resolver=session.resolver)
    collectors = registry()
    return {t.name: collect.plan_size([t], collectors) for t in targets}
