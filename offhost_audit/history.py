"""Run history: every audit/evaluate run in one SQLite file (stdlib ``sqlite3``, WAL).

API (used by the CLI, the reports and the TUI)::

    default_db_path() -> Path              # <user data dir>/history.sqlite (platformdirs)
    h = History(path=None)                 # opens (creates, migrates) path or the default; h.close()
    with History(path) as h: ...
    h.save_run(meta, findings, facts=None, started_at=None) -> int   # the new run's id
    h.runs(limit=None) -> list[RunSummary] # newest first: id, started_at, meta, counts
    h.load(run_id=None, facts=True) -> Run # None = the latest; InputError when there is none
    h.previous(run_id) -> Run | None       # the run before it (findings only)
    h.prune(keep) -> int                   # keep the newest `keep` runs; returns how many went

``Run(id, started_at, meta, facts, findings)`` (``offhost_audit.runs``, re-exported here):
``started_at`` is ISO 8601 UTC; ``meta`` holds what the audit service records (``audit.record_run``):
inventory hash, policy bundle hash, profile, engine, ``targets`` and ``rules`` in scope, warnings,
the waivers summary. Facts and findings are stored as zlib-compressed JSON. The schema version
lives in ``PRAGMA user_version``; ``_MIGRATIONS[i]`` takes a database from version i to i+1, all in
one ``BEGIN IMMEDIATE`` transaction, so concurrent openers migrate once. Writers take the write
lock with a busy timeout: two audits saving at once both land.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offhost_audit.errors import InputError
from offhost_audit.findings import SEVERITIES, STATUSES
from offhost_audit.perf import json_dumps, json_loads, paused_gc
from offhost_audit.runs import Run as Run, utc_now_iso as utc_now_iso  # here since the run left for runs.py

BUSY_TIMEOUT_S = 60.0
_ZLEVEL = 1  # level 1 is ~4x faster than 6 here and the file only ~15 % larger

_MIGRATIONS = (
    # 0 -> 1
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        meta TEXT NOT NULL,
        counts TEXT NOT NULL
    ) STRICT;
    CREATE TABLE run_data (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        findings BLOB NOT NULL,
        facts BLOB
    ) STRICT;
    CREATE INDEX runs_started ON runs(started_at);
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)


def default_db_path() -> Path:
    """The history file under the user's data directory (``platformdirs.user_data_dir``)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("offhost-audit", appauthor=False)) / "history.sqlite"


@dataclass
class RunSummary:
    id: int
    started_at: str
    meta: dict[str, Any]
    counts: dict[str, Any]


