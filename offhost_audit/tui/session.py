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

from offhost_audit import assemble, audit, facts as facts_doc, waivers as waivers_mod
from offhost_audit.errors import InputError
from offhost_audit.findings import Finding, sorted_findings
from offhost_audit.names import norm_name

Progress = Callable[[str, str, str], None]


@dataclass
class Session:
    facts: dict[str, Any]
    findings: list[Finding]
    warnings: list[str] = field(default_factory=list)
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

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def from_facts_file(cls, path: str, *, profile: str | None = None, **kw: Any) -> Session:
        text = facts_doc.read_text(path)
        doc = facts_doc.loads(text, source=str(path))
        found = audit.evaluate_facts(doc, profile=profile, facts_json=text, engine=kw.get("engine", "embedded"))
        s = cls(
            doc, found, audit.run_warnings(doc), profile=profile, source=f"facts {path}", facts_path=str(path), **kw
        )
        s._apply_waivers()
        return s

    @classmethod
    def from_history(
        cls, run_id: str | None = None, *, db: str | None = None, profile: str | None = None, **kw: Any
    ) -> Session:
        """A stored run (None: the latest); its findings as stored, waivers included."""
        from offhost_audit import history

        if run_id is not None and not str(run_id).isdigit():
            raise InputError(f"--run {run_id!r}: a run id is a number (`offhost-audit history` lists them)")
        with history.History(db) as store:
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
        from offhost_audit.engine import embedded

        return sorted(embedded.compiled().profiles)

    def current_profile(self) -> str:
        from offhost_audit.engine import embedded

        return embedded.resolve_profile(embedded.compiled(), self.facts, self.profile)

    def reevaluate(self, profile: str | None = None) -> None:
        """Judge the same facts again (another profile): findings replaced in place."""
        if profile is not None:
            self.profile = profile
        self.findings = audit.evaluate_facts(self.facts, profile=self.profile, engine=self.engine)
        self._apply_waivers()

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

    def _apply_waivers(self) -> None:
        if self.waivers_path and os.path.exists(self.waivers_path):
            self.findings = waivers_mod.apply(self.findings, waivers_mod.load(self.waivers_path)).findings

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

    def export(self, rows: list[int], directory: str, formats: tuple[str, ...] = ("html",)) -> list[str]:
        """Render the given findings (the current view) as reports into ``directory``; the files written."""
        from offhost_audit.reports.render import render

        view = sorted_findings([self.findings[i] for i in rows])  # the reports' order, whatever the list's sort
        run = audit.record_run(self.facts, view, profile=self.profile, save=False, warnings=self.warnings)
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
    from offhost_audit.engine import embedded

    meta = embedded.compiled().metadata.get(rule_id)
    return meta.description if meta else None


def plan(session: Session, only: str | None = None) -> dict[str, int]:
    """Collector runs per target that a live audit will make (for the progress display)."""
    from offhost_audit import collect
    from offhost_audit.collectors import registry

    inv = session.inventory if only is None else _only(session.inventory, only)
    targets = inv.targets(resolver=session.resolver)
    collectors = registry()
    return {t.name: collect.plan_size([t], collectors) for t in targets}
