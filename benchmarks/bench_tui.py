"""Benchmark: the TUI with 500 and 50,000 findings (headless Textual, 120x40).

    python benchmarks/bench_tui.py                # 500 and 50,000 findings, 3 runs each
    python benchmarks/bench_tui.py --sizes 50000 --runs 1

Findings are real: a generated estate (benchmarks/estate.py) evaluated by the shipped policies,
cut to the size, saved once; each run is its own process that loads them (peak memory is that
process's ru_maxrss: the facts and findings loaded, plus the app).

first paint  = from building the app (session in hand) to the dashboard mounted with its counts,
               verdicts and manifest filled in (App.run_test entered)
findings     = from the key 2 to the findings list's first frame with rows (first filter pass)
filter       = keystroke to repaint while typing a filter one key at a time, then deleting it: a
               Key event posted as the terminal driver does, until the list has drawn a frame of the
               new rows (the debounced filter worker done, the compositor called render_line); the
               20 ms debounce is inside every number; keys 50 ms apart
peak memory  = the process's peak RSS (loading the JSON included), and the RSS the app added on top
               of the loaded facts and findings (current RSS after the typing minus before the app)
Targets (issue 11): first paint < 0.5 s, filter p95 < 100 ms at 50,000 findings.

    python benchmarks/bench_tui.py --open 10000   # open a facts file of that many hosts, 3 runs

open         = `tui --facts FILE` on a generated estate, each run its own process doing what the
               command does (compile the policies, read the file, build the app), from the
               process's first line of Python (imports included) to:
               first frame  the activity line drawn (the first frame, with progress)
               evaluated    the findings in and the dashboard filled in (validation and the
                            evaluation on the process pool in a worker thread)
               longest stall  the longest gap between two ticks of a 50 ms timer on the event loop
                            while it loaded (what a key pressed meanwhile could wait)
switch       = then P, the other profile, Enter: from the Enter key to the activity line drawn
               with the new profile (first sign of progress), and to the new findings shown
Targets (issue 17): first frame < 1 s; a profile switch shows progress at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

T0 = time.perf_counter()  # "first frame" counts from here: before the package and Textual are imported

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

QUERY = "host:prx0004 status:fail,unknown sev:high+"


def _findings(n: int) -> tuple[dict, list[dict]]:
    import estate

    from offhost_audit import audit

    doc = estate.generate(max(20, n // 4 + 20))
    found = audit.evaluate_facts(doc)
    if len(found) < n:
        raise SystemExit(f"the estate gave {len(found)} findings, fewer than {n}")
    return doc, found[:n]


def _rss_mb() -> float:
    """Peak RSS of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


async def _measure(doc: dict, found: list[dict]) -> dict:
    from offhost_audit.tui.app import build_app
    from offhost_audit.tui.session import Session
    from offhost_audit.tui.widgets.findings_list import FindingsList

    async def painted(lst: FindingsList, version: int, timeout: float = 30.0) -> None:
        end = time.perf_counter() + timeout
        while lst.painted_version < version:
            if time.perf_counter() > end:
                raise SystemExit(f"the findings list never repainted ({lst.rows_version=} {lst.painted_version=} {version=} {app.focused=} {app.screen.query_one('#filter').value=})")
            await asyncio.sleep(0.0005)

    before = _rss_now_mb()
    s = Session(doc, found, source="benchmark")
    t0 = time.perf_counter()
    app = build_app(s)
    async with app.run_test(size=(120, 40)) as pilot:
        while not str(app.screen.query_one("#counts").render()):
            await asyncio.sleep(0.0005)
        first_paint = time.perf_counter() - t0
        await app.workers.wait_for_complete()  # the index warm-up
        t1 = time.perf_counter()
        key(app, "2")
        while app.current_mode != "findings" or not app.screen.query(FindingsList):
            await asyncio.sleep(0.0005)
        lst = app.screen.query_one(FindingsList)
        await painted(lst, 1)
        findings_paint = time.perf_counter() - t1
        await pilot.press("p")  # show passes too: every filter pass scans all findings
        await app.workers.wait_for_complete()
        await pilot.press("slash")
        keys = list(QUERY) + ["backspace"] * len(QUERY)
        lat, shown = [], []
        for k in keys:
            want = lst.rows_version + 1
            t = time.perf_counter()
            key(app, k)
            await painted(lst, want)
            lat.append(time.perf_counter() - t)
            shown.append(len(app.screen.view_rows))
            await asyncio.sleep(0.05)  # a fast typist: a key every ~50-80 ms
    lat.sort()
    return {"findings": len(found), "first_paint_s": round(first_paint, 3), "findings_paint_s": round(findings_paint, 3),
            "filter_p50_ms": round(statistics.median(lat) * 1000, 1),
            "filter_p95_ms": round(lat[int(0.95 * (len(lat) - 1))] * 1000, 1),
            "filter_max_ms": round(lat[-1] * 1000, 1), "keys": len(lat), "rows_at_full_query": shown[len(QUERY) - 1],
            "peak_rss_mb": round(_rss_mb(), 1), "app_added_mb": round(_rss_now_mb() - before, 1)}


