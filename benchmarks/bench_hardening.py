"""Benchmark: the hostile-input paths of issue 9, each bounded now.

    python benchmarks/bench_hardening.py            # everything
    python benchmarks/bench_hardening.py issue18    # only the issue-18 lines (below)

table     = console.table_text with one 3 MB message and one 3 MB warning (was 15 s; 50 MB never ended)
schema    = facts.validate on 1,500,000 hosts with a bad `os` each: stops after the first 25 in
            document order (was 232 s and 971 MB to print 25, sorted as text)
laughs    = inventory.loads of a 1 KB "billion laughs" file (was unbounded: 2.9 GB at 30 s)
nesting   = inventory.loads of 10,000 nested `[` (was a RecursionError traceback)
wdates    = waivers.loads of 20,000 waivers dated 9999-12-31 or 0001-01-01T00:00:00+01:00: every one
            named (was accepted, or an OverflowError at the first: exit 4; bench_waivers.py times the rest)
trickle   = one WinRM call (--timeout 3) against a server sending one byte per second (was > 150 s)

Issue 18 (each a fresh `offhost-audit` process, as cron runs it; a hang past 60 s is a failure):
cache-ok      = `evaluate` of the example facts with a good cache entry (the reference)
cache-fifo    = the same with a FIFO in place of the entry (was: hung forever)
cache-tamper  = the same with a world-writable entry saying another default profile and a
                javascript: doc link (was: used; now ignored, the findings unchanged)
prompt        = `audit` whose inventory says `prompt: true`, without a terminal (was exit 4 after a
                GetPassWarning; now exit 2)
sigterm       = from SIGTERM to the end of `demo`, its temporary folders removed (was: left behind)

dbdamage  = storing a run into a history whose pages were overwritten: refused before any write (was exit 4)
dbforeign = storing a run into another application's SQLite file: refused before the WAL switch (was exit 4)
dblock    = storing a run while another process holds the write lock, OFFHOST_AUDIT_DB_TIMEOUT=1 (default 60 s)
link      = the six report formats into a folder with links planted at every latest.* (victim unchanged)
quickchk  = the damage check before a history's first write, on a history of 200 runs of 1,000 hosts
Each must end within its bound (a hang is a failure: exit 1).
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
from offhost_audit.errors import AuditError  # noqa: E402
from offhost_audit.inventory.credentials import Credentials  # noqa: E402
from offhost_audit.reports import console  # noqa: E402

FAILED: list[str] = []


def timed(name: str, fn, bound: float = 300.0) -> None:
    start = time.perf_counter()
    try:
        fn()
        outcome = "ok"
    except AuditError as e:
        outcome = str(e).splitlines()[0][:90]
    seconds = time.perf_counter() - start
    if seconds > bound:
        FAILED.append(name)
        outcome = f"TOO SLOW (bound {bound:g} s): {outcome}"
    print(f"{name:<9} {seconds:7.2f} s  {outcome}")


def issue18() -> bool:
    """The issue-18 lines; False when something hung or gave the wrong answer."""
    import hashlib
    import os
    import signal
    import subprocess
    import tempfile

    example = ROOT / "examples" / "facts" / "csv-cluster-healthy.json"
    ok = True

    def cli(*args: str, env: dict[str, str], **kw) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "offhost_audit", *args], capture_output=True, text=True,
                              timeout=60, env={**os.environ, **env}, **kw)

    def line(name: str, fn, want: str) -> None:
        """fn() gives what happened, or (what happened, seconds) when it times only part of itself."""
        nonlocal ok
        start = time.perf_counter()
        try:
            got = fn()
        except subprocess.TimeoutExpired:
            got = "HANG (over 60 s)"
        got, took = got if isinstance(got, tuple) else (got, time.perf_counter() - start)
        ok = ok and got == want
        print(f"{name:<13} {took:7.2f} s  {got}{'' if got == want else f'  (WRONG: want {want})'}")

    with tempfile.TemporaryDirectory() as tmp:
        env = {"XDG_CACHE_HOME": f"{tmp}/cache", "XDG_DATA_HOME": f"{tmp}/data", "TMPDIR": tmp}
        expected = cli("evaluate", "-f", str(example), "--no-history", "--format", "json", env=env).stdout
        [entry] = Path(tmp, "cache", "offhost-audit", "policies").glob("regorus-*.json")
        good = entry.read_bytes()

        def evaluate() -> str:
            r = cli("evaluate", "-f", str(example), "--no-history", "--format", "json", env=env)
            return f"exit {r.returncode}, " + ("the same findings" if r.stdout == expected else "OTHER findings")

        line("cache-ok", evaluate, "exit 0, the same findings")
        entry.unlink()
        os.mkfifo(entry)
        line("cache-fifo", evaluate, "exit 0, the same findings")
        entry.unlink()
        header, body = good.decode().split("\n", 1)
        doc = json.loads(body)
        doc["default_profile"] = "veeam-2026-02"
        for _, meta in doc["metadata"]:
            meta["doc_url"] = "javascript:alert(1)"
        body = json.dumps(doc)
        head = dict(json.loads(header), digest=hashlib.sha256(body.encode()).hexdigest())
        entry.write_text(json.dumps(head) + "\n" + body)
        entry.chmod(0o666)
        line("cache-tamper", evaluate, "exit 0, the same findings")

        inv = Path(tmp, "inv.yaml")
        inv.write_text("defaults:\n  winrm: {scheme: http, auth: basic, message_encryption: never}\n"
                       "  credentials: {prompt: true, username: auditor}\n"
                       "proxies:\n  - {name: P1, address: 127.0.0.1, winrm: {port: 9}}\n")

        def prompt() -> str:
            r = cli("audit", "-i", str(inv), "-q", "--no-history", env=env, stdin=subprocess.DEVNULL,
                    start_new_session=True)
            return f"exit {r.returncode}, {'one line' if r.stderr.count(chr(10)) == 1 else 'NOT one line'}"

        line("prompt", prompt, "exit 2, one line")

        def sigterm() -> tuple[str, float]:
            folder = Path(tmp, "demo")
            folder.mkdir()
            proc = subprocess.Popen([sys.executable, "-m", "offhost_audit", "demo"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env={**os.environ, **env, "TMPDIR": str(folder)})
            end = time.monotonic() + 60
            while not any(folder.iterdir()) and time.monotonic() < end:
                time.sleep(0.01)
            proc.send_signal(signal.SIGTERM)
            start = time.perf_counter()
            try:
                code = proc.wait(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
            return f"exit {code}, {len(list(folder.iterdir()))} temporary folder(s) left", time.perf_counter() - start

        line("sigterm", sigterm, "exit 143, 0 temporary folder(s) left")
    return ok


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
    store()
    if not issue18():
        FAILED.append("issue18")
    if FAILED:
        sys.exit(f"hung or too slow: {', '.join(FAILED)}")


def store() -> None:
    """The history and report-folder classes of issue 18."""
    import os
    import sqlite3
    import subprocess
    import tempfile

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import estate

    from offhost_audit import audit
    from offhost_audit.reports.render import FORMATS, render
    from offhost_audit.store.history import History

    doc = json.loads((ROOT / "examples" / "facts" / "csv-cluster-healthy.json").read_text())
    found = audit.evaluate_facts(doc)
    with tempfile.TemporaryDirectory() as tmp:
        damaged = Path(tmp) / "damaged.sqlite"
        with History(damaged) as h:
            for _ in range(3):
                h.save_run({}, found, facts=doc)
        with open(damaged, "r+b") as f:
            f.seek(4096 * 2)
            f.write(b"\xa5" * 4096 * 4)
        timed("dbdamage", lambda: History(damaged).save_run({}, found), bound=5)

        foreign = Path(tmp) / "foreign.sqlite"
        con = sqlite3.connect(foreign)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
        timed("dbforeign", lambda: History(foreign).save_run({}, found), bound=5)

        locked = Path(tmp) / "locked.sqlite"
        History(locked).close()
        hold = "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); " \
               "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); time.sleep(60)"
        holder = subprocess.Popen([sys.executable, "-c", hold, str(locked)], stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        os.environ["OFFHOST_AUDIT_DB_TIMEOUT"] = "1"
        try:
            timed("dblock", lambda: History(locked).save_run({}, found), bound=5)
        finally:
            del os.environ["OFFHOST_AUDIT_DB_TIMEOUT"]
            holder.kill()
            holder.wait()

        rep, victim = Path(tmp) / "rep", Path(tmp) / "victim"
        rep.mkdir()
        victim.write_text("keep me\n")
        for _, ext in FORMATS.values():
            (rep / f"latest.{ext}").symlink_to(victim)
        run = audit.record_run(doc, found, save=False)

        def links() -> None:
            render(run, list(FORMATS), rep)
            assert victim.read_text() == "keep me\n"

        timed("link", links, bound=30)

        big = Path(tmp) / "big.sqlite"
        large = estate.generate(1000)
        large_found = audit.evaluate_facts(large)
        with History(big) as h:
            for _ in range(200):
                h.save_run({}, large_found, facts=large)
        size = big.stat().st_size / 1e6
        timed("quickchk", lambda: History(big)._before_write(), bound=30)
        print(f"          (a {size:.0f} MB history, {len(large_found):,} findings per run)")


if __name__ == "__main__":
    if sys.argv[1:] == ["issue18"]:
        sys.exit(0 if issue18() else 1)
    main()
