"""Stage 2 (the job rules, findings/jobs.py) on a generated estate: what the jobs add to an audit.

Prints the evaluation time of the estate without jobs, with N jobs (automatic selection, fail-over
on, each over one cluster) and the stage-2 part alone (input built from stage 1's findings, then
the query), and the per-job verdict every face shows (findings/job_verdicts.py, over the findings
with jobs). Usage: python benchmarks/bench_jobs.py [--hosts 1000] [--jobs 200] [--engine embedded]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import estate  # noqa: E402

from offhost_audit import audit  # noqa: E402
from offhost_audit.engine import embedded, engine_module  # noqa: E402
from offhost_audit.engine.sources import dumps_compact  # noqa: E402
from offhost_audit.findings import job_verdicts, jobs, verdicts  # noqa: E402


def with_jobs(doc: dict, n: int) -> dict:
    out = copy.deepcopy(doc)
    clusters = [c["name"] for c in out.get("clusters") or []]
    vbr = out.setdefault("vbr", {}) or {}
    for p in vbr.get("proxies") or []:
        p.update(online=True, out_of_date=False)
    vbr["jobs"] = [
        {
            "name": f"Job {i:04d}",
            "enabled": True,
            "mode": "off_host",
            "proxies": {"automatic": True},
            "failover_to_on_host": True,
            "sources": [{"kind": "cluster", "name": clusters[i % len(clusters)]}],
        }
        for i in range(n)
    ]
    out["vbr"] = vbr
    return out


def timed(fn, rounds: int) -> float:
    seen = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        seen.append(time.perf_counter() - t)
    return statistics.median(seen)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--engine", default="embedded")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    plain = estate.generate(a.hosts)
    doc = with_jobs(plain, a.jobs)
    compiled = engine_module(a.engine).compiled()
    profile = compiled.default_profile
    stage1 = compiled.evaluate_json(dumps_compact(plain), profile)
    found = []

    def stage2() -> None:
        found[:] = compiled.evaluate_json(
            dumps_compact(jobs.stage_input(doc, stage1)), profile, embedded.JOB_FINDINGS_RULE
        )

    t_plain = timed(lambda: audit.evaluate_facts(plain, engine=a.engine, jobs=1), a.rounds)
    t_jobs = timed(lambda: audit.evaluate_facts(doc, engine=a.engine, jobs=1), a.rounds)
    t_two = timed(stage2, a.rounds)
    every = audit.evaluate_facts(doc, engine=a.engine, jobs=1)
    judged = verdicts.judge(doc, every)
    t_faces = timed(lambda: job_verdicts.judge_jobs(doc, every, judged), a.rounds)
    t_faces_alone = timed(lambda: job_verdicts.judge_jobs(doc, every), a.rounds)
    print(f"{len(plain['hosts']):,} hosts, {a.jobs} jobs, engine {a.engine}, median of {a.rounds}")
    print(f"  evaluate without jobs: {t_plain:.2f} s")
    print(f"  evaluate with jobs:    {t_jobs:.2f} s")
    print(f"  stage 2 alone:         {t_two:.2f} s ({len(found):,} job findings)")
    print(f"  job verdicts (faces):  {t_faces:.3f} s given the pair verdicts, {t_faces_alone:.3f} s with them")


if __name__ == "__main__":
    main()
