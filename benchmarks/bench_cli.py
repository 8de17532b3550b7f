"""Benchmark: whole `offhost-audit` processes against a raw regorus process, paired runs.

    python benchmarks/bench_cli.py                      # 1,000 and 10,000 hosts, 2 rounds
    python benchmarks/bench_cli.py --hosts 10000 --rounds 3 --jobs 1 2 0

Each round runs, one right after the other (so that the load of a shared machine hits them alike):

raw      a fresh Python process: import regorus, add the policies, set_input_json(file text),
         eval_rule_as_json("data.offhost.main.findings"), nothing written (the engine alone)
cli -jN  `offhost-audit evaluate --facts F --format json -o out.json --no-history --jobs N` (0: the
         default, the usable cores); --jobs 1 is the single pass. --no-history: storing the run in
         the history database is not evaluation (and costs several seconds at 10,000 hosts)
tiny     `evaluate` of the smallest shipped example and `--help`, against a raw process on that file;
         `evaluate` with a cold policy cache (an empty XDG_CACHE_HOME for each run: METADATA parsed and
         the profiles queried, the cache written) and a warm one (engine/policy_cache.py)

For each: wall time, CPU time (user+sys of the process and its children, resource.getrusage),
peak RSS (the largest of the process and its pool workers: ru_maxrss of RUSAGE_CHILDREN is the
largest child; the parent's and its workers' peaks do not add up because they do not coincide,
see the README), medians over the rounds. The findings of every run are compared (count and
digest of the JSON written).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import estate

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "offhost_audit.cli"]
TINY = ROOT / "examples" / "facts" / "csv-cluster-healthy.json"

RAW = r"""
import json, sys
import regorus
from pathlib import Path
root = Path(sys.argv[2])
eng = regorus.Engine()
for p in sorted(root.rglob("*.rego")):
    if not p.name.endswith("_test.rego"):
        eng.add_policy(str(p), p.read_text(encoding="utf-8"))
eng.add_data_json(json.dumps({"offhost": {"options": {"profile": "veeam-2025-08"}}}))
eng.set_input_json(Path(sys.argv[1]).read_text(encoding="utf-8"))
out = eng.eval_rule_as_json("data.offhost.main.findings")
print(len(out))
"""


def measure(cmd: list[str], *, before: Path | None = None, cache: Path | None = None) -> dict[str, float]:
    """Run cmd in a fresh child that reports its own children's rusage (so rounds do not mix)."""
    probe = (
        "import resource, subprocess, sys, time, json\n"
        "t0 = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "wall = time.perf_counter() - t0\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'rc': r.returncode, 'wall': wall, 'cpu': u.ru_utime + u.ru_stime,"
        " 'rss_mib': u.ru_maxrss / 1024}))\n"
    )
    # the other tree first on the path: `python -m` puts the working directory first, so run there too
    env = dict(os.environ, PYTHONPATH=str(before)) if before is not None else dict(os.environ)
    if cache is not None:  # the policy cache's folder (XDG_CACHE_HOME)
        env["XDG_CACHE_HOME"] = str(cache)
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, env=env, check=True,
                         cwd=before)
    return json.loads(out.stdout)


def digest(path: Path) -> str:
    """Of the findings written, parsed (the text's layout changed: one finding per line now)."""
    if not path.exists():
        return "-"
    found = json.loads(path.read_text(encoding="utf-8"))
    return hashlib.sha256(json.dumps(found, sort_keys=False).encode()).hexdigest()[:12]


