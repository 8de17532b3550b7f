"""Collection benchmark: N lab hosts that cost what real Windows costs, collected through pywinrm, before
(``--no-batch``: one powershell.exe per script) and after (the batch: one powershell.exe per host).

The lab runs in its own process (`offhost-audit lab serve`, so the server does not share the client's
interpreter lock). The generated estate has one proxy per 4-node CSV cluster; every host delays each
HTTP answer by --latency seconds and charges the lab's Windows costs (offhost_audit/lab/costs.py:
process start, each module the first time a process loads it, each script's own work; --cost-scale
scales them). Per host, the floor of the batch is

    one process start + the modules its scripts load (once each) + the scripts' own time
    + 4 WS-Man calls x latency (Create, Command, Receive, Signal; the Send of the scripts travels
      while the process starts, and the shell's Delete comes after the collectors' durations)

Prints, for each mode, the wall time and the per-host wall time (the sum of that host's manifest
durations: its collectors run in turn), and for the batch its ratio to the floor (target <= 1.3x).

    python benchmarks/bench_collect.py --hosts 500 --latency 0.05 --concurrency 50
"""

from __future__ import annotations

import argparse
import math
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from offhost_audit import collect, facts, inventory  # noqa: E402
from offhost_audit.collectors import WINRM_COLLECTORS, pscommand  # noqa: E402
from offhost_audit.inventory.credentials import Resolver  # noqa: E402
from offhost_audit.lab.costs import HostCosts, modules_of  # noqa: E402


def _collect(inv: Any, args: argparse.Namespace, batch: bool) -> tuple[dict, float]:
    env = {"OFFHOST_LAB_USER": "lab\\auditor", "OFFHOST_LAB_PASSWORD": "Lab-Passw0rd!"}
    start = time.perf_counter()
    doc = collect.collect_facts(inv, concurrency=args.concurrency, call_timeout=30, target_timeout=600,
                                resolver=Resolver(env=env, interactive=False), batch=batch)
    return doc, time.perf_counter() - start


def _per_host(doc: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    for e in doc["collection"]:
        out[e["target"]] = out.get(e["target"], 0.0) + e["duration_ms"] / 1000
    return out


def _floor(roles: set[str], costs: HostCosts, latency: float) -> float:
    scripts = [pscommand.script(str(c.spec.script)) for c in WINRM_COLLECTORS if c.spec.kinds & roles]
    modules = {m for s in scripts for m in modules_of(s)}
    return costs.process_start_s + costs.load_s(modules) + costs.script_s * len(scripts) + 4 * latency


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=500)
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added to every WS-Man answer")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--cost-scale", type=float, default=1.0, help="scale the lab's Windows costs (1: as published)")
    ap.add_argument("--only", choices=("batch", "no-batch"), help="run one mode only")
    args = ap.parse_args()
    clusters = max(1, math.ceil(args.hosts / 5))  # 4 nodes + 1 proxy per cluster
    costs = {"scale": args.cost_scale}
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as tmp:
        sc = Path(tmp) / "bench.yaml"
        sc.write_text(yaml.safe_dump({"name": "bench", "generate": {
            "clusters": clusters, "nodes_per_cluster": 4, "vms_per_host": 2, "latency_s": args.latency, "costs": costs}}))
        inv_path = Path(tmp) / "inventory.yaml"
        lab = subprocess.Popen([sys.executable, "-m", "offhost_audit", "lab", "serve", "--scenario", str(sc), "--port", "0",
                                "--inventory-out", str(inv_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               cwd=ROOT)
        runs: dict[str, tuple[dict, float]] = {}
        try:
            while not inv_path.exists():
                if lab.poll() is not None:
                    print(lab.stderr.read().decode(), file=sys.stderr)
                    return 2
                time.sleep(0.2)
            inv = inventory.load(inv_path)
            for mode in ("no-batch", "batch"):
                if args.only in (None, mode):
                    runs[mode] = _collect(inv, args, batch=mode == "batch")
        finally:
            lab.send_signal(signal.SIGTERM)
            lab.wait(timeout=30)
    model = HostCosts.from_scenario(costs)
    latent = [h for h in inv.hosts if h.name != "VBR01"]
    floors = {h.name: _floor(set(h.roles), model, args.latency) for h in latent}
    print(f"hosts: {len(latent)} (+ backup server), concurrency {args.concurrency}, latency {args.latency * 1000:.0f} ms "
          f"per WS-Man call; process start {model.process_start_s:.2f} s, script {model.script_s:.2f} s "
          f"(lab/costs.py x {args.cost_scale:g})")
    ok_all = True
    for mode, (doc, wall) in runs.items():
        facts.validate(doc)
        entries = doc["collection"]
        ok = sum(e["status"] == "ok" for e in entries)
        ok_all &= ok == len(entries)
        per = _per_host(doc)
        walls = [per[h.name] for h in latent]
        ratios = [per[h.name] / floors[h.name] for h in latent]
        line = (f"{mode:>8}: wall {wall:6.1f} s; per-host wall median {statistics.median(walls):.2f} s, "
                f"p95 {sorted(walls)[int(0.95 * (len(walls) - 1))]:.2f} s; runs {len(entries)} ({ok} ok)")
        if mode == "batch":
            line += (f"; per-host / floor: median {statistics.median(ratios):.2f}x, max {max(ratios):.2f}x "
                     f"(target <= 1.3x; floor median {statistics.median(floors.values()):.2f} s)")
        print(line)
    if len(runs) == 2:
        before, after = (statistics.median(_per_host(runs[m][0]).values()) for m in ("no-batch", "batch"))
        print(f"per-host wall, before / after: {before / after:.1f}x")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB RSS (client)")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
