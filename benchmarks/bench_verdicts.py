"""Benchmark: the one verdict function and the unknowns' advice on a generated estate.

    python benchmarks/bench_verdicts.py [--hosts 2000 10000] [--rounds 5]

judge   = verdicts.judge (every proxy x source pair, then per proxy and per source), best of the
          rounds (it pauses the cyclic garbage collector itself)
advice  = engine.metadata.enrich's part for unknown findings (which failed collector run explains
          each, and how to get the fact), with every host's winrm.system and winrm.hyperv failed
table   = console.table_text at 80 columns (the CLI summary: rows, fixes, advice, verdicts)

Findings are the real engine's (one pass, --jobs 1), evaluated once per estate size.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import estate

from offhost_audit import audit
from offhost_audit.findings import unknowns, verdicts
from offhost_audit.reports import console


def best(fn, rounds: int) -> float:
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, nargs="+", default=[2000, 10000])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    for n in args.hosts:
        doc = estate.generate(n)
        found = audit.evaluate_facts(doc, jobs=1)
        v = verdicts.judge(doc, found)
        print(f"{n:,} hosts: {len(found):,} findings, {len(v.cells):,} pairs, {len(v.by_proxy):,} proxies")
        secs = best(lambda doc=doc, found=found: verdicts.judge(doc, found), args.rounds)
        print(f"  judge   {secs * 1000:8.0f} ms")

        broken = copy.deepcopy(doc)
        broken["collection"] = [
            {
                "target": h["name"],
                "collector": c,
                "status": "error",
                "error": f"{h['name']}: authentication failed (HTTP 401)",
            }
            for h in broken["hosts"]
            for c in ("winrm.system", "winrm.hyperv")
        ]
        for h in broken["hosts"]:
            h["os"] = None
        unknown = audit.evaluate_facts(broken, jobs=1)
        failed = unknowns.index([e for e in unknowns.failures(broken) if e.get("error")])
        todo = [f for f in unknown if f["status"] == "unknown"]
        secs = best(lambda todo=todo, failed=failed: [unknowns.how_to_decide(f, failed) for f in todo], args.rounds)
        print(
            f"  advice  {secs * 1000:8.0f} ms  ({len(todo):,} unknown findings, {sum(map(len, failed.values())):,} failed runs)"
        )
        secs = best(lambda doc=doc, found=found: console.table_text(found, facts=doc, fail_on="high", width=80), 1)
        print(f"  table   {secs * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
