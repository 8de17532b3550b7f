"""The plan (offhost_audit/plan/) in words: ``offhost-audit plan``'s table, and the lines the TUI
and the HTML report show.

Names come from hosts: they go into Rich as ``Text`` through :func:`offhost_audit.text.clean`,
never as markup. Long lists are cut at ``most`` rows; ``--format json`` has them all.
"""

from __future__ import annotations

import io
from typing import Any

from offhost_audit.text import clean


def source_text(s: dict[str, Any]) -> str:
    return s["name"] if s["kind"] == "share" else f"{s['kind']} {s['name']}"


def solver_line(doc: dict[str, Any], *, timing: bool = True) -> str:
    """``HiGHS MILP: optimal in 0.02 s, gap 0.00%`` or the greedy fallback's label; ``timing``
    False leaves the seconds out (a report file stays the same from one rendering to the next)."""
    s = doc["solver"]
    gap = "" if s["gap"] is None else f", gap {s['gap']:.2%}"
    note = f" - {s['note']}" if s.get("note") else ""
    when = f" in {s['seconds']:.2f} s" if timing else ""
    return f"{s['label']}: {s['status']}{when}{gap}{note}"


def headline(doc: dict[str, Any]) -> str:
    return (
        f"{doc['proxies_needed']} of {len(doc['proxies'])} proxies needed for {doc['sources']:,} source(s) "
        f"at redundancy {doc['redundancy']}; {len(doc['unservable'])} source(s) no proxy can serve, "
        f"{len(doc['redundancy_short'])} short of redundancy, "
        f"{len(doc['single_points_of_failure'])} with a single point of failure"
    )


def blocked_text(b: dict[str, Any]) -> str:
    every = b["rules_blocking_every_candidate"]
    why = "; ".join(f"{c['proxy']}: {c['reason']}" for c in b["candidates"]) or b["reason"]
    return f"{source_text(b['source'])} (load {b['load']}): {why}" + (
        f" - blocked everywhere by {', '.join(every)}" if every else ""
    )


def lines(doc: dict[str, Any], most: int = 50) -> list[tuple[str, list[str]]]:
    """The plan's sections as (title, lines): what every face but the table prints the same way."""
    out: list[tuple[str, list[str]]] = []

    def cut(items: list[str]) -> list[str]:
        return items[:most] + (
            [f"... and {len(items) - most:,} more (--format json lists all)"] if len(items) > most else []
        )

    out.append(("Sources no proxy can serve", cut([blocked_text(b) for b in doc["unservable"]])))
    out.append(
        (
            f"Sources short of redundancy {doc['redundancy']}",
            cut([f"{blocked_text(b)}; eligible: {', '.join(b['eligible'])}" for b in doc["redundancy_short"]]),
        )
    )
    out.append(
        (
            "Single points of failure",
            cut([f"{source_text(x['source'])}: only {x['proxy']}" for x in doc["single_points_of_failure"]]),
        )
    )
    if doc.get("what_if"):
        out.append(("What if", cut(what_if_lines(doc, most))))
    return out


def what_if_lines(doc: dict[str, Any], most: int = 50) -> list[str]:
    """What the what-ifs change: counts before -> after, sources lost and gained, jobs, candidates."""
    w = doc["what_if"]
    b, a = w["before"], w["after"]
    head = [
        f"proxies needed {b['proxies_needed']} -> {a['proxies_needed']}; sources no proxy can serve "
        f"{b['unservable']} -> {a['unservable']}; short of redundancy {b['redundancy_short']} -> {a['redundancy_short']}"
    ]
    head += [f"loses off-host processing: {source_text(x['source'])} (had {', '.join(x['had'])})" for x in w["lost"]]
    head += [f"can now be served: {source_text(x['source'])} (by {', '.join(x['now'])})" for x in w["gained"]]
    head += [j["text"] for j in w["jobs"]]
    for c in w["candidates"]:
        head.append(
            f"candidate {c['host']} (max tasks {c['capacity'] if c['capacity'] is not None else 'unknown'}): "
            f"can serve {len(c['can_serve'])} source(s), blocked for {len(c['blocked'])}; "
            + ("in the plan" if c["in_plan"] else "not in the plan")
        )
        head += [f"  {source_text(x['source'])}: {x['reason']}" for x in c["blocked"][:most]]
    return head


def table_text(doc: dict[str, Any], width: int = 120, most: int = 50) -> str:
    from rich.console import Console  # rich: only for the table (the HTML report uses the words above)
    from rich.table import Table
    from rich.text import Text

    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None, highlight=False)
    console.print(Text(clean(headline(doc))))
    console.print(Text(clean(solver_line(doc))))
    t = Table(title="Proxies", title_justify="left")
    for col in ("proxy", "used", "load / max tasks", "utilisation", "sources"):
        t.add_column(col, overflow="fold")
    for p in sorted(doc["proxies"], key=lambda p: (not p["used"], p["name"])):
        cap = "unknown" if p["capacity"] is None else str(p["capacity"])
        util = "-" if p["utilisation"] is None else f"{p['utilisation']:.0%}"
        srcs = p["sources"]
        shown = ", ".join(srcs[:5]) + (f" and {len(srcs) - 5:,} more" if len(srcs) > 5 else "")
        t.add_row(
            Text(clean(p["name"])), "yes" if p["used"] else "no", f"{p['load']} / {cap}", util, Text(clean(shown))
        )
    if doc["proxies"]:
        console.print(t)
    for title, items in lines(doc, most):
        if items:
            console.print(Text(f"{title}:", style="bold"))
            for line in items:
                console.print(Text("  " + clean(line, keep_newlines=False)))
    for w in doc["warnings"]:
        console.print(Text(clean(f"warning: {w}", keep_newlines=False)))
    return buf.getvalue()
