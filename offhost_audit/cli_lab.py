"""CLI handlers for the interactive and lab commands: `tui`, `demo` (and `demo --tui`) and `lab serve`.
Parse results in, the core called, an exit code out; cli.py builds the parser and wires these in.
"""

from __future__ import annotations

import argparse
import sys


def cmd_tui(args: argparse.Namespace) -> int:
    # here, not at module level: cli.py imports this module, and `--help` loads no engine (tests/test_startup.py)
    from offhost_audit import audit
    from offhost_audit.cli_reports import waivers_path
    from offhost_audit.engine import engine_module
    from offhost_audit.tui.session import Session

    engine_module(args.engine).compiled()  # a missing OPA package fails here (exit 2), not inside the TUI
    common = dict(waivers_path=waivers_path(args), history_db=args.db, engine=args.engine)
    if args.facts:
        session = Session.for_facts_file(args.facts, profile=args.profile, **common)  # evaluated in the TUI
    elif args.inventory:
        from offhost_audit import inventory
        from offhost_audit.inventory.credentials import Resolver

        inv, resolver = inventory.load(args.inventory), Resolver()
        inv.targets(resolver=resolver)  # prompts (if any) happen now, before the TUI owns the terminal
        session = Session.empty_for_inventory(
            inv,
            source=f"live audit of {args.inventory}",
            profile=args.profile,
            resolver=resolver,
            collect_options=audit.CollectOptions(insecure=args.insecure),
            **common,
        )
    else:
        session = Session.from_history(
            args.run, db=args.db, profile=args.profile, waivers_path=common["waivers_path"], engine=args.engine
        )
    from offhost_audit.tui.app import build_app

    app = build_app(session, start_audit=bool(args.inventory))
    app.run()
    if app.open_error is not None:  # the facts file did not validate or evaluate: one line, exit 2 (or 4)
        raise app.open_error
    return 0


def _demo_tui(args: argparse.Namespace) -> int:
    import tempfile

    from offhost_audit import audit  # as in cmd_tui
    from offhost_audit.lab import demo
    from offhost_audit.tui.app import build_app
    from offhost_audit.tui.session import Session

    name = (args.scenario or ["faults"])[0]
    with demo.serve(name) as (sc, inv, resolver), tempfile.TemporaryDirectory(prefix="offhost-demo-") as tmp:
        session = Session.empty_for_inventory(
            inv,
            source=f"lab scenario {sc['name']} (not real Windows)",
            profile=args.profile,
            resolver=resolver,
            history_db=f"{tmp}/lab-history.sqlite",  # lab runs stay out of yours
            collect_options=audit.CollectOptions(call_timeout=10.0, target_timeout=60.0),
        )
        build_app(session, start_audit=True).run()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from offhost_audit.lab import scenario

    for name in args.scenario or ():  # every name checked before the first banner or the TUI
        scenario.locate(name)
    if args.tui:
        return _demo_tui(args)
    from rich.console import Console
    from rich.markup import escape as _escape

    from offhost_audit.text import clean

    def escape(value: object) -> str:  # host text: control characters stripped, then markup escaped
        return _escape(clean(value, keep_newlines=False))

    from offhost_audit.findings import job_verdicts, verdicts
    from offhost_audit.lab import demo, scenario
    from offhost_audit.reports import console as report

    names = args.scenario or scenario.shipped()
    out = Console()
    results = []
    for i, name in enumerate(names):
        if args.format == "table":
            out.print(
                f"[bold]== {escape(name)}[/] [dim](the built-in lab: loopback WS-Management, not real Windows)[/]"
            )
        r = demo.run_scenario(name, profile=args.profile, auth="ntlm" if i % 2 == 0 else "basic")
        results.append(r)
        if args.format != "table":
            continue
        sc, found = r["scenario"], r["findings"]
        out.print(escape(sc["title"]))
        if sc.get("discover"):
            out.print("  no inventory: discovered from the lab's backup server over REST, then audited")
        for w in r["facts"].get("warnings") or []:
            out.print(f"  [yellow]warning:[/] {escape(w)}")
        m = demo.manifest_summary(r["facts"])
        out.print(f"  collected {m['ok']}/{m['calls']} collector runs in {r['seconds']}s")
        for p in m["problems"][:8]:
            out.print(
                f"    [yellow]{escape(p['target'])} {escape(p['collector'])}[/]: {escape(p['status'])}: {escape(p['error'] or '')[:160]}"
            )
        out.print("  " + escape(report.summary_line(found)))
        judged = verdicts.judge(r["facts"], found)
        for v in judged.by_proxy:
            out.print(f"  proxy [bold]{escape(v.name)}[/]: {escape(v.text)}")
        jobs = job_verdicts.judge_jobs(r["facts"], found, judged)
        if jobs.read:  # a scenario with a backup server: what each job does tonight
            for line in report.job_lines(jobs):
                out.print("  " + escape(line))
        for f in found:
            if f["status"] == "fail":
                subject = (f.get("subject") or {}).get("name", "")
                out.print(
                    f"    [red]fail[/] {escape(f['rule_id'])} {escape(f['severity'])} {escape(str(subject))}: "
                    f"{escape(str(f.get('message', '')))[:150]}"
                )
        for c in r["check"]:
            mark = "[green]as built[/]" if c["ok"] else "[bold red]NOT as built[/]"
            out.print(f"  expected {escape(c['rule'])} {c['want']}: got {', '.join(c['got']) or 'no finding'} {mark}")
        out.print()
    if args.format == "json":
        sys.stdout.write(demo.as_json(results))
    ok = all(c["ok"] for r in results for c in r["check"])
    if args.format == "table":
        out.print(
            "every scenario showed what it was built to show"
            if ok
            else "[bold red]some scenarios did not show what they were built to show[/]"
        )
    return 0 if ok else 1


