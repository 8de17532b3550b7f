"""The Ctrl+P command palette: every action of the TUI, plus per-profile and per-target commands."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from offhost_audit.tui.query import COLUMNS


class OffhostCommands(Provider):
    """Commands from the app's ``palette_commands()`` (they change with the session)."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        return self.app.palette_commands()  # type: ignore[attr-defined]

    async def discover(self) -> Hits:
        for name, action, help_text in self._commands():
            yield DiscoveryHit(Content(name), action, help=help_text)  # Content: never markup

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                # Matcher.highlight parses markup: only for names without brackets (host names may hold them)
                shown = matcher.highlight(name) if "[" not in name else Content(name)
                yield Hit(score, shown, action, help=help_text)


def app_commands(app: Any) -> list[tuple[str, Callable[[], object], str]]:
    """(name, callback, help) for every action; ``app`` is the running OffhostAuditApp."""
    a = app  # Any: the App class imports this module, so it cannot be named here
    run = a.run_action
    cmds: list[tuple[str, Callable[[], object], str]] = [
        ("Go to dashboard", partial(run, "goto('dashboard')"), "counts, proxy verdicts, collection failures"),
        ("Go to findings", partial(run, "goto('findings')"), "the findings list and detail pane"),
        ("Go to facts explorer", partial(run, "goto('facts')"), "the facts document as a tree"),
        ("Go to proxy eligibility matrix", partial(run, "goto('matrix')"), "proxies x hosts, clusters, shares"),
        ("Go to live audit", partial(run, "goto('audit')"), "per-target progress of a live audit"),
        ("Go to run history", partial(run, "goto('runs')"), "open a stored run, diff two runs"),
        ("Go to jobs", partial(run, "goto('jobs')"), "what each backup job does tonight, and why"),
        ("Filter: failures", partial(a.show_findings, "status:fail"), "status:fail"),
        ("Filter: unknown", partial(a.show_findings, "status:unknown"), "status:unknown"),
        ("Filter: high and above", partial(a.show_findings, "sev:high+ -status:pass"), "sev:high+"),
        ("Filter: clear", partial(a.show_findings, ""), "every finding"),
        ("Toggle hide passes", partial(a.findings_action, "toggle_pass"), "hide or show pass and n/a"),
        ("Toggle hide waived", partial(a.findings_action, "toggle_waived"), "hide or show waived findings"),
        ("Waive the selected finding", partial(a.findings_action, "waive"), "reason, approver, expiry"),
        (
            "Export the current view as a report",
            partial(a.findings_action, "export"),
            "html, md, junit, sarif, csv, json",
        ),
        (
            "Jump to the facts of the selected finding",
            partial(a.findings_action, "facts"),
            "evidence paths in the facts",
        ),
        ("Open the doc link of the selected finding", partial(a.findings_action, "doc"), "browser, or copy"),
        ("Zoom the detail pane", partial(a.findings_action, "zoom"), "full screen detail"),
        ("Switch profile", partial(run, "switch_profile"), "re-evaluate the same facts"),
        ("Re-run the live audit", partial(run, "audit"), "collect and evaluate again"),
        ("Help: keys and filter syntax", partial(run, "help"), "?"),
    ]
    for col in COLUMNS:
        cmds.append((f"Sort findings by {col}", partial(a.sort_findings, col), f"sort column {col}"))
    session = a.session
    try:
        profiles = session.profiles()
    except Exception:  # noqa: BLE001 - the palette never fails on a policy problem
        profiles = []
    for p in profiles:
        cmds.append((f"Profile: {p}", partial(a.set_profile, p), "re-evaluate with this guidance profile"))
    if session.inventory is not None:
        for h in session.inventory.hosts:
            cmds.append((f"Re-run target {h.name}", partial(a.action_audit, h.name), "collect this target again"))
    return cmds
