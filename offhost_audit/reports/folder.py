"""A report folder that someone else may be able to write: the files this tool names itself there
(``latest.*``, the timestamped copies) are never written through a link planted in it.

The folder is opened once; every file is then made relative to that handle: created with
``O_CREAT|O_EXCL|O_NOFOLLOW`` under an unpredictable temporary name, written, synced and renamed
into place (a rename replaces a link or file at the name, it never follows it). Timestamped names
carry a random part. Removing an old copy (``--keep``) removes a name only while it is still the
very file this tool wrote there (same device, inode, size and modification time), never a link, folder or another file.

``-o FILE`` outputs chosen by the user keep ``offhost_audit.atomic.write_atomic``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from offhost_audit.atomic import remove_stale
from offhost_audit.errors import OutputError

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# Windows has no *at() calls: there the folder is named by its path for each file (O_EXCL still holds)
_AT = all(f in os.supports_dir_fd for f in (os.open, os.stat, os.unlink, os.rename))


def _why(e: OSError) -> str:
    return e.strerror or type(e).__name__


class ReportFolder:
    """``with ReportFolder(path) as folder: folder.write("latest.md", text)``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.fd = -1
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if _AT:
                self.fd = os.open(self.path, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        except (FileExistsError, NotADirectoryError):
            raise OutputError(f"{self.path}: not a folder (report output)") from None
        except OSError as e:
            raise OutputError(f"{self.path}: cannot open the report folder: {_why(e)}") from None
        self.key = os.path.realpath(self.path)  # how the manifest in the history names this folder

    def __enter__(self) -> ReportFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _at(self, name: str) -> tuple[str, dict[str, int]]:
        """``name`` relative to the open folder, or (without *at() calls) its path."""
        return (name, {"dir_fd": self.fd}) if self.fd >= 0 else (str(self.path / name), {})

    def _stat(self, name: str) -> os.stat_result | None:
        where, at = self._at(name)
        try:
            return os.stat(where, **at, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def write(self, name: str, text: str | bytes | Iterable[str]) -> str:
        """Write ``name`` in the folder (replacing whatever is at that name, never following it); its
        "device:inode:size:mtime_ns" as written. Bytes are written as they are (no newline translation)."""
        if os.path.basename(name) != name or name in ("", ".", ".."):
            raise ValueError(name)
        remove_stale(self.path, name)
        old = self._stat(name)
        if old is not None and stat.S_ISDIR(old.st_mode):
            raise OutputError(f"{self.path / name}: is a folder, not a report file; move it away")
        (tmp, at), (dest, _) = self._at(f".{name}.{os.getpid()}.{secrets.token_hex(8)}.offhost-tmp"), self._at(name)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o666, **at)
        except OSError as e:
            raise OutputError(f"{self.path / name}: cannot write the report: {_why(e)}") from None
        try:
            f: Any = os.fdopen(fd, "wb") if isinstance(text, bytes) else os.fdopen(fd, "w", encoding="utf-8")
            with f:
                if old is not None and stat.S_ISREG(old.st_mode) and hasattr(os, "fchmod"):
                    os.fchmod(f.fileno(), stat.S_IMODE(old.st_mode))  # latest.* keeps the mode it was given
                if isinstance(text, (str, bytes)):
                    f.write(text)
                else:
                    f.writelines(text)
                f.flush()
                os.fsync(f.fileno())
                st = os.fstat(f.fileno())
            if at:  # POSIX rename replaces the name in one step, a link there included
                os.rename(tmp, dest, src_dir_fd=self.fd, dst_dir_fd=self.fd)
            else:
                os.replace(tmp, dest)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(tmp, **at)
            raise OutputError(f"{self.path / name}: cannot write the report: {_why(e)}") from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, **at)
            raise
        return _identity(st)

    def remove(self, name: str, identity: str) -> bool:
        """Remove ``name`` if it is still the regular file this tool wrote (``identity``); whether it did."""
        if os.path.basename(name) != name or name in ("", ".", ".."):
            return False
        try:
            st = self._stat(name)
            if st is None or not stat.S_ISREG(st.st_mode) or _identity(st) != identity:
                return False
            where, at = self._at(name)
            os.unlink(where, **at)
        except OSError:
            return False
        return True


def _identity(st: os.stat_result) -> str:
    """The file as written: device and inode, plus size and modification time, since a file removed and
    written again under the same name often gets the freed inode number back."""
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def unique_name(stem: str, ext: str) -> str:
    """A timestamped copy's name: ``stem-<8 random hex>.ext``; nobody can plant a link there in advance."""
    return f"{stem}-{secrets.token_hex(4)}.{ext}"
