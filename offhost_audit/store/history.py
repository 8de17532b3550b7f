"""Run history: every audit/evaluate run in one SQLite file (stdlib ``sqlite3``, WAL).

API (used by the CLI, the reports and the TUI)::

    default_db_path() -> Path              # <user data dir>/history.sqlite (platformdirs)
    h = History(path=None, create=True)    # opens (creates, migrates) path or the default; h.close()
    with History(path, create=False) as h: ...   # reading commands: a missing file is an error, never created
    h.save_run(meta, findings, facts=None, started_at=None) -> int   # the new run's id
    h.runs(limit=None, estate=ANY, up_to=None) -> list[RunSummary]  # newest first
    h.load(run_id=None, facts=True) -> Run # None = the latest; HistoryError when there is none
    h.previous(run_id) -> Run | None       # the run of the same estate stored before it (findings only)
    h.prune(keep) -> int                   # keep the newest `keep` runs; returns how many went
    h.add_report_files(folder, files) / h.report_files_beyond(folder, fmt, keep) / h.forget_report_files(ids)

``Run(id, started_at, meta, facts, findings)`` (``offhost_audit.store.runs``, re-exported here):
``started_at`` is ISO 8601 UTC; ``meta`` holds what the audit service records (``audit.record_run``):
inventory hash, policy bundle hash, profile, engine, ``targets`` and ``rules`` in scope, warnings,
the waivers summary, the ``estate`` (the inventory or facts file it audited). Facts and findings are
stored as zlib-compressed JSON. The schema version lives in ``PRAGMA user_version`` and the file is
marked with ``PRAGMA application_id``; ``_MIGRATIONS[i]`` takes a database from version i to i+1, all
in one ``BEGIN IMMEDIATE`` transaction, so concurrent openers migrate once. Writers take the write
lock with a busy timeout: two audits saving at once both land.

Before anything is changed in an existing file (the switch to WAL included) it is checked to be an
offhost-audit history; before the first write, ``PRAGMA quick_check`` makes sure it is not damaged.
Every failure is a :class:`HistoryError` (exit 2) or :class:`HistoryLockedError` (exit 3), one line.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import urllib.parse
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offhost_audit.findings import SEVERITIES, STATUSES
from offhost_audit.perf import json_dumps, json_loads, paused_gc
from offhost_audit.store.history_checks import findings_checker, meta_problem, summary_counts
from offhost_audit.store.history_errors import (
    HistoryError as HistoryError,
    HistoryLockedError as HistoryLockedError,
    busy_timeout,
    damaged,
    foreign,
    missing,
    translate,
)
from offhost_audit.store.runs import Run as Run, utc_now_iso as utc_now_iso  # here since the run left for runs.py

_ZLEVEL = 1  # level 1 is ~4x faster than 6 here and the file only ~15 % larger
APPLICATION_ID = 0x4F484141  # "OHAA": marks the file as an offhost-audit history
MAX_ID = 2**63 - 1  # SQLite's INTEGER
ANY: Any = object()  # runs(estate=ANY): every estate

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
    # 1 -> 2: the estate of each run (change since the previous run compares the same estate), and
    # the report files this tool wrote (--keep removes only those)
    """
    ALTER TABLE runs ADD COLUMN estate TEXT;
    UPDATE runs SET estate = CASE
        WHEN NOT json_valid(meta) THEN NULL
        WHEN json_extract(meta, '$.estate') IS NOT NULL THEN json_extract(meta, '$.estate')
        WHEN json_extract(meta, '$.inventory') IS NOT NULL THEN 'inventory:' || json_extract(meta, '$.inventory')
        WHEN json_extract(meta, '$.facts_file') IS NOT NULL THEN 'facts:' || json_extract(meta, '$.facts_file')
    END;
    CREATE INDEX runs_estate ON runs(estate, id);
    CREATE TABLE report_files (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        folder TEXT NOT NULL,
        name TEXT NOT NULL,
        format TEXT NOT NULL,
        run_id INTEGER,
        written_at TEXT NOT NULL,
        identity TEXT NOT NULL
    ) STRICT;
    CREATE INDEX report_files_folder ON report_files(folder, format, id);
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)
_TABLES = {1: {"runs": {"id", "started_at", "meta", "counts"}, "run_data": {"run_id", "findings", "facts"}}}
_TABLES[2] = {**_TABLES[1], "runs": _TABLES[1]["runs"] | {"estate"}, "report_files": {"folder", "name", "identity"}}


