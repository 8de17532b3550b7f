"""What the TUI has open: facts, findings, profile, where they came from, and the actions on them.

Every action goes through the core services (``audit.evaluate_facts``, ``audit.run_audit``), and the
run history, waivers and report renderers of ``offhost_audit.history`` / ``waivers`` / ``reports``.
No Textual here: workers call these methods from threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from offhost_audit import audit, facts as facts_doc
from offhost_audit.errors import AuditError, InputError
from offhost_audit.findings import Finding

Progress = Callable[[str, str, str], None]


class NeedsStoreError(AuditError):
    """An action that needs the run history, waivers or report renderers, which are not installed."""


def _store(module: str, what: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"offhost_audit.{module}")
    except ImportError:
        raise NeedsStoreError(f"{what} needs the history store (offhost_audit.{module}), "
                              "which is not in this build") from None


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

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def from_facts_file(cls, path: str, *, profile: str | None = None, **kw: Any) -> Session:
        text = facts_doc.read_text(path)
        doc = facts_doc.loads(text, source=str(path))
        found = audit.evaluate_facts(doc, profile=profile, facts_json=text)
        s = cls(doc, found, audit.run_warnings(doc), profile=profile, source=f"facts {path}", facts_path=str(path), **kw)
        s._apply_waivers()
        return s

    @classmethod
    def from_history(cls, run_id: str | None = None, *, db: str | None = None, profile: str | None = None,
                     **kw: Any) -> Session:
        history = _store("history", "opening a run from history")
        store = history.History(db) if db else history.History()
        run = store.get(run_id) if run_id else store.latest()
        if run is None:
            raise InputError("the run history is empty: run `offhost-audit audit` first, or open --facts FILE"
                             if not run_id else f"no run {run_id!r} in the history")
        s = cls(run.facts, list(run.findings), audit.run_warnings(run.facts), profile=profile or run.profile,
                source=f"run {run.id}", history_db=db, run_id=str(run.id), **kw)
        if profile:
            s.reevaluate(profile)
        return s

    @classmethod
    def empty_for_inventory(cls, inventory: Any, *, source: str, **kw: Any) -> Session:
        return cls({"collection": [], "hosts": [], "assignments": list(inventory.assignments)}, [],
                   source=source, inventory=inventory, **kw)

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
        self.findings = audit.evaluate_facts(self.facts, profile=self.profile)
        self._apply_waivers()

    def run_audit(self, progress: Progress, *, only: str | None = None) -> None:
        """Collect live (all targets, or ``only`` one) through ``audit.run_audit``; then save to history."""
        if self.inventory is None:
            raise InputError("this session has no inventory: open the TUI with --inventory FILE for a live audit")
        inv = self.inventory if only is None else _only(self.inventory, only)
        doc, found, warnings = audit.run_audit(inv, progress=progress, profile=self.profile,
                                               resolver=self.resolver, **self.audit_options)
        if only is not None:
            doc = _merge_target(self.facts, doc, only)
            found = audit.evaluate_facts(doc, profile=self.profile)
            warnings = audit.run_warnings(doc)
        self.facts, self.findings, self.warnings = doc, found, warnings
        self._apply_waivers()
        self.record()

    def _apply_waivers(self) -> None:
        if not self.waivers_path:
            return
        waivers = _store("waivers", "applying waivers")
        self.findings = waivers.apply(self.findings, waivers.load(self.waivers_path))

    def record(self) -> str | None:
        """Save the current run to history; its id (None when the history store is not installed)."""
        try:
            history = _store("history", "saving to history")
        except NeedsStoreError:
            return None
        store = history.History(self.history_db) if self.history_db else history.History()
        self.run_id = str(store.record(self.facts, self.findings, profile=self.current_profile()))
        self.source = f"run {self.run_id}"
        return self.run_id

    def waive(self, finding: Finding, *, reason: str, approver: str, expires: str, owner: str | None = None) -> str:
        """Append a waiver for this finding to the waivers file and re-apply; the file written."""
        waivers = _store("waivers", "waiving a finding")
        path = self.waivers_path or _default_waivers_path(self)
        waivers.append(path, rule_id=finding["rule_id"], subject=finding["subject"]["name"], justification=reason,
                       approved_by=approver, expires=expires, owner=owner or approver)
        self.waivers_path = path
        self.reevaluate()
        return path

    def export(self, rows: list[int], directory: str, formats: tuple[str, ...] = ("html",)) -> list[str]:
        """Render the given findings (the current view) as reports into ``directory``; the files written."""
        reports = _store("reports", "exporting a report")
        render = getattr(reports, "render", None)
        if render is None:
            raise NeedsStoreError("exporting a report needs offhost_audit.reports.render, which is not in this build")
        view = [self.findings[i] for i in rows]
        return [str(p) for p in render(view, facts=self.facts, formats=formats, out_dir=directory)]


def _default_waivers_path(s: Session) -> str:
    inv_path = getattr(s.inventory, "path", None)
    base = os.path.dirname(inv_path) if inv_path and os.path.exists(inv_path) else os.getcwd()
    return os.path.join(base, "waivers.yaml")


def _only(inventory: Any, target: str) -> Any:
    """The inventory reduced to one target (assignments kept: the proxies list is context)."""
    from dataclasses import replace

    t = target.upper()
    return replace(inventory,
                   hosts=[h for h in inventory.hosts if h.name.upper() == t],
                   file_servers=[e for e in inventory.file_servers if e["target"].name.upper() == t],
                   domain_controllers=[e for e in inventory.domain_controllers if e["target"].name.upper() == t])


def _merge_target(old: dict[str, Any], new: dict[str, Any], target: str) -> dict[str, Any]:
    """The old facts with one target's facts and manifest entries replaced by a fresh collection's."""
    from offhost_audit.collectors.base import merge

    t = target.upper()
    keep = {k: v for k, v in old.items() if k not in ("collection", "warnings")}
    fresh = {k: new.get(k) for k in ("hosts", "clusters", "vms", "shares", "domains", "computer_accounts") if new.get(k)}
    merged = {**keep, **merge([{k: keep.get(k) or [] for k in fresh}, fresh])}
    merged["collection"] = [e for e in old.get("collection") or [] if e["target"].upper() != t] + list(new.get("collection") or [])
    merged["warnings"] = list(new.get("warnings") or [])
    return merged


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
