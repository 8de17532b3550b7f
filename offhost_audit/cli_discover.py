"""`offhost-audit discover`: the parser's options and the handler (the core is offhost_audit.discover);
also the backup-server options and read of `audit --backup-server`."""

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
    add_server_options(p, page_size, required=True)
    p.add_argument("-o", "--output", metavar="FILE", help="write the inventory to FILE (atomically) instead of stdout")
    p.add_argument("--insecure", action="store_true", help="do not validate the server's TLS certificate")
    p.add_argument(
        "--timeout", type=seconds, default=60.0, help="per-request wall-clock timeout in seconds (default: 60)"
    )
    p.set_defaults(func=cmd_discover)


def add_server_options(p: Any, page_size: Any, *, required: bool) -> None:
    """The backup server and how to log in to it: `discover`'s options, and `audit --backup-server`'s."""
    p.add_argument(
        "--backup-server",
        required=required,
        metavar="HOST[:PORT]",
        help="the backup server; PORT: its REST API's (default 9419), with --via winrm its WinRM port"
        + ("" if required else "; discover the estate from it, then audit"),
    )
    p.add_argument(
        "--via",
        choices=["rest", "winrm"],
        help="how to read it: rest (VBR 13's REST API) or winrm (the Veeam PowerShell module, VBR 12 or a "
        "Windows VBR 13); default: REST, then WinRM only when the REST endpoint does not answer "
        "(never after HTTP 401/403)",
    )
    p.add_argument("--winrm-port", type=int, metavar="PORT", help="WinRM port (default 5986 https, 5985 http)")
    p.add_argument("--winrm-scheme", choices=["https", "http"], default="https", help="WinRM scheme (default https)")
    p.add_argument(
        "--winrm-auth", choices=["ntlm", "kerberos", "credssp", "basic"], default="ntlm", help="WinRM auth (ntlm)"
    )
    p.add_argument("--user", metavar="NAME", help=f"the account (default: environment variable {DEFAULT_USER_ENV})")
    who = p.add_mutually_exclusive_group()
    who.add_argument(
        "--password-env",
        metavar="VAR",
        help=f"environment variable holding the password (default {DEFAULT_PASSWORD_ENV})",
    )
    who.add_argument("--keyring", metavar="SERVICE", help="read the password from the OS keyring (needs --user)")
    who.add_argument("--prompt", action="store_true", help="ask for the password on the terminal (needs --user)")
    p.add_argument("--ca-file", metavar="FILE", help="CA certificate(s) to verify the backup server's TLS certificate")
    p.add_argument("--page-size", type=page_size, default=500, help="items per page of a list call (default: 500)")


def backup_server_address(text: str) -> tuple[str, int | None]:
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


def read_server(args: argparse.Namespace, resolver: Any = None) -> Any:
    """Read the backup server ``--backup-server`` names: a vbr_estate.VbrEstate. Raises before anything is
    written: CredentialError (2), an unreachable or refusing server (3). ``resolver``: a
    credentials.Resolver to share with the run (one prompt for both)."""
    from offhost_audit import discover
    from offhost_audit.collectors.base import Target
    from offhost_audit.inventory.credentials import Resolver

    host, port = backup_server_address(args.backup_server)
    via = args.via or "auto"
    creds = (resolver or Resolver()).resolve(credential_spec(args), where=f"--backup-server {host}")
    winrm_port = args.winrm_port or (port if via == "winrm" else None)
    target = Target(
        name=host,
        kind="backup_server",
        address=host,
        port=winrm_port or (5986 if args.winrm_scheme == "https" else 5985),
        credentials=creds,
        tls=args.winrm_scheme == "https",
        verify_tls=not args.insecure,
        ca_file=args.ca_file,
        timeout_s=args.timeout,
        options={
            "roles": ["backup_server"],
            "auth": args.winrm_auth,
            "scheme": args.winrm_scheme,
            "path": "/wsman",
            "message_encryption": "auto",
            "vbr_via": via,
            "vbr_rest": {
                "port": port if via != "winrm" else None,
                "verify_tls": not args.insecure,
                "ca_file": args.ca_file,
            },
        },
    )
    return discover.read(target, via=via, page_size=args.page_size)


def server_entry(args: argparse.Namespace, est: Any) -> dict[str, Any]:
    """The discovered backup server entry's settings for the run: read it the way discovery did
    (``via``; REST's port and TLS settings), with the same account (its spec: no secret)."""
    _, port = backup_server_address(args.backup_server)
    if est.via == "rest":
        rest = {**({"port": port} if port else {}), "verify_tls": not args.insecure, "ca_file": args.ca_file}
        return {"via": "rest", "rest": rest, "credentials": credential_spec(args)}
    winrm = {"scheme": args.winrm_scheme, "auth": args.winrm_auth, "verify_tls": not args.insecure}
    winrm.update({"port": args.winrm_port} if args.winrm_port else {})
    winrm.update({"ca_file": args.ca_file} if args.ca_file else {})
    return {"via": "winrm", "winrm": winrm, "credentials": credential_spec(args)}


def warn(est: Any) -> None:
    """The read's fallback and unknown facts, one warning line each on stderr."""
    from offhost_audit.text import clean

    if est.fallback:
        print(f"offhost-audit: warning: REST did not answer, read over WinRM: {clean(est.fallback)}", file=sys.stderr)
    for u in est.unknown:
        print(f"offhost-audit: warning: unknown: {clean(u, keep_newlines=False)}", file=sys.stderr)


def cmd_discover(args: argparse.Namespace) -> int:
    from offhost_audit import discover
    from offhost_audit.atomic import stdout_errors, write_atomic
    from offhost_audit.text import clean

    host, _ = backup_server_address(args.backup_server)
    est = read_server(args)
    text = discover.inventory_text(est)  # complete before anything is written
    if args.output:
        write_atomic(args.output, text)
    else:
        with stdout_errors():
            sys.stdout.write(text)
    warn(est)
    how = f"{est.requests} requests" if est.via == "rest" else "the Veeam PowerShell module over WinRM"
    print(
        f"offhost-audit: {len(est.proxies or [])} proxies, {len(est.clusters or [])} clusters, "
        f"{len(est.standalone_hosts())} standalone Hyper-V hosts, {len(est.jobs or [])} Hyper-V jobs read from "
        f"{clean(host, keep_newlines=False)} with {how}"
        + (f"; inventory written to {args.output}" if args.output else ""),
        file=sys.stderr,
    )
    return 0
