"""CLI pieces for scheduled audits: run history, waivers and report options, and the `report`,
`history`, `diff` and `waivers lint` commands. Parse and call the core; cli.py wires these in.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offhost_audit import cli_options
from offhost_audit.errors import EXIT_NOT_STORED, EXIT_OK, InputError
from offhost_audit.findings import verdicts
from offhost_audit.store.history_errors import HistoryError
from offhost_audit.text import clean


def _formats(text: str) -> list[str]:
    """--report-formats / -f: checked while parsing, before any work."""
    from offhost_audit.reports.render import parse_formats  # jinja2: not on a lean `evaluate` (tests/test_startup.py)

    try:
        return parse_formats(text)
    except InputError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


MAX_NUMBER = 2**63 - 1  # SQLite's INTEGER: run ids and counts beyond it are refused, never an overflow
DEFAULT_KEEP = 30  # timestamped copies per format (DECISIONS.md)


def integer(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number from low to high (a usage error otherwise, exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


def _number(low: int, what: str) -> Callable[[str], int]:
    """A whole number from ``low`` to 2**63-1: run ids and counts that SQLite can hold."""
    return integer(low, MAX_NUMBER, f"{what} from {low} to {MAX_NUMBER}")


def _folder(text: str) -> str:
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such folder")
    return text


def add_run_options(p: argparse.ArgumentParser, *, quiet: bool = False) -> None:
    """History, waivers and report options of `evaluate` and `audit`."""
    g = p.add_argument_group("history, waivers and reports")
    _add_db_option(g)
    g.add_argument("--no-history", action="store_true", help="do not store this run in the history")
    g.add_argument(
        "--keep-runs",
        type=_number(1, "a number of runs"),
        metavar="N",
        help="after storing, keep only the newest N runs",
    )
    g.add_argument(
        "--waivers",
        metavar="FILE",
        help="waivers YAML (default for audit: waivers.yaml beside the inventory, if there)",
    )
    g.add_argument("--no-waivers", action="store_true", help="apply no waivers")
    g.add_argument("--report", metavar="DIR", help="also write report files into DIR (latest.* and timestamped copies)")
    # a list default: argparse would run _formats on a text default, importing the renderer (jinja2,
    # ~0.2 s) on every evaluate
    g.add_argument(
        "--report-formats",
        "-F",
        type=_formats,
        default=["html", "md", "junit", "sarif", "csv", "json"],
        metavar="LIST",
        help="with --report: comma-separated formats (html,md,junit,sarif,csv,json or all; default: all)",
    )
    _add_render_options(g)
    if quiet:
        cli_options.add_quiet(g, "no table (for cron: errors only; --format json still prints); the exit code tells")


def _add_db_option(p: Any) -> None:
    p.add_argument(
        "--db", metavar="FILE", help="history database (default: history.sqlite in the user's data directory)"
    )


def _add_render_options(p: Any) -> None:
    p.add_argument(
        "--template-dir", type=_folder, metavar="DIR", help="templates that override the shipped ones (same file names)"
    )
    p.add_argument(
        "--keep",
        type=_number(1, "a number of copies"),
        metavar="N",
        help=f"keep only the newest N timestamped copies of each report format that this tool recorded in "
        f"the history (default: {DEFAULT_KEEP}; other files in the folder are never removed)",
    )


def add_commands(sub: Any) -> None:
    p = sub.add_parser("report", help="render a stored run as report files (html, md, junit, sarif, csv, json)")
    p.add_argument("run", nargs="?", type=run_id, metavar="RUN", help="run id (default: the latest; see `history`)")
    p.add_argument(
        "-f",
        "--formats",
        "-F",
        "--report-formats",  # evaluate's and audit's spelling works here too
        dest="formats",
        type=_formats,
        default="html,md,junit,sarif,csv,json",
        metavar="LIST",
        help="comma-separated formats: html,md,junit,sarif,csv,json or all (default: all); "
        "-F/--report-formats as on evaluate and audit",
    )
    p.add_argument("-o", "--output", dest="outdir", required=True, metavar="DIR", help="folder for the report files")
    _add_db_option(p)
    _add_render_options(p)
    cli_options.add_fail_on(p, "the run has a failure")
    cli_options.add_accept_unknown(p)
    cli_options.add_quiet(p, "print nothing but errors")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("history", help="list the stored runs")
    _add_db_option(p)
    p.add_argument(
        "--limit",
        type=_number(0, "a number of runs"),
        default=20,
        metavar="N",
        help="newest N runs (default: 20; 0 = all)",
    )
    cli_options.add_format(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser(
        "diff",
        help="what changed between two stored runs (default: the latest and the previous run of the same estate)",
    )
    p.add_argument(
        "run_a",
        nargs="?",
        type=run_id,
        metavar="RUN_A",
        help="with RUN_B: compare RUN_A -> RUN_B; alone: compare the previous run of its estate -> RUN_A",
    )
    p.add_argument("run_b", nargs="?", type=run_id, metavar="RUN_B", help="the run to compare RUN_A with")
    _add_db_option(p)
    cli_options.add_format(p)
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("waivers", help="waivers file tools")
    w = p.add_subparsers(dest="waivers_command", metavar="WAIVERS_COMMAND", required=True)
    q = w.add_parser(
        "lint",
        help="check a waivers file, every problem one line (exit 2: an invalid entry, an unknown rule id or a subject "
        "matching anything; 1: expired, unparseable or too distant dates; 0: clean)",
    )
    q.add_argument("file", metavar="FILE")
    q.set_defaults(func=cmd_waivers_lint)


def run_id(text: str) -> int:
    """A run id on the command line: 1 to 2**63-1 (`history` lists them)."""
    return int(_number(1, "a run id")(text))


def check_run_options(args: argparse.Namespace) -> None:
    """Before any work: option combinations that cannot do what they say."""
    if getattr(args, "no_history", False) and getattr(args, "keep", None) is not None:
        raise InputError(
            "--keep removes only the report copies recorded in the history database; it cannot be used "
            "with --no-history"
        )


def _warn(text: str) -> None:
    """A warning that --quiet does not silence (the run's result is kept, but something was not)."""
    print(f"offhost-audit: warning: {clean(text, keep_newlines=False)}", file=sys.stderr)


def _say(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(f"offhost-audit: {clean(text, keep_newlines=False)}", file=sys.stderr)


def waivers_path(args: argparse.Namespace) -> str | None:
    if getattr(args, "no_waivers", False):
        return None
    if args.waivers:
        return args.waivers
    inv = getattr(args, "inventory", None)
    if inv:
        beside = Path(inv).parent / "waivers.yaml"
        if beside.is_file():
            return str(beside)
    return None


def record(args: argparse.Namespace, result: Any) -> int:
    """After ``audit.run``: say what the history and the waivers said, write --report files; the
    history's exit code: 0, or EXIT_NOT_STORED (6) with a warning when the history could not take
    the run or the report copies (the findings and reports are still written)."""
    run, code = result.run, result.stored
    if code == EXIT_NOT_STORED:
        _warn(f"this run was not stored in the history: {result.history_error}")
    elif result.history_error is not None and args.report:
        _warn(f"the reports leave out the change since the previous run: {result.history_error}")
    for note in _waiver_notes(run.meta.get("waivers") or {}):
        _say(args, f"warning: {note}")
    if args.report and not _render(args, result):
        code = EXIT_NOT_STORED
    return code if code == EXIT_NOT_STORED else EXIT_OK


def say_reuse(args: argparse.Namespace, result: Any) -> None:
    """After the findings are out: how many parts were evaluated and re-used (not before, so that an
    output error stays the one line a failing run prints); only when something was re-used, the
    history could not be read, or with --debug: a run that re-used nothing has nothing to say."""
    parts = result.parts
    if parts is not None and (parts.reused or parts.error is not None or getattr(args, "debug", False)):
        _say(args, reuse_line(parts, cpu=getattr(args, "debug", False)))


def reuse_line(parts: Any, *, cpu: bool = False) -> str:
    """The run's re-use of unchanged parts in one line (engine/reuse.py); ``cpu`` (--debug): the
    evaluation's CPU time too."""
    n, reused = len(parts.keys), parts.reused
    text = f"evaluated {n - reused:,} of {n:,} part(s) in {parts.seconds:.2f} s"
    if cpu:
        text += f" ({parts.cpu_seconds:.2f} s CPU in this process)"
    if reused:
        text += f"; re-used the findings of {reused:,} unchanged part(s) from run {parts.from_run}"
    if parts.error is not None:
        text += f" (the history could not be read, so nothing was re-used: {parts.error})"
    return text


def _waiver_notes(summary: dict[str, Any], most: int = 20) -> list[str]:
    """The waivers summary as warning lines: at most ``most`` of each kind (20,000 waivers must not
    mean 20,000 lines on stderr), then how many more; the HTML and Markdown reports list them all."""
    kinds = [
        (list(summary.get("problems") or []), "problem(s) in the waivers file"),
        (
            [
                f"waiver {w['id']} ({w['rule_id']} {w['subject']}) expired {w['expires']}: its findings count again"
                for w in summary.get("expired") or []
            ],
            "expired waiver(s) matching findings",
        ),
        (
            [
                f"waiver {w['id']} ({w['rule_id']} {w['subject']}) matches no finding"
                for w in summary.get("unmatched") or []
            ],
            "waiver(s) matching no finding",
        ),
    ]
    notes: list[str] = []
    for lines, what in kinds:
        notes += lines[:most]
        if len(lines) > most:
            notes.append(f"... and {len(lines) - most:,} more {what} (the HTML report lists them all)")
    return notes


def _render(args: argparse.Namespace, result: Any) -> bool:
    """--report: with a stored run, the previous run and trend of its estate and the copies recorded
    for --keep; without one (--no-history, or a history that failed), neither. Whether the history
    took the copies (a failure is a warning: the reports are written anyway)."""
    from offhost_audit.store.history import History  # sqlite3: not on a lean `evaluate` (tests/test_startup.py)

    run, outdir, names = result.run, args.report, args.report_formats
    context = {"previous": result.previous, "trend": result.trend}
    if run.id is not None:
        try:
            with History(args.db, create=False) as h:
                paths, recorded = _render_stored(args, h, run, outdir, names, context)
        except HistoryError as e:  # the history went away between storing and rendering
            _warn(f"the reports leave out the history (previous run, trend, --keep): {e}")
            paths, recorded = _render_with(args, run, outdir, names), False
    else:
        paths, recorded = _render_with(args, run, outdir, names), True
    _say(args, f"reports written: {', '.join(str(p) for p in paths if p.name.startswith('latest.'))}")
    return recorded


def _render_with(args: argparse.Namespace, run: Any, outdir: str, names: list[str], **kw: Any) -> Any:
    from offhost_audit.reports.render import render  # jinja2: as in _formats

    return render(
        run,
        names,
        outdir,
        fail_on=args.fail_on,
        accept_unknown=args.accept_unknown,
        template_dir=args.template_dir,
        **kw,
    )


def _render_stored(
    args: argparse.Namespace, h: Any, run: Any, outdir: str, names: list[str], context: dict[str, Any]
) -> tuple[list[Path], bool]:
    """Render a stored run with ``context`` (its estate's previous run and trend), recording the
    copies for --keep (default 30). A history that fails here is a warning; (the paths, whether the
    copies were recorded)."""
    from offhost_audit.reports.render import latest_names  # jinja2: as in _formats

    try:
        return _render_with(args, run, outdir, names, **context, keep=args.keep or DEFAULT_KEEP, manifest=h), True
    except HistoryError as e:  # raised after the files were written: only the manifest failed
        _warn(f"the reports were written but not recorded for --keep (no old copy was removed): {e}")
        return [Path(outdir) / n for n in latest_names(names)], False


def cmd_report(args: argparse.Namespace) -> int:
    # the engine and sqlite3: not on `--help` or a lean `evaluate` (tests/test_startup.py), nor below
    from offhost_audit import audit
    from offhost_audit.store.history import History

    with History(args.db, create=False) as h:
        run = h.load(args.run)
        assert run.id is not None  # a stored run
        try:
            previous, trend = audit.previous_runs(h, run.id)
            context = {"previous": previous, "trend": trend}
        except HistoryError as e:
            _warn(f"the reports leave out the change since the previous run: {e}")
            context = {}
        paths, _ = _render_stored(args, h, run, args.outdir, args.formats, context)
    _say(args, f"run {run.id}: reports written: {', '.join(str(p) for p in paths if p.name.startswith('latest.'))}")
    return verdicts.exit_code(run.findings, args.fail_on, accept_unknown=args.accept_unknown)


def cmd_history(args: argparse.Namespace) -> int:
    from offhost_audit.reports import console  # rich: not on `evaluate --format json` (tests/test_startup.py)
    from offhost_audit.store.history import History, default_db_path

    path = Path(args.db) if args.db else default_db_path()
    if not path.exists():  # a reading command never creates the database
        print("[]" if args.format == "json" else clean(f"no runs: no history database at {path} yet"))
        return 0
    with History(path, create=False) as h:
        runs = h.runs(limit=args.limit or None)
    if args.format == "json":
        sys.stdout.write(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "started_at": r.started_at,
                        "estate": r.meta.get("estate"),
                        "counts": r.counts,
                        **{k: r.meta.get(k) for k in ("profile", "engine", "inventory", "facts_file", "reuse")},
                        "targets": len(r.meta.get("targets") or []),
                    }
                    for r in runs
                ],
                indent=2,
            )
            + "\n"
        )
        return 0
    if not runs:
        print(clean(f"no runs in {h.path}"))
        return 0
    console.print_history(runs)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from offhost_audit.reports import console
    from offhost_audit.store.diff import diff_runs  # dataclasses: not on a lean `evaluate` (tests/test_startup.py)
    from offhost_audit.store.history import History

    if args.run_a is not None and args.run_a == args.run_b:
        raise InputError(f"diff {args.run_a} {args.run_b}: that is the same run twice; give two different runs")
    with History(args.db, create=False) as h:
        if args.run_b is not None:  # exactly these two, in this order
            old, new = h.load(args.run_a, facts=False), h.load(args.run_b, facts=False)
        else:  # RUN_A (or the latest) against the previous run of its estate
            new = h.load(args.run_a, facts=False)
            assert new.id is not None  # a stored run
            earlier = h.previous(new.id)
            if earlier is None:
                where = h.estate(new.id) or "no inventory or facts file recorded"
                raise InputError(
                    f"{h.path}: run {new.id} has no earlier run of the same estate ({where}) to compare with; "
                    "give two run ids (`offhost-audit history` lists them)"
                )
            old = earlier
    d = diff_runs(old, new)
    if args.format == "json":
        sys.stdout.write(json.dumps(d.as_dict(), indent=2) + "\n")  # ASCII: no control character reaches a terminal
        return 0
    console.print_diff(old, new, d)
    return 0


def cmd_waivers_lint(args: argparse.Namespace) -> int:
    from offhost_audit.engine import embedded  # regorus: not on `--help` (tests/test_startup.py)
    from offhost_audit.store import waivers  # YAML: not on a lean `evaluate` (tests/test_startup.py)

    result = waivers.lint(args.file, rules=embedded.compiled().metadata)  # the policies' rule ids
    for p in result.problems:
        print(clean(p.text, keep_newlines=False))
    print(clean(f"{args.file}: {result.count} waiver(s), {len(result.problems)} problem(s)"), file=sys.stderr)
    return result.exit_code
