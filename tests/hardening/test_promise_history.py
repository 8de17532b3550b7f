"""Promises: the history fails clearly and loses nothing.

A damaged database, another application's SQLite file, a read-only file or folder, a full disk and a
lock held too long are each one line naming the file and what to do: exit 2 (3 for the lock) from
the commands that read the history, never 4. `evaluate`/`audit` still write their findings and
reports, warn in one line and exit 6 (errors.combine with the findings' code). A damaged or foreign
file is never written to; reading commands never create a database.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3

import pytest
from promise_kit import EXAMPLE_FACTS
from store_kit import (
    cli,
    digest,
    file_size_limit,
    lock_held,
    one_line,
    sql,
    stored_history,
    timed,
    without_dac_override,
)


def _overwrite_pages(db: os.PathLike, first_page: int = 3) -> None:
    """Garbage over every page from ``first_page`` on (a disk or a copy gone wrong)."""
    size = os.path.getsize(db)
    page = sqlite3.connect(db).execute("PRAGMA page_size").fetchone()[0]
    with open(db, "r+b") as f:
        f.seek(page * (first_page - 1))
        f.write(bytes((i * 37 + 11) % 256 for i in range(size - page * (first_page - 1))))


def _evaluate_json(db, *extra: str, **kw):
    """A healthy run (exit 0 on its own) into ``db``, its findings as JSON."""
    return cli("evaluate", "-f", str(EXAMPLE_FACTS), "--db", str(db), "--format", "json", *extra, **kw)


def _evaluate_into(db, tmp_path, *extra: str, **kw):
    """A healthy run (exit 0 on its own) into ``db``, its findings to -o and its reports to a folder."""
    out, rep = tmp_path / "findings.json", tmp_path / "rep"
    r = _evaluate_json(db, "-o", str(out), "--report", str(rep), "-F", "md,json", "-q", *extra, **kw)
    return r, out, rep


def test_a_damaged_database_is_one_line_exit_2_for_history(tmp_path):
    db = stored_history(tmp_path)
    _overwrite_pages(db, first_page=2)  # the runs table itself
    r = cli("history", "--db", str(db))
    assert r.returncode == 2 and str(db) in one_line(r.stderr) and "damaged" in r.stderr


def test_a_damaged_database_is_never_written_to_and_the_run_is_not_lost(tmp_path):
    db = stored_history(tmp_path)
    _overwrite_pages(db)
    before = digest(db)
    r, out, rep = _evaluate_into(db, tmp_path)
    assert r.returncode == 6, r.stderr
    line = one_line(r.stderr)
    assert line.startswith("offhost-audit: warning: this run was not stored") and str(db) in line and "damaged" in line
    assert digest(db) == before
    assert json.loads(out.read_text()) and (rep / "latest.md").is_file() and (rep / "latest.json").is_file()


def test_a_damaged_run_is_refused_by_diff_report_and_tui_before_anything_starts(tmp_path):
    db = stored_history(tmp_path, runs=3)
    sql(db, "UPDATE run_data SET findings = x'789c0102' WHERE run_id = 2")  # a truncated zlib stream
    for args in (["diff", "1", "2"], ["report", "2", "-o", str(tmp_path / "rep")], ["tui", "--run", "2"]):
        r = cli(*args, "--db", str(db), timeout=60)
        assert r.returncode == 2, (args, r.stderr)
        line = one_line(r.stderr)
        assert str(db) in line and "run 2" in line and "damaged" in line
    assert not (tmp_path / "rep").exists()


def test_findings_that_are_not_findings_are_a_damaged_run(tmp_path):
    import zlib

    db = stored_history(tmp_path)
    blob = zlib.compress(json.dumps([{"status": 7}]).encode()).hex()
    sql(db, f"UPDATE run_data SET findings = x'{blob}' WHERE run_id = 1")
    r = cli("tui", "--run", "1", "--db", str(db), timeout=60)
    assert r.returncode == 2 and "run 1: its findings are not a list of findings" in one_line(r.stderr)


def test_damaged_metadata_is_one_line_exit_2(tmp_path):
    db = stored_history(tmp_path)
    sql(db, "UPDATE runs SET meta = '{\"profile\": ' WHERE id = 1")
    r = cli("history", "--db", str(db))
    assert r.returncode == 2 and "run 1: its metadata cannot be read" in one_line(r.stderr)


def test_a_missing_table_is_a_damaged_database(tmp_path):
    db = stored_history(tmp_path)
    sql(db, "DROP TABLE run_data")
    before = digest(db)
    for args in (["history"], ["diff"], ["evaluate", "-f", str(EXAMPLE_FACTS), "-q"]):
        r = cli(*args, "--db", str(db))
        assert r.returncode == (6 if args[0] == "evaluate" else 2), r.stderr
        assert "table run_data is missing" in one_line(r.stderr)
    assert digest(db) == before


@pytest.mark.parametrize("kind", ["another schema", "another application id"])
def test_another_applications_sqlite_file_is_refused_before_anything_changes(tmp_path, kind):
    other = tmp_path / "crm.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO customers (name) VALUES ('Contoso')")
    if kind == "another application id":
        con.execute("PRAGMA application_id = 1234")
        con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    before = digest(other)
    r, out, _ = _evaluate_into(other, tmp_path)
    assert r.returncode == 6 and "not an offhost-audit history database" in one_line(r.stderr)
    assert out.is_file() and digest(other) == before
    assert sqlite3.connect(other).execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # never switched to WAL
    r = cli("history", "--db", str(other))
    assert r.returncode == 2 and str(other) in one_line(r.stderr)


def test_a_read_only_database_file_keeps_the_run_and_says_so(tmp_path):
    db = stored_history(tmp_path)
    db.chmod(0o444)  # the folder stays writable: only the file is read-only
    before = digest(db)
    r = _evaluate_json(db, preexec=without_dac_override)
    assert r.returncode == 6 and json.loads(r.stdout)
    line = one_line(r.stderr)
    assert str(db) in line and "read-only" in line and digest(db) == before
    listing = cli("history", "--db", str(db), preexec=without_dac_override)
    assert listing.returncode == 0 and "facts.json" in listing.stdout  # reading still works


def test_a_read_only_folder_keeps_the_run_and_says_so(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    db = locked / "history.sqlite"
    r = _evaluate_json(db, preexec=without_dac_override)
    assert r.returncode == 6 and json.loads(r.stdout) and str(db) in one_line(r.stderr)
    assert not db.exists()


def test_a_full_disk_keeps_the_run_and_says_so(tmp_path):
    db = stored_history(tmp_path)
    size = os.path.getsize(db)
    facts = json.loads(EXAMPLE_FACTS.read_text())
    facts["generator"] = secrets.token_hex(50_000)  # 100 KB that do not compress: the run needs the room
    big = tmp_path / "big.json"
    big.write_text(json.dumps(facts))
    # room for the shared-memory index (32 KiB) but not for the run's pages in the write-ahead log
    r = cli("evaluate", "-f", str(big), "--db", str(db), "--format", "json", preexec=file_size_limit(64_000))
    assert r.returncode == 6, r.stderr
    assert json.loads(r.stdout) and str(db) in one_line(r.stderr) and "full disk" in r.stderr
    ok = cli("history", "--db", str(db), "--format", "json")
    assert ok.returncode == 0 and len(json.loads(ok.stdout)) == 2 and os.path.getsize(db) >= size


def test_a_lock_held_too_long_is_exit_3_for_readers(tmp_path):
    db = stored_history(tmp_path)
    with lock_held(db, "exclusive"):
        r, seconds = timed(lambda: cli("history", "--db", str(db), env={"OFFHOST_AUDIT_DB_TIMEOUT": "1"}))
    assert r.returncode == 3 and "locked by another process for more than 1 s" in one_line(r.stderr)
    assert seconds < 30


def test_a_lock_held_too_long_keeps_the_run_and_exits_6(tmp_path):
    db = stored_history(tmp_path)
    with lock_held(db, "write"):
        r = _evaluate_json(db, env={"OFFHOST_AUDIT_DB_TIMEOUT": "1"})
    assert r.returncode == 6 and json.loads(r.stdout) and "locked" in one_line(r.stderr)


def test_the_findings_code_wins_over_not_stored(tmp_path):
    from store_kit import PROBLEMS

    db = tmp_path / "not-a-db.sqlite"
    db.write_text("plain text\n")
    r = cli("evaluate", "-f", str(PROBLEMS), "--db", str(db), "-q")
    assert r.returncode == 1 and "not stored" in one_line(r.stderr)  # combine(1, 6) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["history"],
        ["history", "--format", "json"],
        ["diff"],
        ["diff", "1", "2"],
        ["report", "-o", "REP"],
        ["tui", "--run", "1"],
        ["tui"],
    ],
)
def test_reading_commands_never_create_a_database(tmp_path, args):
    db = tmp_path / "sub" / "history.sqlite"
    args = [a.replace("REP", str(tmp_path / "rep")) for a in args]
    r = cli(*args, "--db", str(db), timeout=60)
    assert not db.exists() and not db.parent.exists()
    if args[0] == "history":
        assert r.returncode == 0 and r.stderr == "" and ("no runs" in r.stdout or r.stdout.strip() == "[]")
    else:
        assert r.returncode == 2 and "no history database here" in one_line(r.stderr)


def test_a_version_1_history_is_upgraded_in_place_and_keeps_its_runs(tmp_path):
    db = tmp_path / "v1.sqlite"
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.executescript("""
        CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, meta TEXT NOT NULL,
                           counts TEXT NOT NULL) STRICT;
        CREATE TABLE run_data (run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
                               findings BLOB NOT NULL, facts BLOB) STRICT;
        CREATE INDEX runs_started ON runs(started_at);
        PRAGMA user_version = 1;
    """)
    import zlib

    for i in (1, 2):
        con.execute(
            "INSERT INTO runs (started_at, meta, counts) VALUES (?, ?, ?)",
            (f"2026-11-0{i}T00:00:00Z", json.dumps({"inventory": "/etc/inv.yaml"}), json.dumps({"total": 0})),
        )
        con.execute("INSERT INTO run_data (run_id, findings) VALUES (?, ?)", (i, zlib.compress(b"[]")))
    con.close()
    r = cli("diff", "--db", str(db))
    assert r.returncode == 0 and r.stdout.startswith("run 1 (2026-11-01T00:00:00Z) -> run 2"), r.stderr
    assert sqlite3.connect(db).execute("SELECT estate FROM runs").fetchall() == [("inventory:/etc/inv.yaml",)] * 2


def test_a_damaged_previous_run_still_gives_the_reports_of_a_new_one(tmp_path):
    db = stored_history(tmp_path)  # runs 1 and 2 of tmp_path/facts.json
    sql(db, "UPDATE run_data SET findings = x'00' WHERE run_id = 2")
    rep = tmp_path / "rep"
    r = cli("evaluate", "-f", str(tmp_path / "facts.json"), "--db", str(db), "--report", str(rep), "-F", "md", "-q")
    assert r.returncode == 0  # stored (run 3) and reported: only the comparison is missing, and said so
    line = one_line(r.stderr)
    assert "leave out the change since the previous run" in line and "run 2" in line
    assert "No previous run to compare with." in (rep / "latest.md").read_text()


@pytest.mark.parametrize(
    "change",
    ["meta targets", "meta waivers", "finding message", "finding severity", "finding evidence", "facts collection"],
)
def test_a_crafted_run_is_refused_as_damaged_never_a_crash(tmp_path, change):
    import zlib

    db = stored_history(tmp_path)
    con = sqlite3.connect(db, isolation_level=None)
    where, key = change.split()
    if where == "meta":
        meta = json.loads(con.execute("SELECT meta FROM runs WHERE id = 2").fetchone()[0])
        meta[key] = 5 if key == "targets" else {"expired": "soon"}
        con.execute("UPDATE runs SET meta = ? WHERE id = 2", (json.dumps(meta),))
    else:
        column = "findings" if where == "finding" else "facts"
        doc = json.loads(zlib.decompress(con.execute(f"SELECT {column} FROM run_data WHERE run_id = 2").fetchone()[0]))
        for f in doc if where == "finding" else [doc]:
            f[key] = {"message": 5, "severity": "bogus", "evidence": "x", "collection": False}[key]
        con.execute(f"UPDATE run_data SET {column} = ? WHERE run_id = 2", (zlib.compress(json.dumps(doc).encode()),))
    con.close()
    for args in (["report", "2", "-o", str(tmp_path / "rep")], ["diff", "1", "2"], ["history"]):
        r = cli(*args, "--db", str(db))
        if args[0] == "diff" and where == "facts" or args[0] == "history" and where != "meta":
            assert r.returncode == 0, r.stderr  # what they read is intact
            continue
        assert r.returncode == 2 and "run 2: its" in one_line(r.stderr) and "damaged" in r.stderr, (args, r.stderr)
