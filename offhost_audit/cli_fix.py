"""``offhost-audit fix``: reviewable fix scripts for a stored run. Parse, call the core
(offhost_audit.fixes) and the folder writer (reports/fix_folder.py); nothing else lives here."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from offhost_audit.errors import EXIT_OK, InputError
from offhost_audit.text import clean


def add_parser(sub: Any, run_id: Any) -> None:
    p = sub.add_parser(
        "fix",
        help="write reviewable fix scripts (PowerShell, never run by this tool) and manual steps for a stored run",
    )
    p.add_argument("run", nargs="?", type=run_id, metavar="RUN", help="run id (default: the latest; see `history`)")
    p.add_argument(
        "-o", "--output", dest="fix_dir", required=True, metavar="DIR", help="a new or empty folder to write into"
    )
    p.add_argument("--rule", action="append", metavar="ID", help="only fixes for this rule (repeatable, e.g. OHP-004)")
    p.add_argument("--host", action="append", metavar="NAME", help="only fixes on this machine (repeatable)")
    p.add_argument(
        "--db", metavar="FILE", help="history database (default: history.sqlite in the user's data directory)"
    )
    p.set_defaults(func=cmd_fix)


def cmd_fix(args: argparse.Namespace) -> int:
    from offhost_audit import fixes  # not on `--help` (tests/test_startup.py)
    from offhost_audit.reports import fix_folder
    from offhost_audit.store.history import History

    for rule in args.rule or []:
        if rule.upper() not in fixes.RULE_FIXES:
            raise InputError(f"--rule {rule}: no such rule (known: {', '.join(fixes.RULE_FIXES)})")
    with History(args.db, create=False) as h:
        run = h.load(args.run)
    if not run.facts:
        raise InputError(f"run {run.id}: the history holds no facts for it; fixes need the facts the audit read")
    plan = fixes.plan(
        run.facts, run.findings, run={"run": run.id, "started_at": run.started_at}, rules=args.rule, hosts=args.host
    )
    for machine in plan.hosts.values():  # the scripts trust the schema: a document that breaks it is a bug here
        problems = fixes.validate(machine.document(plan.run))
        if problems:
            raise AssertionError(f"fix data document for {machine.host} breaks its schema: {problems[0]}")
    names, digest = fix_folder.write(args.fix_dir, plan)
    steps = sum(len(m.steps) for m in plan.hosts.values())
    manual = sum(len(m.manual) for m in plan.hosts.values())
    print(
        clean(
            f"offhost-audit: run {run.id}: {len(plan.hosts)} machine(s), {steps} scripted step(s), {manual} manual "
            f"step(s) written to {args.fix_dir} ({len(names)} files; nothing was run). Review README.md, run each "
            f"script with -WhatIf first. SHA-256 of {fix_folder.MANIFEST}: {digest}",
            keep_newlines=False,
        ),
        file=sys.stderr,
    )
    return EXIT_OK
