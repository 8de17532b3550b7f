"""The planner's solver (offhost_audit/plan/solver.py) on a generated estate: 200 proxies, 10,000
Hyper-V hosts and 2,000 SMB shares (DECISIONS.md, "Planner"): each source has 5-20 eligible
proxies, and the sources' loads add up to at least 60 % of the proxies' capacity (times the
redundancy). Prints the groups, the model's size, the time, the status and the gap of each phase.

Eligibility comes from ``--profiles`` site/OS/fabric profiles (each a random set of 5-20 proxies
that every source of that profile shares, as an estate's eligibility does); ``--profiles 0`` gives
every source its own random set (the worst case for grouping).

``--estate N [--estate-jobs M]``: the whole planner instead, on the evaluated estate of
benchmarks/estate.py (N hosts, M jobs on automatic selection as in bench_jobs.py): the time to build
the model from the facts and findings, to plan, and to plan ``--without`` the first proxy.

Usage: python benchmarks/bench_plan.py [--proxies 200] [--hosts 10000] [--shares 2000]
       [--profiles 300] [--redundancy 1] [--time-limit 10] [--seed 1]
       python benchmarks/bench_plan.py --estate 10000 [--estate-jobs 500]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from offhost_audit.plan import solver

CAPACITIES = (64, 96, 128, 192, 256)  # max tasks of the generated proxies


def generate(
    proxies: int, hosts: int, shares: int, profiles: int, redundancy: int, utilisation: float, seed: int
) -> tuple[list[tuple[int, ...]], list[int], list[int], list[int]]:
    rnd = random.Random(seed)
    capacity = [rnd.choice(CAPACITIES) for _ in range(proxies)]
    sets = [tuple(sorted(rnd.sample(range(proxies), rnd.randint(5, 20)))) for _ in range(profiles)]
    eligible, raw = [], []
    for i in range(hosts + shares):
        eligible.append(rnd.choice(sets) if sets else tuple(sorted(rnd.sample(range(proxies), rnd.randint(5, 20)))))
        raw.append(rnd.randint(1, 4) if i < hosts else rnd.randint(2, 8))  # disks of a host, of a share
    # scale the loads so that they add up to `utilisation` of the capacity (each load counted K times)
    scale = utilisation * sum(capacity) / (redundancy * sum(raw))
    loads = [max(1, round(x * scale)) for x in raw]
    loads = [min(x, min(capacity[p] for p in e)) for x, e in zip(loads, eligible)]  # every source fits somewhere
    return eligible, loads, [redundancy] * len(loads), capacity


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxies", type=int, default=200)
    ap.add_argument("--hosts", type=int, default=10_000)
    ap.add_argument("--shares", type=int, default=2_000)
    ap.add_argument("--profiles", type=int, default=300)
    ap.add_argument("--redundancy", type=int, default=1)
    ap.add_argument("--utilisation", type=float, default=0.6)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--estate", type=int, default=0, metavar="HOSTS")
    ap.add_argument("--estate-jobs", type=int, default=500, metavar="JOBS")
    a = ap.parse_args()
    if a.estate:
        whole(a.estate, a.estate_jobs, a.time_limit)
        return
    t = time.perf_counter()
    eligible, loads, need, capacity = generate(
        a.proxies, a.hosts, a.shares, a.profiles, a.redundancy, a.utilisation, a.seed
    )
    gen = time.perf_counter() - t
    used = a.redundancy * sum(loads) / sum(capacity)
    n_groups = len(solver.groups(eligible, loads, need))
    print(
        f"{a.proxies} proxies, {a.hosts:,} hosts, {a.shares:,} shares, {a.profiles or 'no'} profiles, K={a.redundancy}: "
        f"load {used:.0%} of capacity, {n_groups:,} groups (generated in {gen:.2f} s)"
    )
    t = time.perf_counter()
    sol = solver.solve(eligible, loads, need, capacity, time_limit=a.time_limit)
    wall = time.perf_counter() - t
    for p in sol.phases:
        gap = "-" if p.gap is None else f"{p.gap:.2%}"
        print(
            f"  phase {p.objective:<16} {p.status:<11} value {p.value} bound {p.bound} gap {gap} in {p.seconds:.2f} s"
        )
    count = len({p for ps in sol.assigned for p in ps})
    print(
        f"method {sol.method}, status {sol.status}, {sol.variables:,} variables, {count} proxies used, "
        f"gap {'-' if sol.gap is None else f'{sol.gap:.2%}'}, {wall:.2f} s wall"
        + (f" ({sol.note})" if sol.note else "")
    )


def whole(hosts: int, jobs: int, time_limit: float) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_jobs
    import estate

    from offhost_audit import audit, facts as facts_doc, plan

    doc = bench_jobs.with_jobs(estate.generate(hosts), jobs)
    t = time.perf_counter()
    found = audit.evaluate_facts(facts_doc.validate(doc, source="generated"), jobs=1)
    evaluated = time.perf_counter() - t
    t = time.perf_counter()
    plan.Estate(doc, found)
    model = time.perf_counter() - t
    t = time.perf_counter()
    out = plan.make(doc, found, time_limit=time_limit)
    planned = time.perf_counter() - t
    t = time.perf_counter()
    what_if = plan.make(doc, found, time_limit=time_limit, without=[out["proxies"][0]["name"]])
    without = time.perf_counter() - t
    s = out["solver"]
    print(
        f"{hosts:,} hosts, {jobs} jobs: evaluated in {evaluated:.1f} s; model {model:.2f} s, plan {planned:.2f} s "
        f"(solver {s['seconds']:.2f} s, {s['status']}, {out['sources']:,} sources in {s['groups']:,} groups, "
        f"{out['proxies_needed']} of {len(out['proxies'])} proxies); --without {without:.2f} s "
        f"({len(what_if['what_if']['jobs'])} job(s) fall back)"
    )


if __name__ == "__main__":
    main()
