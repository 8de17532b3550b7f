"""The detail pane: one finding in full (title, description, message, evidence, remediation, doc link).

Everything is built as Rich ``Text`` (never markup) from ``text.clean``-ed host text, so a share
called ``[bold]x`` or ``\\x1b]0;t\\x07`` shows as typed and never styles or retitles anything.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from offhost_audit.findings import Finding
from offhost_audit.text import clean, reflow

_ACE_PATH = re.compile(r"acl\[\d+\]$")  # one ACE of a share or NTFS ACL: the one that decided an SMB rule


def _hex(n: Any) -> str:
    return f"0x{n:x}" if isinstance(n, int) and not isinstance(n, bool) else str(n)


def _value(v: Any) -> str:
    if isinstance(v, dict) and {"sid", "mask", "type"} <= set(v):  # an ACE, as a Windows admin reads it
        name = f"{v['name']} " if v.get("name") else ""
        return f"{v['type']} {name}({v['sid']}) mask {_hex(v['mask'])} flags {_hex(v.get('flags'))}"
    if isinstance(v, (dict, list)):
        s = json.dumps(v, ensure_ascii=False, sort_keys=True)
        return s if len(s) <= 400 else json.dumps(v, ensure_ascii=False, indent=1, sort_keys=True)
    return json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v


def render(f: Finding, *, description: str | None = None) -> Text:
    """The finding as styled text; safe for any host-supplied value."""
    t = Text()
    status = f["status"]
    t.append(f"{f['rule_id']} ", style="bold")
    t.append(
        f"{status.upper()} ",
        style={"fail": "bold red", "unknown": "bold yellow", "pass": "green"}.get(status, "magenta"),
    )
    t.append(f"{f['severity']}\n", style="italic")
    t.append(clean(f.get("title") or "") + "\n", style="bold underline")
    t.append("\nSubject: ", style="bold")
    t.append(clean(f["subject"]["name"]) + "\n")
    t.append("\nMessage\n", style="bold")
    t.append(clean(f.get("message") or "") + "\n")
    if f.get("waiver"):
        w = f["waiver"]
        t.append("\nWaiver" + (" (expired)" if w.get("state") == "expired" else "") + "\n", style="bold magenta")
        for k in ("id", "state", "status", "justification", "owner", "approved_by", "expires", "ticket", "note"):
            if w.get(k) is not None:
                t.append(f"  {k}: {clean(w[k])}\n")
    if f.get("missing"):
        t.append("\nMissing facts (why it is unknown)\n", style="bold yellow")
        for p in f["missing"]:
            t.append(f"  {clean(p)}\n")
    t.append("\nEvidence\n", style="bold")
    if not f.get("evidence"):
        t.append("  (none)\n", style="dim")
    for e in f.get("evidence") or []:
        path = clean(e.get("path", ""))
        deciding = bool(_ACE_PATH.search(path))
        t.append("  " + ("▶ " if deciding else "") + path, style="bold cyan" if deciding else "cyan")
        t.append(" = ")
        t.append(clean(_value(e.get("value"))) + "\n")
    t.append("\nRemediation\n", style="bold green")
    # the policies wrap remediation at ~90 columns: re-flow it so the pane wraps at its own width
    t.append(reflow(clean(f.get("remediation") or "")) + "\n")
    if f.get("doc_url"):
        t.append("\nDocumentation: ", style="bold")
        t.append(clean(f["doc_url"], keep_newlines=False), style="underline")
        t.append("  (o: open in a browser, or copy)\n", style="dim")
    if description:
        t.append("\nAbout this rule\n", style="bold")
        t.append(reflow(clean(description)) + "\n", style="dim")
    return t


class FindingDetail(VerticalScroll, can_focus=True):
    """A scrollable pane showing one finding; ``show(None)`` for the empty state."""

    ALLOW_MAXIMIZE = True
    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("space", "page_down", "Page down", show=False),
    ]

    DEFAULT_CSS = """
    FindingDetail { height: 1fr; border-top: solid $primary; padding: 0 1; }
    FindingDetail > Static { width: 100%; }
    """

    def compose(self):
        yield Static(Text("No finding selected.", style="dim"), id="detail-body")

    def show(self, f: Finding | None, *, description: str | None = None) -> None:
        body = self.query_one("#detail-body", Static)
        body.update(render(f, description=description) if f else Text("No finding matches the filter.", style="dim"))
        self.scroll_home(animate=False)
