"""`offhost-audit fix` on a generated estate: planning, writing the folder and validating the data
documents, with every proxy missing its Hyper-V role and Data Deduplication and every Veeam
service stopped (a step of three kinds per proxy).

Usage: python benchmarks/bench_fix.py [--hosts 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import estate  # noqa: E402

from offhost_audit import audit, fixes  # noqa: E402
from offhost_audit.reports import fix_folder  # noqa: E402


def broken(doc: dict) -> dict:
    for h in doc["hosts"]:
        if "proxy" in h["roles"]:
            h["features"].update(hyperv=False, dedup=False)
            for s in h.get("veeam_services") or []:
                s.update(status="stopped", start_type="disabled")
    return doc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=1000)
    args = ap.parse_args()
    doc = broken(estate.generate(args.hosts))
    t = time.perf_counter()
    found = audit.evaluate_facts(doc, jobs=1)
    evaluate = time.perf_counter() - t
    t = time.perf_counter()
    plan = fixes.plan(doc, found, run={"run": 1, "started_at": "bench"})
    planned = time.perf_counter() - t
    t = time.perf_counter()
    invalid = [p for h in plan.hosts.values() for p in fixes.validate(h.document(plan.run))]
    validated = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        names, _ = fix_folder.write(Path(d) / "fix", plan)
        written = time.perf_counter() - t
    steps = sum(len(h.steps) for h in plan.hosts.values())
    manual = sum(len(h.manual) for h in plan.hosts.values())
    print(
        f"{args.hosts} hosts, {len(found)} findings (evaluated in {evaluate:.2f} s): {len(plan.hosts)} machines, "
        f"{steps} scripted steps, {manual} manual; plan {planned:.3f} s, validate {validated:.3f} s "
        f"({len(invalid)} invalid), write {written:.3f} s ({len(names)} files)"
    )


if __name__ == "__main__":
    main()
