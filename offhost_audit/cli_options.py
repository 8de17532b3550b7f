"""The options several commands share, each defined once with its one validation (the way
sqlite-utils shares its option decorators), and the audit request built from them.

``add_*`` put an option on a parser; :func:`check` validates what cannot be checked while parsing
(the profile names come from the policies), before any work; :func:`request` turns the parsed
options into one ``audit.AuditRequest``.
"""

from __future__ import annotations

import argparse
from typing import Any

from offhost_audit.engine import ENGINES  # the names only: the package loads no engine
from offhost_audit.findings import SEVERITIES

DEFAULT_PROFILE_HELP = "guidance profile (default: the facts' vbr.profile, else veeam-2025-08)"


def _name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a name, got an empty string")
    return text


def add_profile(p: Any, help: str = DEFAULT_PROFILE_HELP) -> None:
    """--profile: a name here; checked against the policies' profiles by :func:`check`."""
    p.add_argument("--profile", type=_name, help=help)


def add_format(p: Any, help: str = "output format (default: table)") -> None:
    p.add_argument("--format", choices=("table", "json"), default="table", help=help)


def add_quiet(p: Any, help: str) -> None:
    p.add_argument("--quiet", "-q", action="store_true", help=help)


def add_fail_on(p: Any, what: str = "a failure") -> None:
    p.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default="high",
        help=f"exit 1 when {what} at or above this severity exists, else 5 when a finding at or above it "
        "is unknown (default: high)",
    )


def add_accept_unknown(p: Any) -> None:
    """--accept-unknown of evaluate, audit and report (exit code 5 becomes 0)."""
    p.add_argument(
        "--accept-unknown",
        action="store_true",
        help="exit 0 instead of 5 when nothing fails at or above --fail-on but something there is unknown",
    )


def add_engine(p: Any) -> None:
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="embedded",
        help="Rego engine: embedded (regorus, default) or opa (OPA's Go engine in process, the "
        "reference, slower; needs offhost-audit[opa]); where there is --opa-url, that overrides it",
    )


def check(args: argparse.Namespace) -> None:
    """Before any work: an unknown --profile is a usage error (exit 2) naming the valid ones, on
    every command that takes it."""
    if getattr(args, "profile", None):
        from offhost_audit import audit  # the engine: not for `--help` (tests/test_startup.py)

        audit.check_profile(args.profile, getattr(args, "engine", None) or "embedded")


def request(args: argparse.Namespace, *, inventory: Any = None, waivers: str | None = None) -> Any:
    """The ``audit.AuditRequest`` of `evaluate` or `audit` (``inventory``: the loaded inventory)."""
    from offhost_audit import audit  # the engine: not for `--help` (tests/test_startup.py)

    return audit.AuditRequest(
        inventory=inventory,
        inventory_path=getattr(args, "inventory", None),
        facts_path=getattr(args, "facts", None),
        save_facts=getattr(args, "save_facts", None),
        collect=collect_options(args) if inventory is not None else audit.CollectOptions(),
        evaluate=audit.EvaluateOptions(
            profile=args.profile, opa_url=args.opa_url, engine=args.engine, jobs=args.jobs or None
        ),
        record=audit.RecordOptions(
            db=args.db,
            save=not args.no_history,
            keep_runs=args.keep_runs,
            waivers=waivers,
            previous=bool(args.report),
        ),
    )


def collect_options(args: argparse.Namespace) -> Any:
    """The collection options of `collect` and `audit`."""
    from offhost_audit import audit  # as in request

    return audit.CollectOptions(
        concurrency=args.concurrency,
        call_timeout=args.timeout,
        target_timeout=args.target_timeout,
        insecure=args.insecure,
        progress=not args.quiet,
        batch=not args.no_batch,
    )
