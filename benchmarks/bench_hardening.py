"""Benchmark: the hostile-input paths of issue 9, each bounded now.

    python benchmarks/bench_hardening.py

table     = console.table_text with one 3 MB message and one 3 MB warning (was 15 s; 50 MB never ended)
schema    = facts.validate on 1,500,000 hosts with a bad `os` each: stops after the first 25 in
            document order (was 232 s and 971 MB to print 25, sorted as text)
laughs    = inventory.loads of a 1 KB "billion laughs" file (was unbounded: 2.9 GB at 30 s)
nesting   = inventory.loads of 10,000 nested `[` (was a RecursionError traceback)
wdates    = waivers.loads of 20,000 waivers dated 9999-12-31 or 0001-01-01T00:00:00+01:00: every one
            named (was accepted, or an OverflowError at the first: exit 4; bench_waivers.py times the rest)
trickle   = one WinRM call (--timeout 3) against a server sending one byte per second (was > 150 s)
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "hardening"))

from offhost_audit import facts, inventory, waivers  # noqa: E402
from offhost_audit.collectors.base import Target  # noqa: E402
from offhost_audit.collectors.winrm import WinRMSession  # noqa: E402
from offhost_audit.credentials import Credentials  # noqa: E402
from offhost_audit.errors import AuditError  # noqa: E402
from offhost_audit.reports import console  # noqa: E402


def timed(name: str, fn) -> None:
    start = time.perf_counter()
    try:
        fn()
        outcome = "ok"
    except AuditError as e:
        outcome = str(e).splitlines()[0][:90]
    print(f"{name:<8} {time.perf_counter() - start:7.2f} s  {outcome}")


def main() -> None:
    finding = {"rule_id": "OHP-001", "title": "t", "severity": "high", "status": "unknown",
               "subject": {"name": "P"}, "message": "m" * 3_000_000, "remediation": "r"}
    timed("table", lambda: console.table_text([finding], warnings=["w" * 3_000_000]))

    doc = json.loads((ROOT / "examples" / "facts" / "csv-cluster-healthy.json").read_text())
    host = doc["hosts"][0]
    doc["hosts"] = [dict(host, name=f"H{i}", os="bad") for i in range(1_500_000)]
    timed("schema", lambda: facts.validate(doc, source="big.json"))
    del doc

    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"] + [
        f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]" for i in range(1, 9)]
    timed("laughs", lambda: inventory.loads("\n".join(lines) + "\n", source="laughs.yaml"))
    timed("nesting", lambda: inventory.loads("proxies: " + "[" * 10_000 + "]" * 10_000, source="deep.yaml"))
    dates = ["9999-12-31", "'0001-01-01T00:00:00+01:00'"]
    entry = "  - {{id: W-{i}, rule_id: OHP-010, subject: x, justification: j, expires: {d}}}\n"
    text = "waivers:\n" + "".join(entry.format(i=i, d=dates[i % 2]) for i in range(20_000))
    timed("wdates", lambda: waivers.loads(text, source="waivers.yaml"))

    from trickle import Trickle

    with Trickle() as slow:
        t = Target(name="SLOW", kind="proxy", address="127.0.0.1", port=slow.port, credentials=Credentials("u", "p"),
                   tls=False, options={"scheme": "http", "auth": "basic"})
        timed("trickle", lambda: WinRMSession(t, call_timeout=3).run("system.ps1"))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (mostly the 1.5 M-host document)")


if __name__ == "__main__":
    main()
