"""Benchmark: the split evaluation against the single pass, and what more cores would give.

    python benchmarks/bench_split.py                     # 1,000 and 10,000 hosts
    python benchmarks/bench_split.py --hosts 500 1000 2000 --rounds 3 --no-projection

For each estate (benchmarks/estate.py), in this process (no CLI start-up, no output written):

single   one engine pass over the whole estate here
parts -j1 pool.evaluate(..., jobs=1, min_hosts=0): its parts one after the other here (--jobs 1)
pool -j2 pool.evaluate(..., jobs=2, min_hosts=0): the parts in 2 spawned workers
         wall time and CPU (this process + its workers, resource.getrusage), paired rounds;
         --engine opa compares the same on OPA's engine

Then the per-core projection (--no-projection skips it): the estate is split as it would be for
N workers (N x PARTS_PER_JOB parts) and every part is evaluated here, one after the other, timing
its CPU; projected wall(N) = serial + worker start-up + the longest worker's share, where the
parts go to the least loaded worker, largest first (what the pool does), serial is what the
parent does alone (read, validate, split, findings parse, join, sort, JSON write: measured here),
and start-up is one spawned worker's CPU to import and compile (measured). The projection
assumes N idle cores and memory bandwidth to spare; the 2-core line can be checked against the
measured pool.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import estate

from offhost_audit import facts as facts_doc
from offhost_audit.atomic import write_atomic
from offhost_audit.engine import embedded, pool, split
from offhost_audit.engine.metadata import enrich
from offhost_audit.engine.sources import dumps_compact
from offhost_audit.findings import sorted_findings
from offhost_audit.reports import findings_json

PROFILE = "veeam-2025-08"


def cpu_now() -> float:
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def timed(fn):
    c0, t0 = cpu_now(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, cpu_now() - c0


def startup_cpu() -> float:
    """CPU of one spawned worker, start to exit, that evaluates an empty estate (interpreter start,
    imports, policy compilation, the pool's pickling): the fixed cost of each worker."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    empty = dumps_compact({"schema_version": 1, "hosts": []})
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = c.ru_utime + c.ru_stime
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as ex:
        ex.submit(pool.evaluate_part, "embedded", str(embedded.compiled().root), PROFILE, empty).result()
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return c.ru_utime + c.ru_stime - before


def makespan(times: list[float], workers: int) -> float:
    loads = [0.0] * workers
    for t in sorted(times, reverse=True):
        loads[loads.index(min(loads))] += t
    return max(loads)


def compare(doc: dict, text: str, rounds: int, engine: str = "embedded") -> None:
    from offhost_audit.engine import engine_module

    compiled = engine_module(engine).compiled()
    rows: dict[str, list[tuple[float, float]]] = {"single": [], "parts -j1": [], "pool -j2": []}
    for r in range(rounds):
        plan = [("single", 1, 10**9), ("parts -j1", 1, 0), ("pool -j2", 2, 0)]
        for name, jobs, least in (plan if r % 2 == 0 else plan[::-1]):
            found, wall, cpu = timed(lambda: pool.evaluate(compiled, engine, doc, text, PROFILE, jobs=jobs,
                                                           min_hosts=least))
            rows[name].append((wall, cpu))
            assert found, "no findings"
    base_wall = statistics.median(w for w, _ in rows["single"])
    base_cpu = statistics.median(c for _, c in rows["single"])
    for name, ms in rows.items():
        wall, cpu = statistics.median(w for w, _ in ms), statistics.median(c for _, c in ms)
        print(f"  {name:9s} wall {wall:6.2f} s ({wall / base_wall:4.2f}x)  cpu {cpu:6.2f} s ({cpu / base_cpu:4.2f}x)")


def serial_cpu(path: Path, doc: dict, text: str) -> float:
    """What the parent does alone around the engine, in CPU seconds."""
    compiled = embedded.compiled()
    t0 = time.process_time()
    facts_doc.loads(facts_doc.read_text(path), source=str(path))
    t1 = time.process_time()
    raw_text = compiled.evaluate_json_text(text, PROFILE)
    t2 = time.process_time()
    parts = split.plan(doc, 4)
    _ = [dumps_compact(p) for p in parts or []]
    raw = embedded.findings_list(raw_text)
    found = sorted_findings(enrich(raw, compiled.metadata, doc))
    with tempfile.TemporaryDirectory() as tmp:
        write_atomic(Path(tmp) / "out.json", findings_json.chunks(found))
    t3 = time.process_time()
    return (t1 - t0) + (t3 - t2)


def projection(path: Path, doc: dict, text: str) -> None:
    compiled = embedded.compiled()
    serial = serial_cpu(path, doc, text)
    start = startup_cpu()
    t = time.process_time()
    compiled.evaluate_json_text(text, PROFILE)
    whole = time.process_time() - t
    print(f"  projection: serial {serial:.2f} s, worker start-up {start:.2f} s, one pass {whole:.2f} s CPU")
    one = serial + whole
    print(f"  {'cores':>5s} {'parts':>5s} {'sum of parts':>12s} {'longest worker':>14s} {'projected wall':>14s} {'speed-up':>8s}")
    for n in (2, 4, 8, 16):
        parts = split.plan(doc, n * pool.PARTS_PER_JOB) or []
        times = []
        for p in parts:
            ptext = dumps_compact(p)
            t = time.process_time()
            compiled.evaluate_json_text(ptext, PROFILE)
            times.append(time.process_time() - t)
        span = makespan(times, n)
        wall = serial + start + span
        print(f"  {n:5d} {len(parts):5d} {sum(times):11.2f}s {span:13.2f}s {wall:13.2f}s {one / wall:7.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description="split evaluation vs single pass, and the per-core projection")
    ap.add_argument("--hosts", type=int, nargs="*", default=[1000, 10000])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-projection", action="store_true")
    ap.add_argument("--engine", choices=("embedded", "opa"), default="embedded",
                    help="the engine of the single pass / pool comparison (the projection is the embedded engine's)")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.hosts:
            doc = estate.generate(n)
            path = Path(tmp) / f"estate-{n}.json"
            text = json.dumps(doc)
            path.write_text(text, encoding="utf-8")
            print(f"{n:,} hosts: {len(split.components(doc) or [])} independent parts; medians of {args.rounds} paired round(s)")
            compare(doc, text, args.rounds, args.engine)
            if not args.no_projection:
                projection(path, doc, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