def load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def bench(facts: Path, label: str, jobs: list[int], rounds: int, tmp: Path, before: Path | None = None) -> None:
    policies = ROOT / "policies"
    rows: dict[str, list[dict[str, float]]] = {}
    digests: dict[str, set[str]] = {}
    for r in range(rounds):
        plan = [("raw", [sys.executable, "-c", RAW, str(facts), str(policies)], None)]
        for j in jobs:
            out = tmp / f"out-j{j}.json"
            flag = [] if j < 0 else ["--jobs", str(j)]  # -1: no --jobs (a build before it existed)
            name = "cli" if j < 0 else f"cli --jobs {j or 'all'}"
            plan.append((name, [*CLI, "evaluate", "--facts", str(facts), "--format", "json", "-o", str(out),
                                "--fail-on", "critical", "--no-history", *flag], out))
        if before is not None:  # the same command from another source tree (e.g. the previous release)
            out = tmp / "out-before.json"
            plan.append(("cli (before)", [*CLI, "evaluate", "--facts", str(facts), "--format", "json", "-o", str(out),
                                          "--fail-on", "critical"], out))
        if r % 2:
            plan.reverse()  # alternate the order between rounds
        for name, cmd, out in plan:
            if out is not None and out.exists():
                out.unlink()
            m = measure(cmd, before=before if name == "cli (before)" else None)
            rows.setdefault(name, []).append(m)
            if out is not None:  # the other tree's policies may differ: its findings are not compared
                digests.setdefault("before" if name == "cli (before)" else "cli", set()).add(digest(out))
        print(f"  round {r + 1} done (load average {load_avg()})", flush=True)
    raw_cpu = statistics.median(m["cpu"] for m in rows["raw"])
    raw_wall = statistics.median(m["wall"] for m in rows["raw"])
    raw_rss = statistics.median(m["rss_mib"] for m in rows["raw"])
    print(f"{label}: medians of {rounds} paired round(s)")
    print(f"  {'':16s} {'wall s':>8s} {'cpu s':>8s} {'peak MiB':>9s} {'wall/raw':>9s} {'cpu/raw':>8s} {'rss/raw':>8s}")
    for name, ms in rows.items():
        wall = statistics.median(m["wall"] for m in ms)
        cpu = statistics.median(m["cpu"] for m in ms)
        rss = statistics.median(m["rss_mib"] for m in ms)
        print(f"  {name:16s} {wall:8.2f} {cpu:8.2f} {rss:9.0f} {wall / raw_wall:8.2f}x {cpu / raw_cpu:7.2f}x "
              f"{rss / raw_rss:7.2f}x")
    same = len(digests.get("cli", set())) <= 1
    print(f"  findings written by every cli run identical: {'yes' if same else 'NO: ' + ', '.join(digests['cli'])}")


def tiny(rounds: int, before: Path | None, tmp: Path) -> None:
    evaluate = [*CLI, "evaluate", "--facts", str(TINY), "--format", "json", "--no-history"]
    plans = {"raw (tiny file)": [sys.executable, "-c", RAW, str(TINY), str(ROOT / "policies")],
             "evaluate (cold)": evaluate,
             "evaluate (warm)": evaluate,
             "--help": [*CLI, "--help"]}
    if before is not None:
        plans["evaluate (before)"] = [*CLI, "evaluate", "--facts", str(TINY), "--format", "json"]
        plans["--help (before)"] = plans["--help"]
    rows: dict[str, list[dict[str, float]]] = {k: [] for k in plans}
    warm = tmp / "cache-warm"
    measure(evaluate, cache=warm)  # fills the warm cache
    for r in range(rounds):
        for k, cmd in plans.items():
            cache = tmp / f"cache-cold-{r}" if k == "evaluate (cold)" else warm
            rows[k].append(measure(cmd, before=before if "(before)" in k else None, cache=cache))
    raw = statistics.median(m["wall"] for m in rows["raw (tiny file)"])
    print(f"start-up: medians of {rounds} paired round(s)")
    for k, ms in rows.items():
        wall = statistics.median(m["wall"] for m in ms)
        cpu = statistics.median(m["cpu"] for m in ms)
        print(f"  {k:16s} wall {wall * 1000:6.0f} ms  cpu {cpu * 1000:6.0f} ms  {wall / raw:5.2f}x raw wall")


def main() -> int:
    ap = argparse.ArgumentParser(description="whole CLI process vs raw regorus process")
    ap.add_argument("--hosts", type=int, nargs="*", default=[1000, 10000], help="estate sizes (none: start-up only)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--jobs", type=int, nargs="*", default=[1, 2, 0], help="--jobs values (0: the default; -1: no --jobs option)")
    ap.add_argument("--tiny-rounds", type=int, default=5)
    ap.add_argument("--before", type=Path, metavar="DIR",
                    help="also run the CLI from this source tree (e.g. `git archive v0.1 | tar -x -C DIR`), without --jobs")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {load_avg()}")
    # byte-compile the package(s) first, as installing a wheel does: with PYTHONDONTWRITEBYTECODE
    # set (as here) every run would otherwise compile ~20 modules from source (~0.1 s)
    for tree in [ROOT] + ([args.before] if args.before else []):
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "offhost_audit")], check=True)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        if args.tiny_rounds:
            tiny(args.tiny_rounds, args.before, tmp)
        for n in args.hosts:
            path = tmp / f"estate-{n}.json"
            path.write_text(json.dumps(estate.generate(n)), encoding="utf-8")
            bench(path, f"{n:,} hosts ({path.stat().st_size / 1e6:.0f} MB of facts)", args.jobs, args.rounds, tmp,
                  args.before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
