"""Promises: every number from the user is bounded (run ids, --limit, --keep, --keep-runs: one clear
usage line, exit 2, never an OverflowError); text read from a crafted history never reaches the
terminal as control characters in `history` or `diff`."""

from __future__ import annotations

import json
import re
import sqlite3
import zlib

import pytest
from promise_kit import EXAMPLE_FACTS
from store_kit import cli, stored_history

HUGE = [("0", "zero"), ("-1", "negative"), (str(2**63), "2**63"), (str(10**30), "10**30")]


@pytest.mark.parametrize("value,_", HUGE)
@pytest.mark.parametrize(
    "args",
    [
        ["diff", "V"],
        ["diff", "1", "V"],
        ["report", "V", "-o", "OUT"],
        ["tui", "--run", "V"],
        ["evaluate", "-f", "FACTS", "--keep-runs", "V"],
        ["evaluate", "-f", "FACTS", "--report", "OUT", "--keep", "V"],
        ["report", "-o", "OUT", "--keep", "V"],
        ["history", "--limit", "V"],
    ],
)
def test_out_of_range_numbers_are_one_usage_line_exit_2(tmp_path, args, value, _):
    if args[:2] == ["history", "--limit"] and value == "0":
        value = "-5"  # 0 is documented: all runs
    db = stored_history(tmp_path, runs=1) if args[0] in ("diff", "report", "tui") else tmp_path / "h.sqlite"
    argv = [
        a.replace("V", value).replace("OUT", str(tmp_path / "rep")).replace("FACTS", str(EXAMPLE_FACTS)) for a in args
    ]
    r = cli(*argv, "--db", str(db), timeout=60)
    assert r.returncode == 2, r.stderr
    errors = [line for line in r.stderr.splitlines() if not line.startswith(("usage:", " "))]
    assert len(errors) == 1 and "Traceback" not in r.stderr and "Overflow" not in r.stderr, r.stderr
    assert re.search(r"from \d+ to 9223372036854775807", errors[0]), errors[0]
    assert not (tmp_path / "rep").exists()


def _crafted(tmp_path):
    """A real history whose stored text carries terminal escapes (as a crafted file would)."""
    db = stored_history(tmp_path, runs=2)
    con = sqlite3.connect(db, isolation_level=None)
    evil = "\x1b]0;owned\x07\x1b[2J\x9b31m"
    for rid, meta in con.execute("SELECT id, meta FROM runs").fetchall():
        m = json.loads(meta)
        m.update(profile=f"p{evil}", engine=f"e{evil}", facts_file=f"f{evil}")
        con.execute("UPDATE runs SET meta = ?, started_at = ? WHERE id = ?", (json.dumps(m), f"2026{evil}", rid))
    for rid, blob in con.execute("SELECT run_id, findings FROM run_data").fetchall():
        found = json.loads(zlib.decompress(blob))
        for f in found:
            f["subject"]["name"] += evil
            f["title"] = f"{f.get('title')}{evil}"
        con.execute(
            "UPDATE run_data SET findings = ? WHERE run_id = ?", (zlib.compress(json.dumps(found).encode()), rid)
        )
    con.close()
    return db


def _no_controls(text: str) -> None:
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), repr(text[:300])


@pytest.mark.parametrize(
    "args", [["history"], ["history", "--format", "json"], ["diff", "1", "2"], ["diff", "1", "2", "--format", "json"]]
)
def test_control_characters_from_a_crafted_history_never_reach_the_terminal(tmp_path, args):
    db = _crafted(tmp_path)
    r = cli(*args, "--db", str(db))
    assert r.returncode == 0, r.stderr
    _no_controls(r.stdout + r.stderr)
    assert ("2026" if args[0] == "history" else "OHP-") in r.stdout
