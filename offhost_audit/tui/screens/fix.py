"""`F`: the fix for a finding (findings view) or for a machine (dashboard, a proxy's row), read-only.

It shows what `offhost-audit fix` would write: the scripted steps (script, where it runs, what
changes) and the manual steps with their check. Nothing is written or run from here; the command
that writes the reviewable folder is shown at the bottom. Host text is Rich Text (never markup),
cleaned of control characters.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from offhost_audit import fixes
from offhost_audit.names import norm_name
from offhost_audit.text import clean


def _line(text: Text, value: object, style: str = "") -> None:
    text.append(clean(value, keep_newlines=False), style=style)
    text.append("\n")


def _steps(text: Text, items: list[tuple[str, fixes.Step | fixes.Manual]]) -> None:
    for host, s in items:
        if isinstance(s, fixes.Step):
            text.append("script  ", style="bold green")
            _line(text, f"{s.script}   (on {fixes.KINDS[s.kind][1]} {host}, reading its data document)")
            _line(text, f"        {s.summary}")
        else:
            text.append("manual  ", style="bold yellow")
            _line(text, f"{s.title} ({host})")
            _line(text, f"        why manual: {s.why}")
            _line(text, f"        do: {s.todo}")
            _line(text, f"        check afterwards: {s.check}")
        _line(text, "        addresses: " + "; ".join(f"{a['rule_id']} {a['subject']}" for a in s.addresses), "dim")


def fix_text(session: Any, *, finding: dict[str, Any] | None = None, host: str | None = None) -> Text:
    """The fixes for one finding or one machine, as the TUI shows them."""
    plan = fixes.plan(session.facts, session.findings)
    text = Text()
    if finding is not None:
        _line(text, f"Fix for {finding['rule_id']} {finding['subject']['name']}", "bold")
        items: list[tuple[str, fixes.Step | fixes.Manual]] = plan.for_finding(finding)
        if finding.get("status") != "fail":
            _line(text, f"This finding is {finding.get('status')}: only failures get fixes.")
    else:
        _line(text, f"Fixes on {host}", "bold")
        h = plan.hosts.get(norm_name(host))
        items = [(h.host, s) for s in h.steps] + [(h.host, m) for m in h.manual] if h else []
    text.append("\n")
    if not items and (finding is None or finding.get("status") == "fail"):
        _line(text, "No scripted or manual step for this one: see the finding's remediation.")
    _steps(text, items)
    run = f" {session.run_id}" if session.run_id else ""
    text.append("\n")
    _line(text, "Nothing is run from here. Write the reviewable scripts, data documents and README with:", "dim")
    _line(
        text, f"  offhost-audit fix{run} -o DIR" + ("" if run else "   (needs a stored run: audit or evaluate first)")
    )
    return text


class FixScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,F,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    FixScreen { align: center middle; }
    FixScreen > VerticalScroll { width: 100%; max-width: 110; height: 80%; border: thick $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, text: Text) -> None:
        super().__init__()
        self._text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._text, id="fix-text")
            yield Static(Text("Esc closes this panel.", style="dim"))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
