"""Benchmark: `evaluate --engine opa` against the embedded engine on a generated estate, one run each.

    python benchmarks/bench_engines.py               # 1,000 hosts
    python benchmarks/bench_engines.py --hosts 2000

Each side is what `offhost-audit evaluate --facts F --engine E` runs (audit.evaluate_file: read,
validate, compile, one engine pass, METADATA join, sort), from a cold cache (as a fresh process
would be). Prints both times, the ratio, and whether the findings are identical.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import estate

from offhost_audit import audit
from offhost_audit.engine import embedded, opa


def timed(path: Path, engine: str) -> tuple[float, list]:
    embedded._local.cache = {}
    opa._cache.clear()
    t0 = time.perf_counter()
    found, _ = audit.evaluate_file(path, engine=engine)
    return time.perf_counter() - t0, found


def main() -> int:
    ap = argparse.ArgumentParser(description="evaluate --engine opa vs embedded, one run each")
    ap.add_argument("--hosts", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "estate.json"
        doc = estate.generate(args.hosts)
        path.write_text(json.dumps(doc), encoding="utf-8")
        print(f"estate: {len(doc['hosts'])} hosts, {len(doc['vms'])} VMs, {path.stat().st_size / 1e6:.1f} MB")
        t_emb, f_emb = timed(path, "embedded")
        t_opa, f_opa = timed(path, "opa")
    same = [json.dumps(f, sort_keys=True) for f in f_emb] == [json.dumps(f, sort_keys=True) for f in f_opa]
    print(f"evaluate --engine embedded: {t_emb:.2f} s ({len(f_emb)} findings)")
    print(f"evaluate --engine opa     : {t_opa:.2f} s ({len(f_opa)} findings)")
    print(f"ratio opa / embedded: {t_opa / t_emb:.1f}x; findings identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