def default_db_path() -> Path:
    """The history file under the user's data directory (``platformdirs.user_data_dir``)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("offhost-audit", appauthor=False)) / "history.sqlite"


def estate_of(meta: dict[str, Any]) -> str | None:
    """Which estate a run audited: its ``estate`` key, else the inventory or facts file it names."""
    if isinstance(meta.get("estate"), str):
        return str(meta["estate"])
    for key, kind in (("inventory", "inventory"), ("facts_file", "facts")):
        if meta.get(key):
            return f"{kind}:{meta[key]}"
    return None


@dataclass
class RunSummary:
    id: int
    started_at: str
    meta: dict[str, Any]
    counts: dict[str, Any]


@dataclass
class ReportFile:
    id: int
    name: str
    format: str
    identity: str  # "device:inode:size:mtime_ns" of the file as written


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
    """One history database. Not shared between threads: open one per thread (cheap).

    ``create=False`` (the reading commands): a missing file is a :class:`HistoryError`, never created."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, create: bool = True) -> None:
        self.path = Path(path) if path else default_db_path()
        self._checked = False
        self._db: sqlite3.Connection | None = None
        try:
            self._open(create)
        except BaseException:
            self.close()
            raise

    def _open(self, create: bool) -> None:
        exists = self._check_file(create)
        if not exists:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise translate(self.path, e) from None
        uri = "file:" + urllib.parse.quote(str(self.path.absolute())) + ("?mode=rw" if exists else "?mode=rwc")
        with self._errors():
            self._db = sqlite3.connect(uri, uri=True, timeout=busy_timeout(), isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            version = self._check_schema()
            if self._journal_mode().lower() != "wal":
                self._before_write()
                if self._journal_mode_wal().lower() != "wal":
                    raise HistoryError(f"{self.path}: cannot use WAL mode on this file system (history database)")
            if version != SCHEMA_VERSION:
                self._before_write()
                self._migrate()

    def _check_file(self, create: bool) -> bool:
        """Whether the file exists; refuses what is plainly not an SQLite database (nothing opened yet)."""
        try:
            with open(self.path, "rb") as f:
                head = f.read(16)
        except FileNotFoundError:
            if not create:
                raise missing(self.path) from None
            return False
        except IsADirectoryError:
            raise HistoryError(f"{self.path}: is a folder; give --db a file") from None
        except OSError as e:
            raise translate(self.path, e) from None
        if head and head != b"SQLite format 3\x00":
            raise foreign(self.path, "not an SQLite file, or its first page is damaged")
        return True

    def _check_schema(self) -> int:
        """Refuse another application's file or a damaged schema before anything is changed; the version."""
        assert self._db is not None
        self._db.execute("BEGIN")  # one snapshot: another process may be creating the schema right now
        try:
            app = self._db.execute("PRAGMA application_id").fetchone()[0]
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            self._db.execute("COMMIT")
        ours = app == APPLICATION_ID
        if app not in (0, APPLICATION_ID):
            raise foreign(self.path, f"application id {app:#x}")
        if version > SCHEMA_VERSION and (ours or "runs" in tables):
            raise HistoryError(
                f"{self.path}: history schema version {version} is newer than this offhost-audit "
                f"understands ({SCHEMA_VERSION}); upgrade offhost-audit or use another --db"
            )
        if version == 0:
            if tables - {"sqlite_sequence"}:
                raise foreign(self.path, f"its tables are {', '.join(sorted(tables)[:5])}")
            return version
        if version not in _TABLES:
            raise foreign(self.path, f"schema version {version}")
        for table, columns in _TABLES[version].items():
            have = {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}
            if not columns <= have:
                what = (
                    f"table {table} is missing"
                    if not have
                    else f"table {table} lacks {', '.join(sorted(columns - have))}"
                )
                raise damaged(self.path, what) if ours or "runs" in tables else foreign(self.path, what)
        return int(version)

    def _before_write(self) -> None:
        """Once per connection, before the first change: a damaged database is never written to."""
        if self._checked:
            return
        assert self._db is not None
        rows = [r[0] for r in self._db.execute("PRAGMA quick_check(3)")]
        if rows != ["ok"]:
            raise damaged(self.path, "; ".join(str(r) for r in rows)[:200])
        self._checked = True

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except HistoryError:
            raise
        except (sqlite3.Error, OSError) as e:
            raise translate(self.path, e) from None
        except UnicodeDecodeError:  # a stored text column that is not UTF-8 any more
            raise damaged(self.path, "a stored text is not UTF-8") from None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise HistoryError(f"{self.path}: the history database is closed")
        return self._db

    def _journal_mode(self) -> str:
        return str(self.db.execute("PRAGMA journal_mode").fetchone()[0])

    def _journal_mode_wal(self) -> str:
        """Switch to WAL (once per database: the mode is stored in the file) and return the mode.

        Two processes opening a new database at once can both hold a read lock and both want the
        exclusive lock the switch needs; SQLite then answers one of them "database is locked" at
        once, without the busy timeout (a deadlock to it). That one tries again, within the timeout.
        """
        deadline = time.monotonic() + busy_timeout()
        while True:
            try:
                return str(self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _migrate(self) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            self._checked = False
            self._before_write()  # another process may have changed it while we waited
            version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
            for i in range(version, SCHEMA_VERSION):
                for stmt in _MIGRATIONS[i].split(";"):
                    if stmt.strip():
                        db.execute(stmt)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, after the damage check; errors as HistoryError."""
        with self._errors():
            self._before_write()
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
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
        row = (started, json.dumps(meta, ensure_ascii=False), json.dumps(run_counts(findings)), estate_of(meta))
        with self._write() as db:
            cur = db.execute("INSERT INTO runs (started_at, meta, counts, estate) VALUES (?, ?, ?, ?)", row)
            assert cur.lastrowid is not None  # an INSERT sets it
            run_id = int(cur.lastrowid)
            db.execute(
                "INSERT INTO run_data (run_id, findings, facts) VALUES (?, ?, ?)", (run_id, blob_findings, blob_facts)
            )
        return run_id

    def runs(self, limit: int | None = None, *, estate: Any = ANY, up_to: int | None = None) -> list[RunSummary]:
        """Run summaries, newest first; ``estate``: only that estate's runs; ``up_to``: ids up to it."""
        sql, params = (
            "SELECT id, started_at, meta, counts FROM runs WHERE id <= ?",
            [MAX_ID if up_to is None else up_to],
        )
        if estate is not ANY:
            sql, params = sql + " AND estate IS ?", [*params, estate]
        sql += " ORDER BY id DESC" + (" LIMIT ?" if limit else "")
        with self._errors():
            rows = self.db.execute(sql, [*params, limit] if limit else params).fetchall()
        return [
            RunSummary(
                r[0],
                str(r[1]),
                self._json(r[0], r[2], "metadata", dict),
                summary_counts(self._json(r[0], r[3], "counts", dict)),
            )
            for r in rows
        ]

    def _json(self, run_id: Any, text: Any, what: str, kind: type) -> Any:
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            raise damaged(self.path, f"run {run_id}: its {what} cannot be read") from None
        if not isinstance(value, kind):
            raise damaged(self.path, f"run {run_id}: its {what} is not a JSON {kind.__name__}")
        if what == "metadata" and (bad := meta_problem(value)):
            raise damaged(self.path, f"run {run_id}: its metadata has an unexpected {bad}")
        return value

    def load(self, run_id: int | None = None, *, facts: bool = True) -> Run:
        """One run (None = the latest). HistoryError when the history has no such run or it is damaged."""
        cols = "r.id, r.started_at, r.meta, d.findings" + (", d.facts" if facts else "")
        sql = f"SELECT {cols} FROM runs r JOIN run_data d ON d.run_id = r.id "
        with self._errors():
            if run_id is None:
                row = self.db.execute(sql + "ORDER BY r.id DESC LIMIT 1").fetchone()
                if row is None:
                    raise HistoryError(
                        f"{self.path}: the history has no runs yet (run `offhost-audit audit` or `evaluate` first)"
                    )
            else:
                row = self.db.execute(sql + "WHERE r.id = ?", (int(run_id),)).fetchone()
                if row is None:
                    raise HistoryError(
                        f"{self.path}: no run {run_id} in the history (`offhost-audit history` lists them)"
                    )
        try:
            found = _unpack(row[3])
            stored_facts = _unpack(row[4]) if facts else None
        except (zlib.error, ValueError, TypeError):
            raise damaged(self.path, f"run {row[0]}: its findings or facts cannot be read") from None
        if not findings_checker().is_valid(found):  # every face reads them as the published findings
            raise damaged(self.path, f"run {row[0]}: its findings are not a list of findings")
        if stored_facts is not None:
            from offhost_audit.errors import FactsError
            from offhost_audit.facts import validate

            try:
                validate(stored_facts, source="facts")  # the faces read them as a valid document
            except FactsError:
                raise damaged(self.path, f"run {row[0]}: its facts are not a valid facts document") from None
        meta = self._json(row[0], row[2], "metadata", dict)
        return Run(id=row[0], started_at=str(row[1]), meta=meta, findings=found, facts=stored_facts)

    def previous(self, run_id: int, *, facts: bool = False) -> Run | None:
        """The run of the same estate (``estate_of``) stored just before run_id, or None."""
        sql = (
            "SELECT p.id FROM runs r JOIN runs p ON p.id < r.id AND p.estate IS r.estate WHERE r.id = ? "
            "ORDER BY p.id DESC LIMIT 1"
        )
        with self._errors():
            row = self.db.execute(sql, (int(run_id),)).fetchone()
        return self.load(row[0], facts=facts) if row else None

    def estate(self, run_id: int) -> str | None:
        with self._errors():
            row = self.db.execute("SELECT estate FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def prune(self, keep: int) -> int:
        """Delete all but the newest ``keep`` runs; returns how many were deleted."""
        if keep < 1:
            raise HistoryError(f"--keep-runs must be 1 or more, not {keep}")
        with self._write() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM runs ORDER BY id DESC LIMIT -1 OFFSET ?", (keep,))]
            db.executemany("DELETE FROM runs WHERE id = ?", [(i,) for i in ids])
        return len(ids)

    # --- the manifest of report files (``--keep`` removes only these) ---------------------------

    def add_report_files(self, folder: str, files: list[tuple[str, str, int | None, str]]) -> None:
        """Record report files written into ``folder``: (name, format, run id, "device:inode:size:mtime_ns")."""
        when = utc_now_iso()
        with self._write() as db:
            db.executemany(
                "INSERT INTO report_files (folder, name, format, run_id, written_at, identity) VALUES (?, ?, ?, ?, ?, ?)",
                [(folder, n, fmt, rid, when, ident) for n, fmt, rid, ident in files],
            )

    def report_files_beyond(self, folder: str, fmt: str, keep: int) -> list[ReportFile]:
        """The recorded files of one format in ``folder`` older than the newest ``keep``."""
        sql = "SELECT id, name, format, identity FROM report_files WHERE folder = ? AND format = ? ORDER BY id DESC LIMIT -1 OFFSET ?"
        with self._errors():
            return [ReportFile(*r) for r in self.db.execute(sql, (folder, fmt, keep))]

    def forget_report_files(self, ids: list[int]) -> None:
        with self._write() as db:
            db.executemany("DELETE FROM report_files WHERE id = ?", [(i,) for i in ids])
