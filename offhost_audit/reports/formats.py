"""Jinja filters shared by the templates, and the context extras of the text formats (md, csv, json).

Filters: ``clean`` (control characters out, ``offhost_audit.text.clean``), ``oneline`` (also no
newlines), ``md`` (one Markdown table cell / inline text: cleaned, markup characters escaped, ``<``
as ``&lt;`` so wikis never see host HTML), ``subject``, ``status_label``.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import jinja2

from offhost_audit.text import clean

MARKDOWN_CAP = 1024 * 1024 - 4096  # GitHub job summaries take 1 MiB: keep a margin
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#|!~])")
CSV_FIELDS = ("rule_id", "title", "severity", "status", "real_status", "subject_kind", "subject", "proxy", "host",
              "cluster", "csv", "share", "server", "vm", "message", "waiver_id", "waiver_state", "doc_url")
_SUBJECT_FIELDS = ("proxy", "host", "cluster", "csv", "share", "server", "vm")


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
    env.filters.update(clean=lambda v: clean("" if v is None else v), oneline=oneline, md=md,
                       subject=subject_name, real_status=real_status)
    env.globals.update(real_status=real_status)


def markdown_extra(ctx: dict[str, Any], env: jinja2.Environment, limit: int | None = None) -> dict[str, Any]:
    listed = [f for f in ctx["findings"] if f["status"] in ("fail", "unknown", "waived")]
    shown = listed if limit is None else listed[:limit]
    return {"listed": shown, "omitted": len(listed) - len(shown), "cap": MARKDOWN_CAP}


def _cell(value: Any) -> str:
    """A CSV cell: cleaned, and never a formula when opened in a spreadsheet."""
    text = oneline(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_extra(ctx: dict[str, Any], env: jinja2.Environment) -> dict[str, Any]:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for f in ctx["findings"]:
        s = f.get("subject") or {}
        wv = f.get("waiver") or {}
        w.writerow([_cell(v) for v in (
            f.get("rule_id"), f.get("title"), f.get("severity"), f.get("status"), real_status(f), s.get("kind"),
            s.get("name"), *(s.get(k) for k in _SUBJECT_FIELDS), f.get("message"), wv.get("id"), wv.get("state"),
            f.get("doc_url"))])
    return {"csv_text": buf.getvalue(), "csv_fields": CSV_FIELDS}


def json_extra(ctx: dict[str, Any], env: jinja2.Environment) -> dict[str, Any]:
    from offhost_audit.reports.console import to_json

    return {"findings_json": to_json(ctx["findings"])}
