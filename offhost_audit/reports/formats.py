"""Jinja filters shared by the templates, and the context extras of the text formats (md, csv, json).

Filters: ``clean`` (control characters out, ``offhost_audit.text.clean``), ``oneline`` (also no
newlines), ``md`` (one Markdown table cell / inline text: cleaned, markup characters escaped, ``<``
as ``&lt;`` so wikis never see host HTML), ``subject``, ``real_status``, ``status`` (a status as
people read it: ``not applicable``), ``reflow`` (cleaned, hard-wrapped lines joined).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import jinja2

from offhost_audit.findings import status_label
from offhost_audit.store.diff import finding_key
from offhost_audit.text import clean, reflow

MARKDOWN_CAP = 1024 * 1024 - 4096  # GitHub job summaries take 1 MiB: keep a margin
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#|!~])")
CSV_FIELDS = (
    "rule_id",
    "title",
    "severity",
    "status",
    "real_status",
    "subject_kind",
    "subject",
    "proxy",
    "host",
    "cluster",
    "csv",
    "share",
    "server",
    "vm",
    "message",
    "waiver_id",
    "waiver_state",
    "doc_url",
    "change",
    "remediation",
)


def oneline(value: Any) -> str:
    return clean("" if value is None else value, keep_newlines=False)


def md(value: Any) -> str:
    text = _MD_SPECIAL.sub(r"\\\1", oneline(value))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def subject_name(f: dict[str, Any]) -> str:
    return str((f.get("subject") or {}).get("name", ""))


def real_status(f: dict[str, Any]) -> str:
    """The status under a waiver (what the host really has)."""
    w = f.get("waiver") or {}
    return str(w.get("status") or f.get("status"))


def install(env: jinja2.Environment) -> None:
    env.filters.update(
        clean=lambda v: clean("" if v is None else v),
        oneline=oneline,
        md=md,
        subject=subject_name,
        real_status=real_status,
        status=status_label,
        reflow=lambda v: reflow(clean("" if v is None else v)),
    )
    env.globals.update(real_status=real_status)


def markdown_extra(ctx: dict[str, Any], env: jinja2.Environment, limit: int | None = None) -> dict[str, Any]:
    """The rows the Markdown lists: failures, unknowns, waived; as many as fit under the cap by an
    estimate of each row's size (render_text trims further if the estimate was short)."""
    listed = [f for f in ctx["findings"] if f["status"] in ("fail", "unknown", "waived")]
    if limit is None:
        budget, limit = MARKDOWN_CAP * 0.9 - 16_000, 0  # what is not the list: summary, proxies, diff, fixes
        for f in listed:
            budget -= 48 + len(f.get("message") or "") * 1.1 + len((f.get("subject") or {}).get("name") or "") * 1.1
            if budget < 0:
                break
            limit += 1
    shown = listed[:limit]
    return {"listed": shown, "omitted": len(listed) - len(shown), "cap": MARKDOWN_CAP}


# What a spreadsheet reads as a formula (OWASP "CSV injection"): = + - @ (and their full-width
# forms, which Excel and LibreOffice also accept) after any leading whitespace, or a cell that starts
# with TAB or CR. Such a cell gets a leading apostrophe: shown as text, never run.
_FORMULA = re.compile(r"^(?:[\t\r]|[\s\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20])")


_SIGNS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")


def _cell(value: Any) -> Any:
    """A CSV cell that is never a formula when opened in a spreadsheet."""
    if isinstance(value, str) and value and (value[0] in _SIGNS or value[0].isspace()) and _FORMULA.match(value):
        return "'" + value
    return value


def csv_extra(ctx: dict[str, Any], env: jinja2.Environment) -> dict[str, Any]:
    """One row per finding, UTF-8 with a byte-order mark (Excel on Windows reads the file as UTF-8
    only with one). Control characters are replaced in one pass over the whole text (a cell with a
    line break is quoted, as CSV allows); no cell can start a formula (``_cell``: every cell that
    holds text from a host or a policy; the others are names of our own)."""
    change = ctx["change_of"]
    texts: dict[str, Any] = {}  # titles and remediations repeat: reflowed and checked once each

    def text(value: Any, *, flow: bool = False) -> Any:
        if value is None:
            return None
        out = texts.get(value)
        if out is None:
            out = texts[value] = _cell(reflow(value) if flow else value)
        return out

    def rows() -> Any:
        for f in ctx["findings"]:
            s = f.get("subject") or {}
            wv = f.get("waiver") or {}
            st = f.get("status")
            yield (
                f.get("rule_id"),
                text(f.get("title")),
                f.get("severity"),
                st,
                wv.get("status") or st,
                s.get("kind"),
                _cell(s.get("name")),
                _cell(s.get("proxy")),
                _cell(s.get("host")),
                _cell(s.get("cluster")),
                _cell(s.get("csv")),
                _cell(s.get("share")),
                _cell(s.get("server")),
                _cell(s.get("vm")),
                _cell(f.get("message")),
                _cell(wv.get("id")),
                wv.get("state"),
                f.get("doc_url"),
                change.get(finding_key(f), "") if change else "",
                text(f.get("remediation") or "", flow=True),
            )

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # quotes a cell with a CR or LF; clean() then makes every line end LF
    w.writerow(CSV_FIELDS)
    w.writerows(rows())
    return {"csv_text": "\ufeff" + clean(buf.getvalue()), "csv_fields": CSV_FIELDS}


def json_extra(ctx: dict[str, Any], env: jinja2.Environment) -> dict[str, Any]:
    from offhost_audit.reports.findings_json import to_json

    return {"findings_json": to_json(ctx["findings"])}
