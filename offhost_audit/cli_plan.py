"""``offhost-audit plan [RUN]``: the fewest proxies that serve every source of a stored run
(offhost_audit/plan/), with what-ifs. Exit codes: 0 every source gets its ``--redundancy`` proxies;
1 some source cannot (no eligible proxy, too few, or not enough capacity); 2 usage or input error."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from offhost_audit import cli_options, cli_reports
from offhost_audit.atomic import stdout_errors, write_atomic
from offhost_audit.errors import EXIT_FINDINGS, EXIT_OK


def _limit(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"expected 0.1 to 3600 seconds, got {text!r}")
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "plan",
        help="the fewest proxies that serve every source of a stored run (HiGHS MILP), with what-ifs",
        description="Plan off-host proxies from a stored run's pair verdicts: the fewest proxies so that "
        "every source (cluster, host, SMB share) has --redundancy eligible proxies within their max tasks, "
        "then the lowest peak utilisation. Exit 0: every source covered; 1: some source cannot be.",
    )
    p.add_argument(
        "run", nargs="?", type=cli_reports.run_id, metavar="RUN", help="run id (default: the latest; see `history`)"
    )
    p.add_argument(
        "--redundancy",
        "-k",
        type=cli_reports.integer(1, 100, "a number of proxies 1-100"),
        default=1,
        metavar="K",
        help="proxies per source, each able to take the source's load alone (default: 1)",
    )
    p.add_argument(
        "--without",
        action="append",
        default=[],
        metavar="PROXY",
        help="what if PROXY is down: which sources lose off-host processing, which jobs fall back (repeatable)",
    )
    p.add_argument(
        "--assume-fixed",
        action="append",
        default=[],
        metavar="RULE[:SUBJECT]",
        help="what if RULE's failing findings (those whose subject matches the SUBJECT glob) passed (repeatable)",
    )
    p.add_argument(
        "--candidate",
        action="append",
        default=[],
        metavar="HOST",
        help="a collected host that is not a proxy, judged by the proxy rules as if it were one (repeatable; "
        "re-evaluates the run's facts with the policies)",
    )
    p.add_argument(
        "--time-limit",
        type=_limit,
        default=10.0,
        metavar="S",
        help="solver time limit per plan in seconds (default: 10); the gap to the optimum is reported",
    )
    cli_reports._add_db_option(p)
    cli_options.add_format(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write the output to FILE (atomically) instead of stdout")
    p.set_defaults(func=cmd_plan)


def cmd_plan(args: argparse.Namespace) -> int:
    from offhost_audit import plan  # numpy and highspy load with the solver, not at start-up
    from offhost_audit.store.history import History

    with History(args.db, create=False) as h:
        run = h.load(args.run)
    facts = run.facts or {}
    scenario = None
    if args.candidate:
        from offhost_audit import audit, facts as facts_doc  # the engine: only to judge candidates

        doc = facts_doc.validate(plan.as_candidates(facts, args.candidate), source=f"run {run.id} with candidates")
        found = audit.evaluate_facts(doc, profile=run.meta.get("profile"), engine=_engine(run.meta.get("engine")))
        scenario = (doc, plan.carry_waivers(run.findings, found))
    out = plan.make(
        facts,
        run.findings,
        redundancy=args.redundancy,
        without=args.without,
        fixed=args.assume_fixed,
        candidates=args.candidate,
        scenario=scenario,
        time_limit=args.time_limit,
        run_id=run.id,
    )
    if args.format == "json":
        text = json.dumps(out, indent=2) + "\n"  # ASCII: no control character reaches a terminal
    else:
        from offhost_audit.reports import plan_view  # rich: only for the table

        text = plan_view.table_text(out)
    if args.output:
        write_atomic(args.output, text)
    else:
        with stdout_errors():
            sys.stdout.write(text)
    return EXIT_OK if plan.covered(out) else EXIT_FINDINGS


def _engine(recorded: Any) -> str:
    return "opa" if recorded == "opa" else "embedded"  # an OPA server's run is re-judged on the embedded engine
