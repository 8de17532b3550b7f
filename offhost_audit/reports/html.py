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
import re
from typing import Any

import jinja2
from markupsafe import Markup

from offhost_audit.text import clean

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
    "advice",  # an unknown's own remediation: how to get the fact (the rules' fixes travel once per rule)
)
DETAILED = ("fail", "unknown", "waived")  # findings whose evidence travels in the page (passes: see the JSON report)
# A JSON escape: an escaped backslash (kept), or a C0 control that JSON escaped (\u001b, \b, \f, \r).
# Scanning from each backslash and consuming an escaped backslash whole keeps the parity right: in
# the JSON text  \\u001b  is a backslash and "u001b", not a control character.
_ESCAPE = re.compile(r"\\(?:(\\)|u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F])|[bfr])")


def _no_c0(m: re.Match[str]) -> str:
    return "\\\\" if m.group(1) else "\ufffd"


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


def _rows(findings: list[dict[str, Any]]) -> list[list[Any]]:
    out = []
    for f in findings:
        s = f.get("subject") or {}
        w = f.get("waiver")
        wtext = (w.get("note") or f"{w.get('id')}: {w.get('justification')} (until {w.get('expires')})") if w else ""
        detailed = f["status"] in DETAILED
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
                wtext,
                (w or {}).get("status") or f["status"],
                f.get("missing") or None,
                f.get("remediation") if f["status"] == "unknown" else None,
            ]
        )
    return out


def trend_chart(points: list[dict[str, Any]], width: int = 640, height: int = 160) -> dict[str, Any]:
    """Polylines (SVG coordinates) for fail / unknown / waived per run, oldest left."""
    series = ("fail", "unknown", "waived")
    top = max([1] + [p.get(s, 0) for p in points for s in series])
    n = len(points)
    pad = 30

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: int) -> float:
        return height - pad - (height - 2 * pad) * (v / top)

    lines = {s: " ".join(f"{x(i):.1f},{y(p.get(s, 0)):.1f}" for i, p in enumerate(points)) for s in series}
    dots = [
        {
            "x": round(x(i), 1),
            "label": f"run {p['id']} {p['started_at']}: {p.get('fail', 0)} fail, "
            f"{p.get('unknown', 0)} unknown, {p.get('waived', 0)} waived",
            "y": {s: round(y(p.get(s, 0)), 1) for s in series},
        }
        for i, p in enumerate(points)
    ]
    return {
        "width": width,
        "height": height,
        "top": top,
        "pad": pad,
        "lines": lines,
        "dots": dots,
        "series": series,
        "y_top": round(y(top), 1),
        "y_zero": round(y(0), 1),
    }


def extra(ctx: dict[str, Any], env: jinja2.Environment) -> dict[str, Any]:
    css = env.get_template("report.css.j2").render(**ctx)
    js = env.get_template("report.js.j2").render(**ctx)
    rules = {
        r["rule_id"]: {
            "title": r["title"],
            "severity": r["severity"],
            "remediation": r["remediation"],
            "doc_url": r["doc_url"] if str(r["doc_url"]).startswith(("https://", "http://")) else "",
        }
        for r in ctx["rules"]
    }
    data = {"columns": COLUMNS, "rows": _rows(ctx["findings"]), "rules": rules}
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
    }