def cmd_lab_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM (cli.main turns both into an exception that stops the lab here)."""
    from offhost_audit.atomic import write_atomic
    from offhost_audit.errors import InputError
    from offhost_audit.lab import responder, scenario
    from offhost_audit.lab.wsman import LabServer
    from offhost_audit.text import clean

    def line(value: object) -> str:  # scenario text (a YAML file may be anyone's): no control characters
        return clean(value, keep_newlines=False)

    sc = scenario.load(args.scenario)
    try:
        lab = LabServer(
            responder.lab_hosts(sc), bind=args.host, port=args.port, https=args.https, route_by_host=args.route_by_host
        )
        lab.start()
    except (ValueError, OSError) as e:
        raise InputError(f"lab serve: {e}", title="cannot start the lab") from None
    try:
        print(
            line(
                f"offhost-audit lab: scenario {sc['name']!r} ({sc['title']}): {len(sc['hosts'])} simulated Windows host(s)"
            )
        )
        print("This is the built-in lab (loopback WS-Management answering the collector scripts), not real Windows.")
        for h in sc["hosts"]:
            print(line(f"  {h['name']:<12} {lab.endpoint(h['name'])}  roles={','.join(h['roles'])}"))
        print(line(f"credentials: {sc['lab']['username']} / {sc['lab']['password']} (lab only); auth basic or ntlm"))
        if args.route_by_host:
            print(
                "one port for every host, routed by the Host header: the host names must resolve to "
                f"{args.host} (e.g. /etc/hosts) for a client to reach them"
            )
        if args.https:
            print(f"CA certificate: {lab.ca_file}")
        if args.inventory_out:
            write_atomic(args.inventory_out, responder.inventory_yaml(sc, lab))
            env = responder.lab_env(sc)
            print(f"inventory written to {args.inventory_out}; use it with:")
            print(
                "  "
                + line(" ".join(f"{k}='{v}'" for k, v in env.items()))
                + f" offhost-audit audit --inventory {args.inventory_out}"
            )
        print("Ctrl-C stops the lab.", flush=True)
        lab.serve_forever()
    finally:
        lab.stop()
    return 0


def cmd_lab_rest(args: argparse.Namespace) -> int:
    """Serve a scenario's backup server over REST (HTTPS, loopback) until Ctrl-C or SIGTERM."""
    import contextlib
    import threading

    from offhost_audit.errors import InputError
    from offhost_audit.lab import scenario, vbr_rest
    from offhost_audit.text import clean

    sc = scenario.load(args.scenario)
    with contextlib.ExitStack() as stack:
        try:
            url, ca, _ = stack.enter_context(vbr_rest.serve(sc, port=args.port))
        except OSError as e:
            raise InputError(f"lab rest: {e}", title="cannot start the lab") from None
        hostport = url.removeprefix("https://")
        user, password = sc["lab"]["username"], sc["lab"]["password"]
        print(
            clean(
                f"offhost-audit lab: backup server {sc['backup_server']['name']} of scenario {sc['name']!r}",
                keep_newlines=False,
            )
        )
        print(f"REST API 1.3-rev1 at {url} (the built-in lab, not a real VBR); CA certificate: {ca}")
        print(clean(f"credentials: {user} / {password} (lab only); try:", keep_newlines=False))
        print(
            clean(
                f"  OFFHOST_VBR_USER='{user}' OFFHOST_VBR_PASSWORD='{password}' offhost-audit discover "
                f"--backup-server {hostport} --ca-file {ca}",
                keep_newlines=False,
            )
        )
        print("Ctrl-C stops the lab.", flush=True)
        threading.Event().wait()
    return 0
