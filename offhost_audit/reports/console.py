"""Findings on a terminal (a Rich table) or as JSON (``schema/findings.schema.json``).

Everything that came from a host (names, messages, share names) is untrusted: it goes into Rich
as ``Text`` (never parsed as markup), so a share called ``[red]x[/]`` prints as written, and through
:func:`offhost_audit.text.clean` first, so an escape sequence in a VM name is shown, never executed.
Each cell or line holds at most :data:`CELL_CHARS` characters (a 3 MB message would take Rich
seconds to wrap and help nobody); ``--format json`` keeps every value exact and whole.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from offhost_audit.findings import STATUSES, Finding, breaches, counts, status_label
from offhost_audit.reports.findings_json import to_json  # noqa: F401  (one JSON writer: findings_json)
from offhost_audit.text import clean, reflow

_STATUS_STYLE = {"fail": "bold red", "unknown": "yellow", "pass": "green", "not_applicable": "dim", "waived": "cyan"}
_SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def summary_line(findings: list[Finding], fail_on: str | None = None) -> str:
    c = counts(findings)
    parts = [f"{c[s]} {status_label(s)}" for s in STATUSES if c.get(s)]
    text = f"{len(findings)} finding(s): " + (", ".join(parts) if parts else "none")
    if fail_on:
        n = len(breaches(findings, fail_on))
        text += f"; {n} failure(s) at or above {fail_on}"
    return text


CELL_CHARS = 2000


def _text(value: object, style: str = "", *, limit: int = CELL_CHARS) -> Text:
    """Host text for the table: control characters replaced, cut at ``limit`` characters."""
    s = value if isinstance(value, str) else str(value)
    if len(s) > limit:
        s = s[:limit] + f"... ({len(s) - limit:,} more characters; --format json has them all)"
    return Text(clean(s), style=style)


ALL_ROWS_UP_TO = 2000  # above this many findings the table lists only fail/unknown/waived rows


def build_table(findings: list[Finding]) -> Table:
    """One row per finding. Cells are Text objects: host-supplied strings are never parsed as markup."""
    table = Table(show_lines=False, header_style="bold", expand=False)
    table.add_column("status", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("subject", overflow="fold")
    table.add_column("message", overflow="fold", ratio=1)
    for f in findings:
        st, sev = str(f.get("status", "")), str(f.get("severity", ""))
        table.add_row(
            _text(status_label(st), _STATUS_STYLE.get(st, "")),
            _text(sev, _SEV_STYLE.get(sev, "")),
            _text(f.get("rule_id", "")),
            _text((f.get("subject") or {}).get("name", "")),
            _text(f.get("message", "")),
        )
    return table


def render_table(
    findings: list[Finding],
    *,
    warnings: list[str] | None = None,
    fail_on: str | None = None,
    console: Console | None = None,
) -> None:
    """Warnings, the table, the summary line. Large runs list only what needs attention: a Rich
    table costs about a millisecond per row, and 40,000 passing rows help nobody at a terminal."""
    console = console or Console()
    for w in warnings or []:
        console.print(Text.assemble(("warning: ", "bold yellow"), _text(w)))
    rows = findings
    if len(findings) > ALL_ROWS_UP_TO:
        rows = [f for f in findings if f.get("status") in ("fail", "unknown", "waived")]
    if rows:
        console.print(build_table(rows))
    if len(rows) < len(findings):
        hidden = len(findings) - len(rows)
        console.print(
            Text(
                f"{hidden} pass / not applicable row(s) not listed (more than {ALL_ROWS_UP_TO} "
                "findings); --format json lists every finding"
            )
        )
    _print_fixes(findings, console)
    console.print(Text(summary_line(findings, fail_on)))


def _print_fixes(findings: list[Finding], console: Console) -> None:
    """How to fix: each failing rule once, with its remediation and the page it comes from."""
    failing: dict[str, Finding] = {}
    varies: set[str] = set()  # rules whose texts name each finding's own proxy, cluster...
    for f in findings:
        if f.get("status") == "fail":
            first = failing.setdefault(f["rule_id"], f)
            if f.get("remediation") != first.get("remediation"):
                varies.add(f["rule_id"])
    if not failing:
        return
    console.print(Text("How to fix", style="bold"))
    for rule_id, f in failing.items():
        console.print(Text.assemble(_text(f"{rule_id} ", "bold"), _text(f.get("title", ""))))
        if rule_id in varies:
            console.print(
                _text(f"for {(f.get('subject') or {}).get('name', '')} (--format json has each finding's own):")
            )
        console.print(_text(reflow(str(f.get("remediation", "")))))
        if f.get("doc_url"):
            console.print(_text(f"  see {f['doc_url']}"))


def table_text(
    findings: list[Finding], *, warnings: list[str] | None = None, fail_on: str | None = None, width: int = 160
) -> str:
    """The table as plain text (no colour), e.g. for ``-o FILE``."""
    buf = io.StringIO()
    render_table(
        findings,
        warnings=warnings,
        fail_on=fail_on,
        console=Console(file=buf, width=width, no_color=True, color_system=None, highlight=False),
    )
    return buf.getvalue()
