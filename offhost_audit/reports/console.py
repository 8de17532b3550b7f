"""Findings on a terminal (a Rich table) or as JSON (``schema/findings.schema.json``).

Everything that came from a host (names, messages, share names) is untrusted: it goes into Rich
as ``Text`` (never parsed as markup), so a share called ``[red]x[/]`` prints as written, and through
:func:`offhost_audit.text.clean` first, so an escape sequence in a VM name is shown, never executed.
Each cell or line holds at most :data:`CELL_CHARS` characters (a 3 MB message would take Rich
seconds to wrap and help nobody); ``--format json`` keeps every value exact and whole.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.text import Text

from offhost_audit.findings import STATUSES, Finding, counts, job_verdicts, status_label, unknowns, verdicts
from offhost_audit.reports.findings_json import to_json  # noqa: F401  (one JSON writer: findings_json)
from offhost_audit.store.diff import CATEGORIES, LABELS
from offhost_audit.text import clean, reflow

_STATUS_STYLE = {"fail": "bold red", "unknown": "yellow", "pass": "green", "not_applicable": "dim", "waived": "cyan"}
_SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def summary_line(findings: list[Finding], fail_on: str | None = None, *, accept_unknown: bool = False) -> str:
    """``33 finding(s): 2 fail, 6 unknown, 25 pass`` and, with --fail-on, what that means for the run."""
    c = counts(findings)
    parts = [f"{c[s]:,} {status_label(s)}" for s in STATUSES if c.get(s)]
    text = f"{len(findings):,} finding(s): " + (", ".join(parts) if parts else "none")
    if fail_on:
        text += "\n" + verdicts.run_sentence(findings, fail_on, accept_unknown=accept_unknown)
    return text


CELL_CHARS = 2000


def _text(value: object, style: str = "", *, limit: int = CELL_CHARS) -> Text:
    """Host text for the table: control characters replaced, cut at ``limit`` characters."""
    s = value if isinstance(value, str) else str(value)
    if len(s) > limit:
        s = s[:limit] + f"... ({len(s) - limit:,} more characters; --format json has them all)"
    return Text(clean(s), style=style)


LISTED = ("fail", "unknown", "waived")  # rows the table lists; passes and not applicable are counted


def _print_rows(findings: list[Finding], console: Console, chunk: int = 200) -> None:
    """Two lines per finding: status, severity, rule and subject; then the message, indented, the
    whole width for it (a five-column table wrapped a message into six lines at 80 columns).
    Printed ``chunk`` findings at a time: one print per line costs Rich about a millisecond."""
    for start in range(0, len(findings), chunk):
        block = Text()
        for f in findings[start : start + chunk]:
            st, sev = str(f.get("status", "")), str(f.get("severity", ""))
            block.append_text(_text(f"{status_label(st):<8}", _STATUS_STYLE.get(st, "")))
            block.append_text(_text(f"{sev:<9}", _SEV_STYLE.get(sev, "")))
            block.append_text(_text(f"{f.get('rule_id', '')}  ", "bold"))
            block.append_text(_text((f.get("subject") or {}).get("name", "")))
            block.append("\n    ")
            block.append_text(_text(f.get("message", "")))
            block.append("\n")
        block.rstrip()
        console.print(block, overflow="fold")


def render_table(
    findings: list[Finding],
    *,
    warnings: list[str] | None = None,
    fail_on: str | None = None,
    accept_unknown: bool = False,
    facts: dict | None = None,
    console: Console | None = None,
) -> None:
    """Warnings; failures, unknowns and waived findings (the most urgent first; passes counted, not
    listed: a Rich table costs about a millisecond per row and 40,000 passing rows help nobody);
    how to fix each failing rule; how to get each undecided fact; the verdict per proxy; the summary."""
    console = console or Console()
    for w in warnings or []:
        console.print(Text.assemble(("warning: ", "bold yellow"), _text(w)))
    _print_rows([f for f in findings if f.get("status") in LISTED], console)
    c = counts(findings)
    if c.get("pass") or c.get("not_applicable"):
        console.print(
            Text(
                f"{c.get('pass', 0):,} passed and {c.get('not_applicable', 0):,} not applicable: counted, not "
                "listed (--format json lists every finding)",
                style="dim",
            )
        )
    _print_fixes(findings, console)
    judged = verdicts.judge(facts, findings)
    _print_verdicts(judged, console)
    if facts is not None:  # a findings file alone has no jobs to judge
        lines = job_lines(job_verdicts.judge_jobs(facts, findings, judged))
        console.print(_text(lines[0], "bold red" if len(lines) > 1 else "bold"))
        for line in lines[1:]:
            console.print(_text(line, "red"))
    console.print(Text(summary_line(findings, fail_on, accept_unknown=accept_unknown), style="bold"))


MAX_VERDICT_LINES = 50  # per block (proxies, sources); the reports list all


def _print_verdicts(v: verdicts.Verdicts, console: Console) -> None:
    """One line per proxy, then per source, the not ready first:
    ``PROXY07  not ready for host HV62 (OHP-023); ready for host HV61``."""
    style = {"not_ready": "bold red", "unknown": "yellow", "ready_with_warnings": "cyan", "ready": "green"}
    for what, summaries in (("proxies", v.by_proxy), ("sources", v.by_source)):
        if not summaries:
            continue
        console.print(Text(verdicts.tally_text(summaries, what), style="bold"))
        for s in summaries[:MAX_VERDICT_LINES]:
            name = s.name if s.kind == "proxy" else verdicts.source_label((s.kind, s.name))
            console.print(Text.assemble("  ", _text(name, "bold"), "  ", _text(s.text, style[s.state])))
        if len(summaries) > MAX_VERDICT_LINES:
            console.print(Text(f"  ... and {len(summaries) - MAX_VERDICT_LINES:,} more {what} (the reports list all)"))


def job_lines(jv: job_verdicts.JobVerdicts, most: int = MAX_VERDICT_LINES) -> list[str]:
    """The jobs' tally, then one line per source at risk (the worst first), as the CLI and the demo print them:
    ``  Nightly, cluster HVCL01: runs on-host tonight, silently (...); PROXY01: blocked by OHP-010``."""
    lines = [jv.tally_text()]
    risky = jv.risky_sources()
    for j, s in risky[:most]:
        lines.append(f"  {j.name}, {s.source}: {s.tonight}; {s.blockers or 'no candidate proxy'}")
    if len(risky) > most:
        lines.append(f"  ... and {len(risky) - most:,} more job sources at risk (the reports list all)")
    return lines


def _print_fixes(findings: list[Finding], console: Console) -> None:
    """How to fix: each failing rule once, with its remediation and the page it comes from. How to
    get the facts: each distinct advice of the undecided findings once (their remediation says how
    to collect the missing fact, see ``engine.metadata.enrich``)."""
    failing: dict[str, Finding] = {}
    varies: set[str] = set()  # rules whose texts name each finding's own proxy, cluster...
    undecided: dict[str, list[str]] = {}  # one cause's advice -> the rules it leaves undecided
    for f in findings:
        if f.get("status") == "fail":
            first = failing.setdefault(f["rule_id"], f)
            if f.get("remediation") != first.get("remediation"):
                varies.add(f["rule_id"])
        elif f.get("status") == "unknown":
            for line in str(f.get("remediation", "")).split("\n"):
                if line.strip() and line != unknowns.DECIDED:
                    undecided.setdefault(line, []).append(str(f.get("rule_id", "")))
    if failing:
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
    if undecided:
        console.print(Text("How to decide the unknowns", style="bold"))
    for advice, rules in undecided.items():
        console.print(Text.assemble(_text(", ".join(sorted(set(rules))) + ": ", "bold"), _text(advice)))


def table_text(
    findings: list[Finding],
    *,
    warnings: list[str] | None = None,
    fail_on: str | None = None,
    accept_unknown: bool = False,
    facts: dict | None = None,
    width: int = 160,
) -> str:
    """The table as plain text (no colour), e.g. for ``-o FILE``."""
    buf = io.StringIO()
    render_table(
        findings,
        warnings=warnings,
        fail_on=fail_on,
        accept_unknown=accept_unknown,
        facts=facts,
        console=Console(file=buf, width=width, no_color=True, color_system=None, highlight=False),
    )
    return buf.getvalue()


# --- the run history (`history`, `diff`): plain lines, every value from a run cleaned -----------


def print_history(runs: list[Any]) -> None:
    """`history`'s table: one line per stored run, newest first."""
    print(
        f"{'run':>5}  {'started (UTC)':<20}  {'fail':>6} {'unknown':>7} {'waived':>6} {'pass':>6} {'total':>6}  "
        "profile, engine, source"
    )
    for r in runs:
        st = r.counts.get("status", {})
        src = r.meta.get("inventory") or r.meta.get("facts_file") or ""
        print(
            f"{r.id:>5}  {clean(r.started_at, keep_newlines=False):<20}  {st.get('fail', 0):>6} "
            f"{st.get('unknown', 0):>7} {st.get('waived', 0):>6} {st.get('pass', 0):>6} {r.counts.get('total', 0):>6}  "
            + clean(f"{r.meta.get('profile') or '-'}, {r.meta.get('engine') or '-'}, {src or '-'}", keep_newlines=False)
        )


def print_diff(old: Any, new: Any, d: Any, most: int = 200) -> None:
    """`diff`'s text: each category's count and (but for "still failing") up to ``most`` changes."""
    print(clean(f"run {old.id} ({old.started_at}) -> run {new.id} ({new.started_at})", keep_newlines=False))
    for cat in CATEGORIES:
        items = d.changes[cat]
        print(f"{LABELS[cat]}: {len(items)}")  # our own labels and counts
        if cat == "still_failing":
            continue
        for c in items[:most]:
            reason = f" ({c.reason})" if c.reason else ""
            print(
                "  "
                + clean(
                    f"{c.rule_id} {c.severity} {c.subject}: {c.old_status or '-'} -> {c.new_status or '-'}{reason}",
                    keep_newlines=False,
                )
            )
        if len(items) > most:
            print(f"  ... {len(items) - most} more (--format json lists all)")
