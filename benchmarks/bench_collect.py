"""Collection benchmark: N lab hosts with injected latency per WS-Man call, collected through pywinrm.

The lab runs in its own process (`offhost-audit lab serve`, so the server does not share the
client's interpreter lock); the generated estate has one proxy per 4-node CSV cluster, and every
host delays each HTTP answer by --latency seconds. Collection is latency-bound, so the floor is

    ceil(hosts / concurrency) x WS-Man calls per host x latency

(calls per host: Create + Delete of the shell + Command, Receive, Signal per script). Prints the
wall time, the floor, their ratio (target <= 1.3) and the client's peak memory.

    python benchmarks/bench_collect.py --hosts 500 --latency 0.05 --concurrency 50
"""

from __future__ import annotations

import argparse
import math
import resource
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from offhost_audit import collect, facts, inventory  # noqa: E402
from offhost_audit.collectors import WINRM_COLLECTORS  # noqa: E402
from offhost_audit.inventory.credentials import Resolver  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=500)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--tracemalloc", action="store_true", help="also measure Python heap peak (slows the run)")
    args = ap.parse_args()
    clusters = max(1, math.ceil(args.hosts / 5))  # 4 nodes + 1 proxy per cluster
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as tmp:
        sc = Path(tmp) / "bench.yaml"
        sc.write_text(yaml.safe_dump({"name": "bench", "generate": {"clusters": clusters, "nodes_per_cluster": 4,
                                                                    "vms_per_host": 2, "latency_s": args.latency}}))
        inv_path = Path(tmp) / "inventory.yaml"
        lab = subprocess.Popen([sys.executable, "-m", "offhost_audit", "lab", "serve", "--scenario", str(sc), "--port", "0",
                                "--inventory-out", str(inv_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               cwd=ROOT)
        try:
            while not inv_path.exists():
                if lab.poll() is not None:
                    print(lab.stderr.read().decode(), file=sys.stderr)
                    return 2
                time.sleep(0.2)
            inv = inventory.load(inv_path)
            env = {"OFFHOST_LAB_USER": "lab\\auditor", "OFFHOST_LAB_PASSWORD": "Lab-Passw0rd!"}
            if args.tracemalloc:
                tracemalloc.start()
            start = time.perf_counter()
            doc = collect.collect_facts(inv, concurrency=args.concurrency, call_timeout=30, target_timeout=600,
                                        resolver=Resolver(env=env, interactive=False))
            wall = time.perf_counter() - start
            heap = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
        finally:
            lab.send_signal(signal.SIGTERM)
            lab.wait(timeout=30)
    facts.validate(doc)
    entries = doc["collection"]
    latent = [h for h in inv.hosts if h.name != "VBR01"]
    scripts = {h.name: sum(1 for c in WINRM_COLLECTORS if c.spec.kinds & set(h.roles)) for h in latent}
    calls = max(2 + 3 * n for n in scripts.values())  # Create + Delete + (Command, Receive, Signal) per script
    floor = math.ceil(len(latent) / args.concurrency) * calls * args.latency
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ok = sum(e["status"] == "ok" for e in entries)
    print(f"hosts: {len(latent)} (+ backup server), concurrency {args.concurrency}, latency {args.latency * 1000:.0f} ms per call")
    print(f"collector runs: {len(entries)} ({ok} ok), WS-Man calls per host: {calls}")
    print(f"wall time: {wall:.2f} s   floor: {floor:.2f} s   ratio: {wall / floor:.2f}x (target <= 1.3x)")
    print(f"peak memory: {rss_mb:.0f} MiB RSS" + (f", Python heap peak {heap / 2**20:.0f} MiB" if heap else ""))
    return 0 if ok == len(entries) else 1


if __name__ == "__main__":
    sys.exit(main())
