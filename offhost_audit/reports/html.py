"""The HTML report's extras: the findings as a JSON island, the CSP hashes, the trend chart geometry.

The page is one self-contained file: inline CSS (``report.css.j2``) and JS (``report.js.j2``) allowed
by their SHA-256 hashes under ``default-src 'none'``, so it makes no request at all and runs nothing
else. Findings are not HTML rows: they travel as one ``<script type="application/json">`` document
that the script draws a window at a time (50,000 rows as ``<tr>`` took 7-12 s to open). Inside the
island ``<``, ``>``, ``&`` and U+2028/2029 are JSON escapes, so a share called ``</script>`` cannot end
it; the script writes host text with ``textContent`` only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from typing import Any

import jinja2
from markupsafe import Markup

from offhost_audit.findings import SEVERITIES, STATUSES, waiver_text
from offhost_audit.reports import plan_view
from offhost_audit.text import clean, reflow

COLUMNS = (
    "status",
    "severity",
    "rule_id",
    "subject",
    "kind",
    "proxy",
    "message",
    "evidence",
    "waiver",
    "real_status",
    "missing",
    "objects",  # the subject's other names (host, cluster, CSV, share, server, VM), "\n"-joined: host:NAME
    "remediation",  # the finding's own text when it differs from its rule's (names substituted), else null
)
_OBJECTS = ("host", "cluster", "csv", "share", "server", "vm")
DETAILED = ("fail", "unknown", "waived")  # findings whose evidence travels in the page (passes: see the JSON report)
# A JSON escape: an escaped backslash (kept), a CR or CRLF (a line break: \n), or a C0 control that
# JSON escaped (\u001b, \b, \f). Scanning from each backslash and consuming an escaped backslash
# whole keeps the parity right: in the JSON text  \\u001b  is a backslash and "u001b", not a control.
_ESCAPE = re.compile(r"\\(?:(\\)|(r(?:\\n)?)|u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F])|[bf])")


def _no_c0(m: re.Match[str]) -> str:
    if m.group(1):
        return "\\\\"
    return "\\n" if m.group(2) else "\ufffd"


def island(doc: Any) -> Markup:
    """JSON that is safe inside a <script> element, with host control characters replaced.

    One pass over the whole text instead of one per string (50,000 findings): raw C1/DEL/bidi
    characters through ``text.clean``, JSON-escaped C0 controls by regex, then ``<``, ``>``, ``&``
    as JSON escapes so that nothing inside can close the element.
    """
    text = clean(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
    text = _ESCAPE.sub(_no_c0, text)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _rows(findings: list[dict[str, Any]], rules: dict[str, dict[str, Any]]) -> list[list[Any]]:
    out = []
    for f in findings:
        s = f.get("subject") or {}
        w = f.get("waiver")
        detailed = f["status"] in DETAILED
        rem = f.get("remediation") or ""
        rule_rem = rules.get(f["rule_id"], {}).get("raw")
        out.append(
            [
                f["status"],
                f.get("severity", ""),
                f["rule_id"],
                s.get("name", ""),
                s.get("kind", ""),
                s.get("proxy") or "",
                f.get("message", ""),
                f.get("evidence") if detailed else None,
                (w.get("note") or waiver_text(w)) if w else "",
                (w or {}).get("status") or f["status"],
                f.get("missing") or None,
                "\n".join(str(s[k]) for k in _OBJECTS if s.get(k)),
                reflow(rem) if detailed and rem != rule_rem else None,
            ]
        )
    return out


def trend_chart(points: list[dict[str, Any]], width: int = 640, height: int = 180) -> dict[str, Any]:
    """Polylines (SVG coordinates) for fail / unknown / waived per run, oldest left, and the run dates
    under the time axis."""
    series = ("fail", "unknown", "waived")
    top = max([1] + [p.get(s, 0) for p in points for s in series])
    n = len(points)
    pad, bottom = 34, 40

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: int) -> float:
        return height - bottom - (height - pad // 2 - bottom) * (v / top)

    lines = {s: " ".join(f"{x(i):.1f},{y(p.get(s, 0)):.1f}" for i, p in enumerate(points)) for s in series}
    dots = [
        {
            "x": round(x(i), 1),
            "label": f"run {p['id'] if p['id'] is not None else '(not saved)'} {p['started_at']}: {p.get('fail', 0)} fail, "
            f"{p.get('unknown', 0)} unknown, {p.get('waived', 0)} waived",
            "y": {s: round(y(p.get(s, 0)), 1) for s in series},
        }
        for i, p in enumerate(points)
    ]
    # dates under the axis: first and last always, evenly between, never closer than ~130 units (a
    # label is about 70 wide, 110 in the larger type of narrow screens)
    step = max(1, math.ceil((n - 1) / max(1, (width - 2 * pad) // 130))) if n > 1 else 1
    picks = list(range(0, n - 1, step)) + [n - 1] if n else []
    if len(picks) > 2 and x(picks[-1]) - x(picks[-2]) < 120:
        del picks[-2]
    days = [str(points[i]["started_at"])[:10] for i in picks]
    same_day = len(set(days)) < len(days)  # several runs a day: the time as well
    ticks = [
        {
            "x": round(x(i), 1),
            "label": str(points[i]["started_at"])[5:16].replace("T", " ") if same_day else days[k],
            "anchor": "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle",
        }
        for k, i in enumerate(picks)
    ]
    return {
        "width": width,
        "height": height,
        "top": top,
        "pad": pad,
        "lines": lines,
        "dots": dots,
        "ticks": ticks,
        "series": series,
        "y_top": round(y(top), 1),
        "y_zero": round(y(0), 1),
        "y_dates": height - bottom + 16,
    }


PLAN_SECONDS = 5.0  # the report's proxy plan: HiGHS's time limit (the CLI's `plan` default is 10)
PLAN_SOURCES = 20  # sources named per proxy in the plan table; the rest are counted


def plan_section(ctx: dict[str, Any]) -> dict[str, Any]:
    """The "Proxy plan" section: `offhost-audit plan` on the run as it is (no what-if)."""
    from offhost_audit import plan  # numpy and highspy load with the solver

    doc = plan.make(ctx.get("run_facts") or {}, ctx["findings"], time_limit=PLAN_SECONDS)
    used = [
        {
            **p,
            "shown": ", ".join(p["sources"][:PLAN_SOURCES])
            + (f" and {len(p['sources']) - PLAN_SOURCES:,} more" if len(p["sources"]) > PLAN_SOURCES else ""),
            "util": "-" if p["utilisation"] is None else f"{p['utilisation']:.0%}",
        }
        for p in doc["proxies"]
        if p["used"]
    ]
    return {
        "headline": plan_view.headline(doc),
        "solver": plan_view.solver_line(doc, timing=False),
        "used": used,
        "lines": plan_view.lines(doc),
        "warnings": doc["warnings"],
    }


def extra(ctx: dict[str, Any], env: jinja2.Environment) -> dict[str, Any]:
    css = env.get_template("report.css.j2").render(**ctx)
    js = env.get_template("report.js.j2").render(**ctx)
    rules = {
        r["rule_id"]: {
            "title": r["title"],
            "severity": r["severity"],
            "remediation": reflow(r["remediation"]),
            "raw": r["remediation"],
            "doc_url": r["doc_url"] if str(r["doc_url"]).startswith(("https://", "http://")) else "",
        }
        for r in ctx["rules"]
    }
    rows = _rows(ctx["findings"], rules)
    for r in rules.values():
        del r["raw"]
    data = {
        "columns": COLUMNS,
        "rows": rows,
        "rules": rules,
        "statuses": STATUSES,
        "severities": SEVERITIES,
    }
    csp = (
        f"default-src 'none'; script-src {_csp_hash(js)}; style-src {_csp_hash(css)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return {
        "css": Markup(css),
        "js": Markup(js),
        "island": island(data),
        "csp": csp,
        "chart": trend_chart(ctx["trend"]),
        "plan": plan_section(ctx),
    }