async def _measure_open(path: str, t0: float) -> dict:
    from offhost_audit.engine import engine_module
    from offhost_audit.tui.app import build_app
    from offhost_audit.tui.session import Session
    from offhost_audit.tui.widgets.activity import Activity

    engine_module("embedded").compiled()  # as cmd_tui does before the app starts
    s = Session.for_facts_file(path)
    app = build_app(s)
    gaps: list[float] = []

    async def until(cond, timeout: float = 600.0) -> float:
        end = time.perf_counter() + timeout
        while not cond():
            if time.perf_counter() > end:
                raise SystemExit("timed out")
            await asyncio.sleep(0.002)
        return time.perf_counter()

    async with app.run_test(size=(120, 40)) as pilot:
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        app.set_interval(0.05, tick)
        activity = app.screen.query_one(Activity)
        first = await until(lambda: activity.frames > 0) - t0
        done = await until(lambda: s.pending is None and app.busy is None
                           and str(app.screen.query_one("#counts").render()).startswith(f"{len(s.findings):,} findings")) - t0
        stall = max(gaps, default=0.0)
        await app.workers.wait_for_complete()
        await pilot.press("P")
        await pilot.pause()
        other = next(p for p in s.profiles() if p != s.current_profile())
        await pilot.press("down" if s.profiles().index(other) > s.profiles().index(s.current_profile()) else "up")
        frames = activity.frames
        t1 = time.perf_counter()
        key(app, "enter")
        sign = await until(lambda: activity.frames > frames and other in activity.shown) - t1
        switched = await until(lambda: app.busy is None and s.current_profile() == other) - t1
    return {"hosts": len(s.facts.get("hosts") or []), "findings": len(s.findings), "first_frame_s": round(first, 3),
            "evaluated_s": round(done, 3), "longest_stall_s": round(stall, 3), "switch_sign_s": round(sign, 3),
            "switch_done_s": round(switched, 3), "peak_rss_mb": round(_rss_mb(), 1)}


def key(app, k: str) -> None:
    """What the terminal driver sends for a keystroke (as Pilot does, without its waits)."""
    from textual import events
    from textual.keys import _character_to_key

    event = events.Key(_character_to_key(k), k) if len(k) == 1 else events.Key(k, None)
    event.set_sender(app)
    app._driver.send_message(event)


def open_child(path: str, t0: float) -> None:
    print(json.dumps(asyncio.run(_measure_open(path, t0))))


def bench_open(hosts: int, runs: int) -> None:
    import estate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "estate.json"
        path.write_text(json.dumps(estate.generate(hosts)), encoding="utf-8")
        size = path.stat().st_size / 2**20
        results = []
        for _ in range(runs):
            out = subprocess.run([sys.executable, __file__, "--open-child", str(path)], capture_output=True,
                                 text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(f"open a {hosts:,}-host facts file ({size:.0f} MB, {results[0]['findings']:,} findings; median of "
          f"{len(results)}): first frame {med['first_frame_s']:.2f} s, evaluated {med['evaluated_s']:.1f} s, "
          f"longest event-loop stall {med['longest_stall_s']:.2f} s; profile switch: first sign of progress "
          f"{med['switch_sign_s'] * 1000:.0f} ms, done {med['switch_done_s']:.1f} s; peak RSS {med['peak_rss_mb']:.0f} MB")
    print("        runs: " + json.dumps(results))


def child(path: str) -> None:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    print(json.dumps(asyncio.run(_measure(data["facts"], data["findings"]))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 50_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--open", type=int, metavar="HOSTS", help="measure opening a facts file of HOSTS hosts instead")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--open-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    if args.open_child:
        open_child(args.open_child, T0)
        return
    if args.open:
        bench_open(args.open, args.runs)
        return
    for n in args.sizes:
        results = []
        doc, found = _findings(n)
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "run.json"
            data.write_text(json.dumps({"facts": doc, "findings": found}), encoding="utf-8")
            del doc, found
            for _ in range(args.runs):
                out = subprocess.run([sys.executable, __file__, "--child", str(data)], capture_output=True, text=True,
                                     check=True)
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        med = {k: statistics.median(r[k] for r in results) for k in results[0] if isinstance(results[0][k], (int, float))}
        print(f"{n:>6} findings (median of {len(results)}): first paint {med['first_paint_s']:.3f} s, "
              f"findings list {med['findings_paint_s']:.3f} s, filter p50 {med['filter_p50_ms']:.0f} ms "
              f"p95 {med['filter_p95_ms']:.0f} ms max {med['filter_max_ms']:.0f} ms ({results[0]['keys']} keys), "
              f"peak RSS {med['peak_rss_mb']:.0f} MB (app +{med['app_added_mb']:.0f} MB)")
        print("        runs: " + json.dumps(results))


if __name__ == "__main__":
    main()
