"""What can go wrong with the history database, as one line naming the file and what to do.

``HistoryError`` (exit 2: damaged, another application's file, read-only, full, missing) and
``HistoryLockedError`` (exit 3: another process held the lock longer than the busy timeout).
``translate(path, e)`` turns an ``sqlite3`` or OS error into one of them; nothing here is a bug.
"""

from __future__ import annotations

import os
from pathlib import Path

from offhost_audit.errors import EXIT_INCOMPLETE, InputError

ENV_TIMEOUT = "OFFHOST_AUDIT_DB_TIMEOUT"
DEFAULT_TIMEOUT_S = 60.0


class HistoryError(InputError):
    """The history database cannot be used (exit 2)."""

    title = "history database"


class HistoryLockedError(HistoryError):
    """Another process held the database's lock for longer than the busy timeout (exit 3)."""

    exit_code = EXIT_INCOMPLETE


def busy_timeout() -> float:
    """Seconds a writer waits for another one (``OFFHOST_AUDIT_DB_TIMEOUT``, default 60)."""
    text = os.environ.get(ENV_TIMEOUT, "")
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if 0 < value <= 86_400 else DEFAULT_TIMEOUT_S


def damaged(path: Path, what: str) -> HistoryError:
    return HistoryError(
        f"{path}: the history database is damaged ({what}); it was left as it is. Move it aside (keep it "
        "for support) and the next run starts a new one, or give --db another file"
    )


def foreign(path: Path, what: str) -> HistoryError:
    return HistoryError(
        f"{path}: not an offhost-audit history database ({what}); it was left as it is. Give --db a file of its own"
    )


def missing(path: Path) -> HistoryError:
    return HistoryError(
        f"{path}: no history database here (run `offhost-audit evaluate` or `audit` first, or give --db the file)"
    )


def translate(path: Path, e: BaseException) -> HistoryError:
    """One line for an sqlite3 or OS error met while using the database at ``path``."""
    name = getattr(e, "sqlite_errorname", "") or ""
    detail = str(e) or type(e).__name__
    if isinstance(e, HistoryError):
        return e
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in detail:
        return HistoryLockedError(
            f"{path}: the history database was locked by another process for more than {busy_timeout():g} s; "
            f"run again when that one has finished (or raise {ENV_TIMEOUT})"
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in detail:
        return damaged(path, detail)
    if name.startswith("SQLITE_READONLY") or isinstance(e, PermissionError):
        return HistoryError(
            f"{path}: cannot write the history database: a read-only file or folder ({detail}); make it "
            "writable, give --db another file, or use --no-history"
        )
    if name == "SQLITE_FULL":
        return HistoryError(f"{path}: cannot write the history database: the disk is full; free some space")
    if name.startswith("SQLITE_IOERR") or isinstance(e, OSError):
        return HistoryError(
            f"{path}: cannot write the history database: the write failed (a full disk, a file size limit or a "
            "failing disk); free some space or give --db another file"
        )
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return HistoryError(
            f"{path}: cannot open the history database ({detail}): check that it and its folder can be read "
            "and written, or give --db another file"
        )
    import sqlite3  # here: the CLI imports this module on runs that never open a history

    if isinstance(e, sqlite3.DatabaseError):
        return damaged(path, detail)
    return HistoryError(f"{path}: cannot use the history database: {detail}")