def run_counts(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """What a run summary shows: findings by status, failures by severity."""
    status: dict[Any, int] = {s: 0 for s in STATUSES}
    fail_sev: dict[Any, int] = {s: 0 for s in SEVERITIES}
    for f in findings:
        st = f.get("status")
        status[st] = status.get(st, 0) + 1
        if st == "fail":
            fail_sev[f.get("severity")] = fail_sev.get(f.get("severity"), 0) + 1
    return {"total": len(findings), "status": status, "fail_by_severity": fail_sev}


def _pack(obj: Any, large: bool) -> bytes:
    return zlib.compress(json_dumps(obj, large=large), _ZLEVEL)


def _unpack(blob: bytes | None) -> Any:
    if blob is None:
        return None
    with paused_gc():
        return json_loads(zlib.decompress(blob))


class History:
    """One history database. Not shared between threads: open one per thread (cheap)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path else default_db_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            if self._journal_mode_wal().lower() != "wal":
                raise InputError(f"{self.path}: cannot use WAL mode on this file system (history database)")
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise InputError(f"{self.path}: not a usable offhost-audit history database: {e}") from None
        except OSError as e:
            raise InputError(f"{self.path}: cannot open the history database: {e}") from None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _journal_mode_wal(self) -> str:
        """Switch to WAL (once per database: the mode is stored in the file) and return the mode.

        Two processes opening a new database at once can both hold a read lock and both want the
        exclusive lock the switch needs; SQLite then answers one of them "database is locked" at
        once, without the busy timeout (a deadlock to it). That one tries again, within the timeout.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                return str(self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
            if version > SCHEMA_VERSION:
                raise InputError(
                    f"{self.path}: history schema version {version} is newer than this offhost-audit "
                    f"understands ({SCHEMA_VERSION}); upgrade offhost-audit or use another --db"
                )
            for i in range(version, SCHEMA_VERSION):
                for stmt in _MIGRATIONS[i].split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def save_run(
        self,
        meta: dict[str, Any],
        findings: list[dict[str, Any]],
        facts: dict[str, Any] | None = None,
        started_at: str | None = None,
    ) -> int:
        """Store one run in one transaction; returns its id."""
        started = started_at or utc_now_iso()
        large = len(findings) > 512  # orjson: 3x faster for a large run (its import costs more for a small one)
        blob_findings, blob_facts = _pack(findings, large), (_pack(facts, large) if facts is not None else None)
        row = (started, json.dumps(meta, ensure_ascii=False), json.dumps(run_counts(findings)))
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cur = self._db.execute("INSERT INTO runs (started_at, meta, counts) VALUES (?, ?, ?)", row)
            assert cur.lastrowid is not None  # an INSERT sets it
            run_id = int(cur.lastrowid)
            self._db.execute(
                "INSERT INTO run_data (run_id, findings, facts) VALUES (?, ?, ?)", (run_id, blob_findings, blob_facts)
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return run_id

    def runs(self, limit: int | None = None) -> list[RunSummary]:
        """Run summaries, newest first."""
        sql = "SELECT id, started_at, meta, counts FROM runs ORDER BY id DESC"
        rows = self._db.execute(sql + " LIMIT ?", (limit,)) if limit else self._db.execute(sql)
        return [RunSummary(r[0], r[1], json.loads(r[2]), json.loads(r[3])) for r in rows]

    def load(self, run_id: int | None = None, *, facts: bool = True) -> Run:
        """One run (None = the latest). InputError when the history has no such run."""
        cols = "r.id, r.started_at, r.meta, d.findings" + (", d.facts" if facts else "")
        sql = f"SELECT {cols} FROM runs r JOIN run_data d ON d.run_id = r.id "
        if run_id is None:
            row = self._db.execute(sql + "ORDER BY r.id DESC LIMIT 1").fetchone()
            if row is None:
                raise InputError(
                    f"{self.path}: the history has no runs yet (run `offhost-audit audit` or `evaluate` first)"
                )
        else:
            row = self._db.execute(sql + "WHERE r.id = ?", (int(run_id),)).fetchone()
            if row is None:
                raise InputError(f"{self.path}: no run {run_id} in the history (`offhost-audit history` lists them)")
        return Run(
            id=row[0],
            started_at=row[1],
            meta=json.loads(row[2]),
            findings=_unpack(row[3]),
            facts=_unpack(row[4]) if facts else None,
        )

    def previous(self, run_id: int, *, facts: bool = False) -> Run | None:
        """The run stored just before run_id, or None."""
        row = self._db.execute("SELECT id FROM runs WHERE id < ? ORDER BY id DESC LIMIT 1", (int(run_id),)).fetchone()
        return self.load(row[0], facts=facts) if row else None

    def prune(self, keep: int) -> int:
        """Delete all but the newest ``keep`` runs; returns how many were deleted."""
        if keep < 1:
            raise InputError(f"--keep-runs must be 1 or more, not {keep}")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            ids = [r[0] for r in self._db.execute("SELECT id FROM runs ORDER BY id DESC LIMIT -1 OFFSET ?", (keep,))]
            self._db.executemany("DELETE FROM runs WHERE id = ?", [(i,) for i in ids])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return len(ids)
