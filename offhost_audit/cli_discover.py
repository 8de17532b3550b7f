"""`offhost-audit discover`: the parser's options and the handler (the core is offhost_audit.discover)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from offhost_audit.errors import InputError

DEFAULT_USER_ENV = "OFFHOST_VBR_USER"
DEFAULT_PASSWORD_ENV = "OFFHOST_VBR_PASSWORD"


def add_parser(sub: Any, seconds: Any, page_size: Any) -> None:
    p = sub.add_parser(
        "discover",
        help="read proxies, hosts, clusters, file servers and jobs from the backup server; write an inventory",
    )
    p.add_argument("--backup-server", required=True, metavar="HOST[:PORT]", help="the VBR 13 server (port 9419)")
    p.add_argument("--via", choices=["rest"], default="rest", help="how to read it (rest: VBR 13's REST API)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the inventory to FILE (atomically) instead of stdout")
    p.add_argument("--user", metavar="NAME", help=f"the account (default: environment variable {DEFAULT_USER_ENV})")
    who = p.add_mutually_exclusive_group()
    who.add_argument(
        "--password-env",
        metavar="VAR",
        help=f"environment variable holding the password (default {DEFAULT_PASSWORD_ENV})",
    )
    who.add_argument("--keyring", metavar="SERVICE", help="read the password from the OS keyring (needs --user)")
    who.add_argument("--prompt", action="store_true", help="ask for the password on the terminal (needs --user)")
    p.add_argument("--ca-file", metavar="FILE", help="CA certificate(s) to verify the server's TLS certificate")
    p.add_argument("--insecure", action="store_true", help="do not validate the server's TLS certificate")
    p.add_argument(
        "--timeout", type=seconds, default=60.0, help="per-request wall-clock timeout in seconds (default: 60)"
    )
    p.add_argument("--page-size", type=page_size, default=500, help="items per page of a list call (default: 500)")
    p.set_defaults(func=cmd_discover)


def _host_port(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host or "@" in host or "/" in host:
        raise InputError("--backup-server: give HOST or HOST:PORT (no user:password@, no URL path)")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise InputError(f"--backup-server: {port!r} is not a port 1-65535")
    return host, int(port) if port else None


def credential_spec(args: argparse.Namespace) -> dict[str, Any]:
    if args.keyring or args.prompt:
        if not args.user:
            raise InputError(f"--{'keyring' if args.keyring else 'prompt'} needs --user NAME")
        return {"username": args.user, **({"keyring": args.keyring} if args.keyring else {"prompt": True})}
    user = {"username": args.user} if args.user else {"username_env": DEFAULT_USER_ENV}
    return {**user, "password_env": args.password_env or DEFAULT_PASSWORD_ENV}


def cmd_discover(args: argparse.Namespace) -> int:
    from offhost_audit import discover
    from offhost_audit.atomic import stdout_errors, write_atomic
    from offhost_audit.collectors.base import Target
    from offhost_audit.collectors.vbr_read import read_rest
    from offhost_audit.collectors.vbr_rest import VbrRestClient
    from offhost_audit.inventory.credentials import Resolver
    from offhost_audit.text import clean

    host, port = _host_port(args.backup_server)
    creds = Resolver().resolve(credential_spec(args), where=f"--backup-server {host}")
    target = Target(
        name=host,
        kind="backup_server",
        address=host,
        port=port,
        credentials=creds,
        verify_tls=not args.insecure,
        ca_file=args.ca_file,
        timeout_s=args.timeout,
    )
    client = VbrRestClient(target, page_size=args.page_size)
    try:
        est = read_rest(client)
    finally:
        client.close()
    text = discover.inventory_text(est)  # complete before anything is written
    if args.output:
        write_atomic(args.output, text)
    else:
        with stdout_errors():
            sys.stdout.write(text)
    for u in est.unknown:
        print(f"offhost-audit: warning: unknown: {clean(u, keep_newlines=False)}", file=sys.stderr)
    print(
        f"offhost-audit: {len(est.proxies or [])} proxies, {len(est.clusters or [])} clusters, "
        f"{len(est.standalone_hosts())} standalone Hyper-V hosts, {len(est.jobs or [])} Hyper-V jobs read from "
        f"{clean(host, keep_newlines=False)} in {client.requests} requests"
        + (f"; inventory written to {args.output}" if args.output else ""),
        file=sys.stderr,
    )
    return 0
