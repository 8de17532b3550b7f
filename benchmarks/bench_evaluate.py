"""Benchmark: the full `evaluate` path against the raw engine on a generated estate.

    python benchmarks/bench_evaluate.py                 # 10,000 hosts, median of 3 runs
    python benchmarks/bench_evaluate.py --hosts 1000 --runs 5 --per-rule

full  = audit.evaluate_file, what `offhost-audit evaluate` runs before printing: file read, JSON
        parse, schema validation, policy compile, one engine pass, findings parse, METADATA
        join, sort
sequential = the same steps timed one by one (the breakdown)
raw   = regorus alone: new engine, the same policies, the same options, set_input_json(text),
        eval_rule_as_json("data.offhost.main.findings")
Targets (issue 2): full <= 1.2 x raw, and full < 2 s for 10,000 hosts on the 2-core CI machine.
--per-rule times each rule package's `findings` alone (to find the slow rules).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import regorus

sys.path.insert(0, str(Path(__file__).resolve().parent))
import estate

from offhost_audit import audit, facts
from offhost_audit.engine import embedded
from offhost_audit.engine.metadata import enrich
from offhost_audit.engine.sources import read_sources
from offhost_audit.findings import sorted_findings
from offhost_audit.resources import policies_dir

PROFILE = "veeam-2025-08"


def raw_engine(sources, text: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    eng = regorus.Engine()
    for s in sources:
        eng.add_policy(s.name, s.text)
    eng.add_data_json(json.dumps({"offhost": {"options": {"profile": PROFILE}}}))
    eng.set_input_json(text)
    out = eng.eval_rule_as_json(embedded.FINDINGS_RULE)
    dt = time.perf_counter() - t0
    return dt, len(json.loads(out))


def full_path(path: Path, policies: Path | None) -> tuple[float, int]:
    """What `offhost-audit evaluate` runs: audit.evaluate_file."""
    embedded._local.cache = {}  # compile as a fresh `offhost-audit evaluate` process would
    t0 = time.perf_counter()
    found, _ = audit.evaluate_file(path, profile=PROFILE, policies=policies)
    return time.perf_counter() - t0, len(found)


def sequential_path(path: Path, policies: Path | None) -> tuple[float, dict[str, float], int]:
    """The same work step by step, with the time of each step."""
    embedded._local.cache = {}
    t0 = time.perf_counter()
    doc, text = facts.load_with_text(path)
    t1 = time.perf_counter()
    compiled = embedded.compiled(policies)
    raw = compiled.evaluate_json(text, embedded.resolve_profile(compiled, doc, PROFILE))
    t2 = time.perf_counter()
    found = sorted_findings(enrich(raw, compiled.metadata, doc))
    t3 = time.perf_counter()
    return t3 - t0, {"load+validate": t1 - t0, "compile+engine": t2 - t1, "join+sort": t3 - t2}, len(found)


def validation(doc: dict) -> tuple[float, float, int]:
    """Schema validation alone (issue 12): a valid document, and one with a problem in every host (the
    first facts.SHOWN_PROBLEMS + 1 messages computed, as `evaluate` does)."""
    t0 = time.perf_counter()
    assert facts.schema_problems(doc) == []
    t1 = time.perf_counter()
    bad = dict(doc, hosts=[dict(h, name=1) for h in doc["hosts"]])
    t2 = time.perf_counter()
    n = len(facts.schema_problems(bad, limit=facts.SHOWN_PROBLEMS + 1))
    return t1 - t0, time.perf_counter() - t2, n


def per_rule(sources, text: str) -> None:
    eng = regorus.Engine()
    for s in sources:
        eng.add_policy(s.name, s.text)
    eng.add_data_json(json.dumps({"offhost": {"options": {"profile": PROFILE}}}))
    rows = []
    for s in sources:
        m = re.search(r"^package\s+(\S+)", s.text, re.M)
        if not m or not re.search(r"^findings contains", s.text, re.M) or m.group(1) == "offhost.main":
            continue
        e = eng.clone()
        e.set_input_json(text)
        t0 = time.perf_counter()
        n = len(json.loads(e.eval_rule_as_json(f"data.{m.group(1)}.findings")))
        rows.append((time.perf_counter() - t0, n, m.group(1)))
    for dt, n, pkg in sorted(rows, reverse=True):
        print(f"  {dt:8.3f} s  {n:7d} findings  {pkg}")


def main() -> int:
    ap = argparse.ArgumentParser(description="full evaluate path vs raw regorus")
    ap.add_argument("--hosts", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--facts", type=Path, help="use this facts file instead of generating an estate")
    ap.add_argument("--per-rule", action="store_true", help="also time each rule package alone")
    ap.add_argument("--policies", type=Path, help="policy folder (default: the shipped policies)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.facts
        if path is None:
            path = Path(tmp) / "estate.json"
            doc = estate.generate(args.hosts)
            path.write_text(json.dumps(doc), encoding="utf-8")
            print(f"estate: {len(doc['hosts'])} hosts, {len(doc['clusters'])} clusters, {len(doc['vms'])} VMs, "
                  f"{len(doc['shares'])} shares, {path.stat().st_size / 1e6:.1f} MB")
        text = path.read_text(encoding="utf-8")
        sources = read_sources(args.policies or policies_dir())
        raws, fulls, seqs, parts = [], [], [], []
        for i in range(args.runs):
            # interleaved, so that machine noise and drift hit both sides alike
            r, n_raw = raw_engine(sources, text)
            f, n_full = full_path(path, args.policies)
            q, p, n_seq = sequential_path(path, args.policies)
            raws.append(r)
            fulls.append(f)
            seqs.append(q)
            parts.append(p)
            print(f"run {i + 1}: raw {r:.3f} s ({n_raw} findings), full {f:.3f} s ({n_full}), "
                  f"sequential {q:.3f} s ({n_seq})", flush=True)
            if not n_raw == n_full == n_seq:
                print("  findings differ between raw and full!", file=sys.stderr)
                return 1
        raw_m, full_m, seq_m = statistics.median(raws), statistics.median(fulls), statistics.median(seqs)
        print(f"raw engine     : median {raw_m:.3f} s, best {min(raws):.3f} s")
        print(f"full (evaluate): median {full_m:.3f} s, best {min(fulls):.3f} s   "
              f"ratio {full_m / raw_m:.2f}x median, {min(fulls) / min(raws):.2f}x best (target <= 1.20x, < 2 s)")
        print(f"sequential     : median {seq_m:.3f} s, best {min(seqs):.3f} s   ratio {seq_m / raw_m:.2f}x median")
        for k in parts[0]:
            print(f"  {k:15s} {statistics.median(p[k] for p in parts):.3f} s")
        doc = json.loads(text)
        vals = [validation(doc) for _ in range(args.runs)]
        print(f"validation     : valid document median {statistics.median(v[0] for v in vals):.3f} s, "
              f"invalid ({vals[0][2]} messages) median {statistics.median(v[1] for v in vals):.3f} s")
        if args.per_rule:
            print("per rule package (alone, includes shared lib work):")
            per_rule(sources, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
