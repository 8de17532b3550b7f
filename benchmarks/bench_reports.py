"""Reports, history and diff at scale: every format at 50,000 findings (10,000 failing).

Findings are the real engine's on the 1,000-host benchmark estate (benchmarks/estate.py: real
messages and evidence), repeated with distinct subjects up to --findings, every fifth one failing.
Measures: each format's render + atomic write (time, size), all formats through one render()
call, the HTML opened in Debian's headless chromium (load to first drawn window, and one filter
keystroke to repaint), the history store / load of a run with the 1,000-host facts, and the diff
of two such runs.

    .venv/bin/python benchmarks/bench_reports.py [--findings 50000] [--no-browser]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "reports" / "support"))  # browser.py


def findings_at(n: int, base: list[dict]) -> list[dict]:
    out = []
    for i in range(n):
        f = copy.deepcopy(base[i % len(base)])
        s = f["subject"]
        s["name"] = f"{s['name']} #{i}"
        f["status"] = "fail" if i % 5 == 0 else ("unknown" if i % 97 == 0 else f["status"].replace("fail", "pass"))
        out.append(f)
    return out


CPU: dict[str, float] = {}


def timed(fn, *a, **kw):
    """(wall seconds, result); the CPU seconds of the call go to CPU[fn name] (the machine is shared:
    wall time includes waiting for a core, CPU time does not)."""
    t, c = time.perf_counter(), time.process_time()
    r = fn(*a, **kw)
    CPU[getattr(fn, "__name__", str(fn))] = time.process_time() - c
    return time.perf_counter() - t, r


def main() -> int:
    import os

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    ap = argparse.ArgumentParser()
    ap.add_argument("--findings", type=int, default=50_000)
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()

    import estate

    from offhost_audit import audit
    from offhost_audit.atomic import write_atomic
    from offhost_audit.reports import context, render as rmod
    from offhost_audit.store.diff import diff_runs
    from offhost_audit.store.history import History

    facts = estate.generate(args.hosts)
    base = audit.evaluate_facts(facts)
    found = findings_at(args.findings, base)
    n_fail = sum(f["status"] == "fail" for f in found)
    print(f"{len(found)} findings ({n_fail} failing), facts of {args.hosts} hosts")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = tmp / "h.sqlite"
        t_rec1, run1 = timed(audit.record_run, facts, found, db=db)
        changed = copy.deepcopy(found)
        for i, f in enumerate(changed):
            if f["status"] == "fail" and i % 3 == 0:
                f["status"] = "pass"
        t_rec2, run2 = timed(audit.record_run, facts, changed, db=db)
        with History(db) as h:
            t_load, loaded = timed(h.load, run2.id)
            t_prev, prev = timed(h.previous, run2.id)
            trend = h.runs()
        t_diff, d = timed(diff_runs, prev, loaded)
        print(f"history: record_run (waivers + store, facts included) {t_rec1:.2f}s / {t_rec2:.2f}s "
              f"(cpu {CPU['record_run']:.2f}s); load {t_load:.2f}s (cpu {CPU['load']:.2f}s); previous (findings only) "
              f"{t_prev:.2f}s; db {db.stat().st_size / 1e6:.1f} MB for 2 runs")
        print(f"diff of two runs: {t_diff:.2f}s (cpu {CPU['diff_runs']:.2f}s; {d.counts()['fixed']} fixed, "
              f"{d.counts()['still_failing']} still failing)")

        t_ctx, ctx = timed(context.build, loaded, previous=prev, trend=trend, fail_on="high")
        env = rmod.environment()
        print(f"context (summary, proxies, rules, diff): {t_ctx:.2f}s (cpu {CPU['build']:.2f}s)")
        print("  format   wall     cpu     size   (render + atomic write)")
        for fmt, (_, ext) in rmod.FORMATS.items():
            t0, c0 = time.perf_counter(), time.process_time()
            text = rmod.render_text(fmt, ctx, env)
            write_atomic(tmp / f"one.{ext}", text)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            print(f"  {fmt:<6} {dt:6.2f}s {dc:6.2f}s {len((tmp / f'one.{ext}').read_bytes()) / 1e6:6.2f} MB")
        t_all, paths = timed(rmod.render, loaded, list(rmod.FORMATS), tmp / "all", previous=prev, trend=trend,
                             fail_on="high", stamp=False)
        print(f"all formats through one render() (context included): {t_all:.2f}s (cpu {CPU['render']:.2f}s)")

        if not args.no_browser:
            browser_numbers(tmp / "all" / "latest.html")
    return 0


def browser_numbers(page: Path) -> None:
    import browser
    from selenium.webdriver.support.ui import WebDriverWait

    if not browser.available():
        print("chromium/chromedriver not installed: no browser numbers")
        return
    drv = browser.driver()
    try:
        for attempt in (1, 2):
            drv.get("about:blank")
            t0 = time.perf_counter()
            drv.get(page.as_uri())
            WebDriverWait(drv, 120).until(lambda d: d.execute_script(
                "return document.documentElement.getAttribute('data-ready')") == "1")
            wall = time.perf_counter() - t0
            drawn = drv.execute_script("return performance.getEntriesByName('findings-drawn')[0].startTime / 1000")
            in_dom = drv.execute_script("return document.querySelectorAll('#window .row').length")
            print(f"HTML in chromium (try {attempt}): opened and first window drawn in {wall:.2f}s wall "
                  f"({drawn:.2f}s after navigation start); rows in the DOM: "
                  f"{in_dom}")
        for term in ("ohp-010", "zzz-no-match", ""):
            t = drv.execute_script(
                "var q = document.getElementById('q'); q.value = arguments[0]; var t0 = performance.now();"
                "document.getElementById('f-status').dispatchEvent(new Event('change'));"
                "return performance.now() - t0;", term)
            print(f"  filter {term!r:>16}: {t:.0f} ms to re-filter and redraw ({drv.find_element('id', 'count').text})")
        reqs = browser.requests_made(drv)
        print(f"  requests besides the page: {len([u for u in reqs if u != page.as_uri()])}")
    finally:
        drv.quit()


if __name__ == "__main__":
    sys.exit(main())
