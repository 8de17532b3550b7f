"""Command line: parse, call the core, map errors to exit codes. Nothing else lives here.

Exit codes: 0 nothing at or above --fail-on; 1 failures at or above --fail-on; 2 usage or input
error; 3 the audit could not complete; 4 internal error (a bug); 5 unknowns at or above --fail-on
(--accept-unknown: 0); 6 not stored in the history. See offhost_audit.errors.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import signal
import sys
import traceback
from typing import Any

from offhost_audit import (
    __version__,
    cli_discover,
    cli_fix,
    cli_lab,
    cli_options,
    cli_plan,
    cli_reports,
    facts as facts_doc,
    perf,
)
from offhost_audit.atomic import WRITE_ERRNOS, check_output, silence_stdout, stdout_errors, write_atomic
from offhost_audit.errors import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    AuditError,
    InputError,
    OutputError,
    combine,
)
from offhost_audit.findings import verdicts
from offhost_audit.reports import findings_json
from offhost_audit.text import clean, redact_url

# --- argument types: a bad value is a usage error (exit 2) --------------------------------------


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive, finite number of seconds, got {text!r}")
    return value


_positive_int = cli_reports.integer(1, 10_000, "a whole number 1-10000")
_port = cli_reports.integer(0, 65535, "a port 0-65535 (0: any free port)")


_OUTPUTS = {"output": "-o", "save_facts": "--save-facts", "inventory_out": "--inventory-out", "db": "--db"}
_INPUTS = ("facts", "inventory", "scenario")


def _check_outputs(args: argparse.Namespace) -> None:
    """Before any work: no output may be an input or another output, and each must be writable."""
    inputs: list[Any] = []
    for name in _INPUTS:
        value = getattr(args, name, None)
        inputs += value if isinstance(value, list) else [value]
    seen: list[str] = []
    for attr, flag in _OUTPUTS.items():
        value = getattr(args, attr, None)
        if value:
            # the history's own failures come later, in one line, without losing the run (exit 6)
            check_output(value, inputs=[*inputs, *seen], what=flag, writable=attr != "db")
            seen.append(value)
    _check_report_folder(args, [*inputs, getattr(args, "waivers", None), *seen])
    cli_reports.check_run_options(args)
    cli_options.check(args)


def _check_report_folder(args: argparse.Namespace, others: list[Any]) -> None:
    """The report folder's ``latest.*`` names may not be one of the run's inputs or outputs."""
    folder, flag = (args.report, "--report") if getattr(args, "report", None) else (getattr(args, "outdir", None), "-o")
    if not folder:
        return
    from offhost_audit.reports.render import latest_names  # jinja2: not on a lean `evaluate` (tests/test_startup.py)

    for name in latest_names(getattr(args, "report_formats", None) or getattr(args, "formats", None) or []):
        target = os.path.realpath(os.path.join(folder, name))
        for other in others:
            if other and os.path.realpath(other) == target:
                raise OutputError(
                    f"{os.path.join(folder, name)}: {flag} {folder} would replace {other}, an input or output of "
                    "this run; choose another report folder"
                )


def _add_eval_options(p: argparse.ArgumentParser) -> None:
    cli_options.add_profile(p)
    cli_options.add_fail_on(p)
    cli_options.add_accept_unknown(p)
    p.add_argument("--opa-url", metavar="URL", help="evaluate on a running OPA server instead of the embedded engine")
    cli_options.add_engine(p)
    _add_jobs_option(p)
    cli_options.add_no_reuse(p)
    cli_options.add_format(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write the output to FILE (atomically) instead of stdout")


def _jobs(text: str) -> int:
    n = int(text)
    if n < 0:
        raise ValueError(text)
    return n


_jobs.__name__ = "a number of jobs (0 or more)"  # argparse's "invalid ... value" message


def _add_jobs_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        default=0,
        metavar="N",
        help="evaluate independent parts of the estate in N processes (default 0: the usable "
        "cores; 1: one pass); small estates and ones that do not split run in one pass",
    )


def _add_collect_options(p: argparse.ArgumentParser, *, inventory_help: str | None = None) -> None:
    p.add_argument(
        "--inventory", "-i", required=inventory_help is None, metavar="FILE", help=inventory_help or "inventory YAML"
    )
    p.add_argument("--concurrency", type=_positive_int, default=16, help="targets collected at once (default: 16)")
    p.add_argument(
        "--timeout", type=_seconds, default=60.0, help="per-call wall-clock timeout in seconds (default: 60)"
    )
    p.add_argument(
        "--target-timeout", type=_seconds, default=300.0, help="per-target wall-clock timeout in seconds (default: 300)"
    )
    p.add_argument(
        "--insecure",
        action="store_true",
        help="do not validate TLS certificates (reported in the output and the facts)",
    )
    p.add_argument(
        "--no-batch",
        action="store_true",
        help="one powershell.exe per collector script (the path verified on real Windows) instead of one per "
        "host with the scripts sent on its standard input",
    )
    cli_options.add_quiet(
        p, "no progress bar; with audit, no table either (for cron: errors only; --format json still prints)"
    )


def _add_tui_options(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--facts", "-f", metavar="FILE", help="open a facts file and evaluate it")
    src.add_argument("--run", metavar="ID", help="open a run from the history (default: the latest)")
    src.add_argument("--inventory", "-i", metavar="FILE", help="collect live from the estate in an inventory")
    cli_options.add_profile(p)
    p.add_argument("--waivers", metavar="FILE", help="waivers YAML to apply and to add waivers to")
    p.add_argument("--db", metavar="FILE", help="run history database (default: the user's data dir)")
    p.add_argument("--insecure", action="store_true", help="with --inventory: do not validate TLS certificates")
    cli_options.add_engine(p)


class _ScenarioHelp(str):
    """``demo --scenario``'s help, naming the shipped scenarios; read only when help is shown
    (argparse expands a help text with ``%``): listing them at every start would import the lab."""

    def __mod__(self, params: object) -> str:
        from offhost_audit.lab.scenario import shipped

        return f"a shipped scenario ({', '.join(shipped())}) or a scenario YAML file; repeatable (default: all shipped)"


_page_size = cli_reports.integer(1, 1000, "a page size 1-1000")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="offhost-audit",
        description="Audit Veeam Hyper-V off-host backup proxies against Veeam's requirements.",
    )
    parser.add_argument("--version", action="version", version=f"offhost-audit {__version__}")
    parser.add_argument("--debug", action="store_true", help="log details (never secrets) to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("evaluate", help="evaluate a facts file against the policies")
    p.add_argument("--facts", "-f", required=True, metavar="FILE", help="facts JSON (schema/facts.schema.json)")
    _add_eval_options(p)
    cli_reports.add_run_options(p, quiet=True)
    p.set_defaults(func=_cmd_evaluate, logs=False)

    p = sub.add_parser("collect", help="collect facts from the estate in an inventory")
    _add_collect_options(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="facts JSON to write")
    p.set_defaults(func=_cmd_collect)

    p = sub.add_parser("audit", help="collect, evaluate and print findings")
    _add_collect_options(
        p,
        inventory_help="inventory YAML; with --backup-server, laid over the discovered inventory (addresses, "
        "winrm settings, credentials, extra targets)",
    )
    cli_discover.add_server_options(p, _page_size, required=False)
    _add_eval_options(p)
    p.add_argument("--save-facts", metavar="FILE", help="also write the collected facts")
    cli_reports.add_run_options(p)
    p.set_defaults(func=_cmd_audit)

    cli_reports.add_commands(sub)
    cli_fix.add_parser(sub, cli_reports.run_id)
    cli_discover.add_parser(sub, _seconds, _page_size)
    cli_plan.add_parser(sub)

    p = sub.add_parser("demo", help="start the built-in lab and audit it through the real WinRM client")
    p.add_argument("--scenario", action="append", metavar="NAME|FILE", help=_ScenarioHelp("scenario(s) to run"))
    cli_options.add_profile(p, "guidance profile")
    cli_options.add_format(p)
    p.add_argument(
        "--tui", action="store_true", help="open the TUI on one lab scenario (default: faults) and audit it live"
    )
    p.set_defaults(func=cli_lab.cmd_demo)

    p = sub.add_parser("tui", help="the interactive terminal UI: browse findings, evidence, facts; audit live")
    _add_tui_options(p)
    p.set_defaults(func=cli_lab.cmd_tui)

    p = sub.add_parser("lab", help="the built-in WS-Management lab")
    lab = p.add_subparsers(dest="lab_command", metavar="LAB_COMMAND", required=True)
    q = lab.add_parser("serve", help="serve a scenario estate over WS-Management on loopback")
    q.add_argument("--scenario", required=True, metavar="NAME|FILE")
    q.add_argument("--host", default="127.0.0.1")
    q.add_argument("--port", type=_port, default=5985, help="first port; one port per host unless --route-by-host")
    q.add_argument("--https", action="store_true", help="serve HTTPS with a generated self-signed certificate")
    q.add_argument(
        "--route-by-host", action="store_true", help="serve every host on one port, routed by the Host header"
    )
    q.add_argument("--inventory-out", metavar="FILE", help="write a matching inventory for the lab")
    q.set_defaults(func=cli_lab.cmd_lab_serve)
    q = lab.add_parser("rest", help="serve a scenario's backup server over REST (VBR 13, HTTPS) on loopback")
    q.add_argument("--scenario", required=True, metavar="NAME|FILE")
    q.add_argument("--port", type=_port, default=9419, help="the port on 127.0.0.1 (0: any free port)")
    q.set_defaults(func=cli_lab.cmd_lab_rest)

    p = sub.add_parser("policy", help="policy tools")
    pol = p.add_subparsers(dest="policy_command", metavar="POLICY_COMMAND", required=True)
    q = pol.add_parser("test", help="run the _test.rego files like `opa test` (--engine embedded or opa)")
    q.add_argument("paths", nargs="*", help="policy directories or files (default: the shipped policies)")
    q.add_argument("-v", "--verbose", action="store_true", help="list every test, not only failures")
    q.add_argument("--run", "-r", metavar="REGEX", help="run only tests whose data.pkg.test_name matches")
    q.add_argument(
        "--coverage", "-c", action="store_true", help="print a coverage report (JSON, like opa test --coverage)"
    )
    q.add_argument("--threshold", type=float, default=0.0, help="with --coverage: exit 2 below this percentage")
    cli_options.add_engine(q)
    q.set_defaults(func=_cmd_policy_test)
    return parser


# --- handlers: thin, each calls the core --------------------------------------------------------


def _cmd_evaluate(args: argparse.Namespace) -> int:
    return _audit(args, cli_options.request(args, waivers=cli_reports.waivers_path(args)))


def _audit(args: argparse.Namespace, request: Any) -> int:
    """`evaluate` and `audit`: the one audit pipeline, then the reports and the findings."""
    from offhost_audit import audit  # the engine: not for `--help` (tests/test_startup.py)

    result = audit.run(request)
    stored = cli_reports.record(args, result)
    code = _emit(result.run.findings, result.run.meta["warnings"], args, facts=result.run.facts)
    cli_reports.say_reuse(args, result)
    return combine(code, stored)


def _emit(found: list, warnings: list[str], args: argparse.Namespace, *, facts: dict | None = None) -> int:
    """Print or write the findings as --format asks; the exit code follows --fail-on and --accept-unknown."""
    if getattr(args, "quiet", False) and args.format == "table" and not args.output:
        pass  # cron: the exit code (and any report files) tell; --format json still prints JSON
    elif args.format == "json":  # streamed, and without the table renderer (rich)
        for w in warnings:
            print(f"offhost-audit: warning: {clean(w)}", file=sys.stderr)
        if args.output:
            write_atomic(args.output, findings_json.chunks(found))
        else:
            with stdout_errors():
                sys.stdout.writelines(findings_json.chunks(found))
    else:
        from offhost_audit.reports import console  # rich: not on `evaluate --format json` (tests/test_startup.py)

        opts = dict(warnings=warnings, fail_on=args.fail_on, accept_unknown=args.accept_unknown, facts=facts)
        if args.output:
            write_atomic(args.output, console.table_text(found, **opts))
        else:
            with stdout_errors():
                console.render_table(found, **opts)
    return verdicts.exit_code(found, args.fail_on, accept_unknown=args.accept_unknown)


def _cmd_policy_test(args: argparse.Namespace) -> int:
    from offhost_audit.engine import testrunner  # the engine: not for `--help` (tests/test_startup.py)

    return testrunner.run(
        args.paths,
        verbose=args.verbose,
        run=args.run,
        coverage=args.coverage,
        threshold=args.threshold,
        engine=args.engine,
    )


def _cmd_collect(args: argparse.Namespace) -> int:
    # the collectors and YAML: not on `--help` or a lean `evaluate` (tests/test_startup.py)
    from offhost_audit import collect, inventory

    inv = inventory.load(args.inventory)
    doc = collect.collect_facts(inv, **cli_options.collect_options(args)._asdict())
    facts_doc.save(args.output, doc)
    entries = doc.get("collection") or []
    for w in doc.get("warnings") or []:
        print(f"offhost-audit: warning: {clean(w)}", file=sys.stderr)
    bad = [e for e in entries if e["status"] != "ok"]
    print(
        f"offhost-audit: {len(entries) - len(bad)}/{len(entries)} collector run(s) ok; facts written to {args.output}",
        file=sys.stderr,
    )
    for e in bad[:20]:
        print(
            clean(f"  {e['target']} {e['collector']}: {e['status']}: {e.get('error') or ''}", keep_newlines=False),
            file=sys.stderr,
        )
    collect.require_some_success(doc)
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from offhost_audit import inventory  # YAML: not for a lean `evaluate` (tests/test_startup.py)

    if not args.backup_server:
        if not args.inventory:
            raise InputError("audit: give --inventory FILE, --backup-server HOST, or both")
        inv = inventory.load(args.inventory)
        return _audit(args, cli_options.request(args, inventory=inv, waivers=cli_reports.waivers_path(args)))
    from offhost_audit import discover
    from offhost_audit.inventory.credentials import Resolver

    resolver = Resolver()  # the run reads the backup server with the same account: one prompt, if any
    est = cli_discover.read_server(args, resolver)  # before anything is collected or written
    cli_discover.warn(est)
    host, port = cli_discover.backup_server_address(args.backup_server)
    inv = discover.discovered_inventory(est, server=cli_discover.server_entry(args, est), hand=args.inventory)
    request = cli_options.request(args, inventory=inv, waivers=cli_reports.waivers_path(args))
    request = request._replace(collect=request.collect._replace(resolver=resolver))
    return _audit(args, request._replace(estate=f"backup-server:{host.lower()}" + (f":{port}" if port else "")))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = _parse(parser, argv)
    except AuditError as e:  # --help or --version could not be written (> /dev/full)
        print(f"offhost-audit: {e.title}: {e}", file=sys.stderr)
        return e.exit_code
    _configure_logging(args)
    previous = _unwind_on_signals()
    try:
        _check_outputs(args)
        with contextlib.nullcontext() if _interactive(args) else perf.one_shot():
            code = args.func(args)
        _flush_stdout()
        return _after_signal(code)
    except AuditError as e:
        print(f"offhost-audit: {e.title}: {clean(redact_url(str(e)))}", file=sys.stderr)
        if args.debug:
            import logging  # not on a lean `evaluate` (tests/test_startup.py)

            logging.getLogger("offhost_audit").debug("AuditError", exc_info=True)
        return e.exit_code
    except KeyboardInterrupt:
        return _after_signal(EXIT_SIGINT, interrupted=True)
    except BrokenPipeError:
        return 0
    except OSError as e:
        if e.errno not in WRITE_ERRNOS:
            return _internal(e, args.debug)
        silence_stdout()
        print(f"offhost-audit: cannot write output: {e.strerror}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as e:  # noqa: BLE001 - anything else is a bug
        return _internal(e, args.debug)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


_SIGNAL_EXITS: dict[int, tuple[int, str]] = {
    signal.SIGINT: (EXIT_SIGINT, "interrupted (SIGINT)"),
    signal.SIGTERM: (EXIT_SIGTERM, "terminated (SIGTERM)"),
}
_signalled: list[int] = []  # the signals this command received


def _raise_for(signum: int, frame: object) -> None:
    """SIGTERM and SIGINT unwind the command like Ctrl-C: KeyboardInterrupt, which asyncio (the TUI)
    and the lab's loop let through, so every ``finally`` and ``with`` block runs (the lab stops,
    temporary folders go). The signal is noted: the exit code says which one, even when a loop
    that ends on Ctrl-C returned normally."""
    signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once
    _signalled.append(signum)
    raise KeyboardInterrupt


def _unwind_on_signals() -> dict[int, Any]:
    """Install :func:`_raise_for` for SIGTERM and SIGINT (SIGINT too: with Python's default
    handler, asyncio swallows it under the TUI); the handlers it replaced, to restore. None set when
    main() does not run in the main thread, where Python cannot set one."""
    _signalled.clear()
    previous: dict[int, Any] = {}
    for signum in _SIGNAL_EXITS:
        try:
            previous[signum] = signal.signal(signum, _raise_for)
        except ValueError:
            break
    return previous


def _after_signal(code: int, *, interrupted: bool = False) -> int:
    """``code``, unless a signal (or a KeyboardInterrupt: ``interrupted``) ended the command: then one
    line and 130 (SIGINT) or 143 (SIGTERM)."""
    if not _signalled and not interrupted:
        return code
    code, what = _SIGNAL_EXITS[_signalled[0] if _signalled else signal.SIGINT]
    print(f"offhost-audit: {what}", file=sys.stderr)
    return code


def _configure_logging(args: argparse.Namespace) -> None:
    """--debug: everything at DEBUG; otherwise warnings and errors as ``LEVEL name: message``. A
    command that sets ``logs=False`` (evaluate: nothing it runs logs above DEBUG) skips it without
    --debug: importing logging costs about 7 ms of its start-up."""
    if not args.debug and not getattr(args, "logs", True):
        return
    import logging  # not on a lean `evaluate` (tests/test_startup.py)

    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(_redact_record)


def _redact_record(record: Any) -> bool:
    """A logging filter: no URL's password reaches a log line, whoever logs it (text.redact_url)."""
    message = record.getMessage()
    redacted = redact_url(message)
    if redacted != message:
        record.msg, record.args = redacted, None
    return True


def _interactive(args: argparse.Namespace) -> bool:
    """The commands that keep running (the TUI, the lab server); the others run once and exit."""
    return args.func in (cli_lab.cmd_tui, cli_lab.cmd_lab_serve) or bool(getattr(args, "tui", False))


def _internal(e: Exception, debug: bool) -> int:
    """A bug: one short line and exit 4, never 1 (which means "findings found")."""
    print(
        f"offhost-audit: internal error: {type(e).__name__}: {clean(redact_url(str(e)), keep_newlines=False)[:300]} "
        "(a bug in offhost-audit; --debug shows the details)",
        file=sys.stderr,
    )
    if debug:
        traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)
    return EXIT_INTERNAL


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """parse_args, with what --help/--version print captured and written by us: argparse ignores
    a failed write, so ``--help > /dev/full`` would exit 0 having printed nothing."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            return parser.parse_args(argv)
    finally:
        if printed.getvalue():
            with stdout_errors():
                sys.stdout.write(printed.getvalue())


def _flush_stdout() -> None:
    with stdout_errors():
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
