"""Command line: parse, call the core, map errors to exit codes. Nothing else lives here.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above --fail-on; 2 usage or input
error; 3 the audit could not complete. See offhost_audit.errors.
"""

from __future__ import annotations

import argparse
import logging
import sys

from offhost_audit import __version__
from offhost_audit.errors import EXIT_INPUT, AuditError
from offhost_audit.findings import SEVERITIES

log = logging.getLogger("offhost_audit")


def _add_eval_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", help="guidance profile (default: the facts' vbr.profile, else veeam-2025-08)")
    p.add_argument("--fail-on", choices=SEVERITIES, default="high", help="exit 1 when a failure at or above this severity exists (default: high)")
    p.add_argument("--opa-url", metavar="URL", help="evaluate on a running OPA server instead of the embedded engine")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the output to FILE (atomically) instead of stdout")


def _add_collect_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inventory", "-i", required=True, metavar="FILE", help="inventory YAML")
    p.add_argument("--concurrency", type=int, default=16, help="targets collected at once (default: 16)")
    p.add_argument("--timeout", type=float, default=60.0, help="per-call timeout in seconds (default: 60)")
    p.add_argument("--target-timeout", type=float, default=300.0, help="per-target timeout in seconds (default: 300)")
    p.add_argument("--insecure", action="store_true", help="do not validate TLS certificates (reported in the output and the facts)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


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
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("collect", help="collect facts from the estate in an inventory")
    _add_collect_options(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="facts JSON to write")
    p.set_defaults(func=_cmd_collect)

    p = sub.add_parser("audit", help="collect, evaluate and print findings")
    _add_collect_options(p)
    _add_eval_options(p)
    p.add_argument("--save-facts", metavar="FILE", help="also write the collected facts")
    p.set_defaults(func=_cmd_audit)

    p = sub.add_parser("demo", help="start the built-in lab and audit it through the real WinRM client")
    p.add_argument("--scenario", action="append", metavar="NAME|FILE", help="scenario(s) to run (default: all shipped)")
    p.add_argument("--profile", help="guidance profile")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("lab", help="the built-in WS-Management lab")
    lab = p.add_subparsers(dest="lab_command", metavar="LAB_COMMAND", required=True)
    q = lab.add_parser("serve", help="serve a scenario estate over WS-Management on loopback")
    q.add_argument("--scenario", required=True, metavar="NAME|FILE")
    q.add_argument("--host", default="127.0.0.1")
    q.add_argument("--port", type=int, default=5985, help="first port; one port per host unless --route-by-host")
    q.add_argument("--https", action="store_true", help="serve HTTPS with a generated self-signed certificate")
    q.add_argument("--route-by-host", action="store_true", help="serve every host on one port, routed by the Host header")
    q.add_argument("--inventory-out", metavar="FILE", help="write a matching inventory for the lab")
    q.set_defaults(func=_cmd_lab_serve)

    p = sub.add_parser("policy", help="policy tools")
    pol = p.add_subparsers(dest="policy_command", metavar="POLICY_COMMAND", required=True)
    q = pol.add_parser("test", help="run the _test.rego files like `opa test`, on the embedded engine")
    q.add_argument("paths", nargs="*", help="policy directories or files (default: the shipped policies)")
    q.add_argument("-v", "--verbose", action="store_true", help="list every test, not only failures")
    q.add_argument("--run", "-r", metavar="REGEX", help="run only tests whose data.pkg.test_name matches")
    q.add_argument("--coverage", "-c", action="store_true", help="print a coverage report (JSON, like opa test --coverage)")
    q.add_argument("--threshold", type=float, default=0.0, help="with --coverage: exit 2 below this percentage")
    q.set_defaults(func=_cmd_policy_test)
    return parser


# --- handlers: thin, each calls the core --------------------------------------------------------


def _cmd_evaluate(args: argparse.Namespace) -> int:
    raise NotImplementedError


def _cmd_policy_test(args: argparse.Namespace) -> int:
    raise NotImplementedError


def _cmd_collect(args: argparse.Namespace) -> int:
    raise NotImplementedError


def _cmd_audit(args: argparse.Namespace) -> int:
    raise NotImplementedError


def _cmd_demo(args: argparse.Namespace) -> int:
    raise NotImplementedError


def _cmd_lab_serve(args: argparse.Namespace) -> int:
    raise NotImplementedError


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except AuditError as e:
        print(f"offhost-audit: {e.title}: {e}", file=sys.stderr)
        log.debug("AuditError", exc_info=True)
        return e.exit_code
    except KeyboardInterrupt:
        print("offhost-audit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
