"""Benchmark: a nightly `evaluate` that re-uses the findings of unchanged parts (engine/reuse.py).

    python benchmarks/bench_reuse.py                   # 10,000 hosts, 3 rounds
    python benchmarks/bench_reuse.py --hosts 1000 --rounds 2 --changed 0.01
    python benchmarks/bench_reuse.py --hosts --lab faults large-generated   # two lab collections each

One facts file (the estate) and one history. The first run evaluates every part and records them;
then each round runs, one after the other, on the same file (the same estate):

unchanged   the facts of the previous run again: every part re-used
changed     the facts with --changed of the hosts changed (their OS build): their parts evaluated
unchanged   again (re-uses the changed run's parts)
full        the same facts with --no-reuse: every part evaluated (the reference, and its findings
            are compared with the re-using runs' of the same facts)

Each is a whole `offhost-audit evaluate --facts F --db H --format json -o out.json` process. For each:
the evaluation phase as the command reports it ("evaluated N of M part(s) in S s": from the
evaluation's start to its sorted findings, the history's look-up and reading of the stored
findings included), the whole command's wall and CPU time (reading and validating the facts,
applying waivers, storing the run and writing the output included), medians over the rounds;
the history's growth per run and how much of it the parts' record is.

``--lab``: each scenario served by the built-in lab (WS-Management over loopback) and audited twice
through the real WinRM client into one history: two real collections of an unchanged estate (their
times and durations differ), the second re-using every part.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import estate
from bench_cli import load_avg

CLI = [sys.executable, "-m", "offhost_audit.cli", "--debug"]  # --debug: the evaluation's CPU time too
LINE = re.compile(r"evaluated ([\d,]+) of ([\d,]+) part\(s\) in ([\d.]+) s \(([\d.]+) s CPU")


def changed(doc: dict, share: float, seed: int) -> dict:
    """The estate with ``share`` of its hosts changed (another OS build)."""
    out = json.loads(json.dumps(doc))
    rnd = random.Random(seed)
    for h in rnd.sample(out["hosts"], max(1, round(len(out["hosts"]) * share))):
        h["os"]["build"] = 26100 if h["os"]["build"] != 26100 else 20348
    return out


def measure(cmd: list[str]) -> dict:
    """Run cmd in a fresh child that reports its own children's rusage and the command's stderr."""
    probe = (
        "import resource, subprocess, sys, time, json\n"
        "t0 = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
        "wall = time.perf_counter() - t0\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'rc': r.returncode, 'wall': wall, 'cpu': u.ru_utime + u.ru_stime, 'stderr': r.stderr}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def run(facts: Path, db: Path, out: Path, *extra: str) -> dict:
    """One whole command; its evaluation phase from the line it prints."""
    cmd = [*CLI, "evaluate", "--facts", str(facts), "--db", str(db), "--format", "json", "-o", str(out),
           "--fail-on", "critical", *extra]
    whole = measure(cmd)
    m = LINE.search(whole["stderr"])
    assert m, whole["stderr"]
    return {**whole, "evaluated": int(m[1].replace(",", "")), "parts": int(m[2].replace(",", "")),
            "phase": float(m[3]), "phase_cpu": float(m[4]), "digest": hashlib.sha256(out.read_bytes()).hexdigest()[:12]}


def lab(names: list[str]) -> None:
    import time

    from offhost_audit import audit
    from offhost_audit.lab import demo

    for name in names:
        with demo.serve(name, auth="basic") as (_, inv, resolver), tempfile.TemporaryDirectory() as t:
            for n in (1, 2):
                start = time.perf_counter()
                r = audit.run(audit.AuditRequest(
                    inventory=inv, collect=audit.CollectOptions(resolver=resolver, call_timeout=10, target_timeout=60),
                    record=audit.RecordOptions(db=Path(t) / "history.sqlite")))
                print(f"lab {name}, collection {n}: {len(r.run.facts['hosts'])} hosts, "
                      f"{len(r.run.facts['collection'])} collector runs; evaluated {len(r.parts.keys) - r.parts.reused} "
                      f"of {len(r.parts.keys)} part(s), evaluation {r.parts.seconds:.3f} s, whole audit "
                      f"{time.perf_counter() - start:.2f} s, {len(r.run.findings)} findings", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description="re-use of unchanged parts: evaluation phase and whole command")
    ap.add_argument("--hosts", type=int, nargs="?", const=0, default=10_000, help="estate size (none: the lab only)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--changed", type=float, default=0.01, help="share of hosts changed (default 0.01)")
    ap.add_argument("--lab", nargs="*", default=[], metavar="SCENARIO", help="also audit these lab scenarios twice")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {load_avg()}")
    lab(args.lab)
    if not args.hosts:
        return 0
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "offhost_audit")],
                   check=True)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        base = estate.generate(args.hosts)
        texts = {"base": json.dumps(base), "changed": json.dumps(changed(base, args.changed, 1))}
        facts, db, out = tmp / "facts.json", tmp / "history.sqlite", tmp / "out.json"
        facts.write_text(texts["base"], encoding="utf-8")
        first = measure([*CLI, "evaluate", "--facts", str(facts), "--db", str(db), "--format", "json", "-o", str(out),
                         "--fail-on", "critical"])
        print(f"{args.hosts:,} hosts ({facts.stat().st_size / 1e6:.0f} MB of facts); first run (every part "
              f"evaluated, parts recorded): whole command {first['wall']:.2f} s")
        rows: dict[str, list[dict]] = {}
        digests: dict[str, set[str]] = {"base": set(), "changed": set()}
        which = "base"
        for r in range(args.rounds):
            for name, text, extra in (("changed", "changed", ()), ("unchanged", "changed", ()),
                                      ("full", "changed", ("--no-reuse",)), ("changed", "base", ()),
                                      ("unchanged", "base", ()), ("full", "base", ("--no-reuse",))):
                facts.write_text(texts[text], encoding="utf-8")
                which = text
                m = run(facts, db, out, *extra)
                rows.setdefault(name, []).append(m)
                digests[which].add(m["digest"])
            print(f"  round {r + 1} done (load average {load_avg()})", flush=True)
        with sqlite3.connect(db) as c:
            n_runs, parts, data, meta = c.execute(
                "SELECT count(*), (SELECT sum(length(parts)) FROM run_parts), "
                "(SELECT sum(length(findings) + length(facts)) FROM run_data), sum(length(meta)) FROM runs").fetchone()
        c.close()
    print(f"medians of {args.rounds} round(s) (each row: 2 runs per round)")
    print(f"  {'':10s} {'parts evaluated':>16s} {'evaluation wall s':>18s} {'evaluation cpu s':>17s} "
          f"{'command wall s':>15s} {'command cpu s':>14s}")
    for name, ms in rows.items():
        ev = statistics.median(m["evaluated"] for m in ms)
        print(f"  {name:10s} {ev:>9,.0f} of {ms[0]['parts']:,} {statistics.median(m['phase'] for m in ms):18.2f} "
              f"{statistics.median(m['phase_cpu'] for m in ms):17.2f} "
              f"{statistics.median(m['wall'] for m in ms):15.2f} {statistics.median(m['cpu'] for m in ms):14.2f}")
    same = all(len(d) == 1 for d in digests.values())
    print(f"  findings of re-using and full runs of the same facts identical: {'yes' if same else 'NO'}")
    size = parts + data + meta
    print(f"history: {n_runs} runs, {size / n_runs / 1e6:.2f} MB per run stored, of which the parts' record "
          f"{parts / n_runs / 1e3:.0f} KB ({100 * parts / (size - parts):.1f} % more than without it)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
