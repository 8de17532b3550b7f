"""Rendering a run into report files: Jinja2 templates, written atomically, ``latest.*`` plus copies.

API (the CLI's ``report``/``--report`` and the TUI's export call this)::

    render(run, formats, outdir, *, previous=None, trend=None, fail_on=None, template_dir=None,
           keep=None, manifest=None, stamp=True) -> list[Path]

``run``/``previous``: ``history.Run``; ``trend``: ``History.runs()`` summaries for the trend chart;
``formats``: names from ``FORMATS`` (html, md, junit, sarif, csv, json). Each format's template is
``templates/<name>`` shipped as package data; a file of the same name in ``template_dir`` overrides it.
HTML and XML templates autoescape. Every file goes to ``outdir/latest.<ext>`` and, with ``stamp``, to
``outdir/offhost-audit-<UTC time>-run<id>-<random>.<ext>``, written through ``folder.ReportFolder``
(never through a link planted in the folder). ``manifest`` (an open ``history.History``) records the
stamped copies; ``keep`` then removes the recorded copies of each format beyond the newest N, and
only those. Returns the paths written (latest first per format).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2

from offhost_audit.errors import InputError
from offhost_audit.perf import paused_gc
from offhost_audit.reports import context as ctx_mod
from offhost_audit.reports.folder import ReportFolder, unique_name

TEMPLATES = Path(__file__).resolve().parent / "templates"

# format -> (template, file extension)
FORMATS: dict[str, tuple[str, str]] = {
    "html": ("report.html.j2", "html"),
    "md": ("report.md.j2", "md"),
    "junit": ("junit.xml.j2", "junit.xml"),
    "sarif": ("sarif.json.j2", "sarif"),
    "csv": ("findings.csv.j2", "csv"),
    "json": ("findings.json.j2", "json"),
}


def parse_formats(text: str) -> list[str]:
    """``"html,md"`` -> ["html", "md"]; ``all`` -> every format. InputError for an unknown name."""
    names = [n.strip().lower() for n in str(text).split(",") if n.strip()]
    if names == ["all"]:
        return list(FORMATS)
    bad = [n for n in names if n not in FORMATS]
    if bad or not names:
        raise InputError(
            f"unknown report format(s) {', '.join(bad) or '(none)'}: choose from {', '.join(FORMATS)} or all"
        )
    return list(dict.fromkeys(names))


def environment(template_dir: str | os.PathLike[str] | None = None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if template_dir:
        if not Path(template_dir).is_dir():
            raise InputError(f"{template_dir}: no such folder (--template-dir)")
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATES)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=lambda name: name is not None and name.endswith((".html.j2", ".xml.j2", ".svg.j2")),
        undefined=jinja2.ChainableUndefined,  # runs from older versions may lack a meta key
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    from offhost_audit.reports import formats

    formats.install(env)
    return env


def _builders() -> dict[str, Callable[[dict[str, Any], jinja2.Environment], dict[str, Any]]]:
    from offhost_audit.reports import formats, html, junit, sarif

    return {
        "html": html.extra,
        "md": formats.markdown_extra,
        "junit": junit.extra,
        "sarif": sarif.extra,
        "csv": formats.csv_extra,
        "json": formats.json_extra,
    }


def render_text(fmt: str, ctx: dict[str, Any], env: jinja2.Environment) -> str:
    """One format as text (no file written)."""
    with paused_gc():
        return _render_text(fmt, ctx, env)


def _render_text(fmt: str, ctx: dict[str, Any], env: jinja2.Environment) -> str:
    template, _ = FORMATS[fmt]
    extra = _builders()[fmt](ctx, env)
    try:
        text = env.get_template(template).render(**ctx, **extra)
        if fmt == "md":  # under the cap: fewer rows until it fits (passes are only counted anyway)
            from offhost_audit.reports.formats import MARKDOWN_CAP, markdown_extra

            while len(text.encode("utf-8")) > MARKDOWN_CAP and extra["listed"]:
                size = len(text.encode("utf-8"))
                limit = int(len(extra["listed"]) * MARKDOWN_CAP / size * 0.95)
                extra = markdown_extra(ctx, env, limit=min(limit, len(extra["listed"]) - 1))
                text = env.get_template(template).render(**ctx, **extra)
        return text
    except jinja2.TemplateError as e:
        where = f"{getattr(e, 'filename', None) or template}:{getattr(e, 'lineno', None) or '?'}"
        raise InputError(f"{where}: report template error: {e}") from None


def fix_link(run: Any, outdir: Path) -> str | None:
    """``fix-<run id>/README.md`` when `offhost-audit fix <run id> -o <report folder>/fix-<run id>`
    wrote that folder beside the reports (the HTML report links it), else None (it shows the command)."""
    if run.id is None:
        return None
    name = f"fix-{int(run.id)}"
    return f"{name}/README.md" if (outdir / name / "README.md").is_file() else None


def render(
    run: Any,
    formats: list[str],
    outdir: str | os.PathLike[str],
    *,
    previous: Any = None,
    trend: list[Any] | None = None,
    fail_on: str | None = None,
    accept_unknown: bool = False,
    template_dir: str | os.PathLike[str] | None = None,
    keep: int | None = None,
    manifest: Any = None,
    stamp: bool = True,
    diff: Any = None,
) -> list[Path]:
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: not a folder (report output)")
    if keep is not None and (keep < 1 or manifest is None):
        raise InputError(f"--keep must be 1 or more, not {keep}" if keep < 1 else "--keep needs the history database")
    env = environment(template_dir)
    with paused_gc():
        ctx = ctx_mod.build(
            run, previous=previous, trend=trend, fail_on=fail_on, accept_unknown=accept_unknown, diff=diff
        )
    ctx["fix_link"] = fix_link(run, out)
    when = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    written: list[Path] = []
    copies: list[tuple[str, str, int | None, str]] = []
    with ReportFolder(out) as folder:
        for fmt in formats:
            _, ext = FORMATS[fmt]
            text = render_text(fmt, ctx, env)
            folder.write(f"latest.{ext}", text)
            written.append(out / f"latest.{ext}")
            if stamp:
                name = unique_name(f"offhost-audit-{when}-run{run.id if run.id is not None else 'unsaved'}", ext)
                copies.append((name, fmt, run.id, folder.write(name, text)))
                written.append(out / name)
        if manifest is not None and copies:
            manifest.add_report_files(folder.key, copies)
        if manifest is not None and keep is not None:
            for fmt in formats:
                old = manifest.report_files_beyond(folder.key, fmt, keep)
                for entry in old:
                    folder.remove(entry.name, entry.identity)  # gone or not ours any more: forgotten either way
                manifest.forget_report_files([entry.id for entry in old])
    return written


def latest_names(formats: list[str]) -> list[str]:
    """The ``latest.*`` file names the given formats write (the CLI checks them against its inputs)."""
    return [f"latest.{FORMATS[fmt][1]}" for fmt in formats]
