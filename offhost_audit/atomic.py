"""Writing output files: atomically for regular files, and never destroying what is at the path.

The one place that writes a user's output path (facts, findings, reports, the lab's inventory).

* A regular file (or a new path) is written to a temporary file in the same folder, then renamed
  over the target in one step: a reader sees the old or the new content, never half. An existing
  file keeps its mode; a new one gets the usual ``0666 & ~umask``.
* A symlink is followed: the file it points to is replaced, the link stays a link.
* Anything else at the path (a character device like ``/dev/null``, a FIFO, ``/dev/stdout`` on a
  pipe or a terminal) is written directly, as a shell's ``>`` would: it is never replaced by a file.
* A directory, a path under a file, a folder we may not write: :class:`OutputError` (exit 2), one line.
* Temporary files are named ``.NAME.<pid>.<random>.offhost-tmp``; one left behind by a killed run
  (its process is gone) is removed by the next write to the same folder.

:func:`check_output` refuses, before any work, an output path that is one of the run's inputs
(``evaluate --facts f.json -o f.json``) or that cannot be written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from offhost_audit.errors import OutputError

_TMP_SUFFIX = ".offhost-tmp"
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF}


def _why(e: OSError) -> str:
    return e.strerror or type(e).__name__


def _target(p: Path) -> tuple[Path, os.stat_result | None]:
    """The path to write (symlinks followed) and its stat, or None when nothing is there yet."""
    try:
        st = os.stat(p)
    except FileNotFoundError:
        if os.path.islink(p):  # a dangling link: write the file it names
            return Path(os.path.realpath(p)), None
        return p, None
    except NotADirectoryError:
        raise OutputError(f"{p}: cannot write: a part of the path is a file, not a folder") from None
    except OSError as e:
        raise OutputError(f"{p}: cannot write: {_why(e)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{p}: is a directory; give a file name")
    return (Path(os.path.realpath(p)) if os.path.islink(p) else p), st


def check_output(
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    what: str = "-o",
    writable: bool = True,
) -> None:
    """Raise OutputError when ``path`` is one of ``inputs`` (same file) or (``writable``) plainly cannot be written."""
    p = Path(path)
    target, st = _target(p)
    for i in inputs:
        if i is None:
            continue
        try:
            same = os.path.samefile(i, p) if st is not None else os.path.realpath(i) == os.path.realpath(p)
        except OSError:
            same = False
        if same:
            raise OutputError(f"{p}: {what} names an input of this run ({i}); writing it would destroy the input")
    if not writable or (st is not None and not stat.S_ISREG(st.st_mode)):
        return  # a device or FIFO: written directly, like the shell's >
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{p}: cannot write: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{p}: cannot write: permission denied in {parent}")


def write_atomic(path: str | os.PathLike[str], text: str | Iterable[str]) -> None:
    """Write text to path: atomically for a regular file, directly for a device or FIFO (see module doc).

    ``text`` may be an iterable of pieces (written one by one: a large output is never one string)."""
    p = Path(path)
    target, st = _target(p)
    if (st is not None and not stat.S_ISREG(st.st_mode)) or str(target).startswith("/proc/"):
        # a device, a FIFO, or /dev/stdout (a /proc link, even onto a regular file): write through it
        try:
            with open(p, "w", encoding="utf-8") as f:
                _write(f, text)
        except OSError as e:
            raise OutputError(f"{p}: cannot write: {_why(e)}") from None
        return
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(f"{p}: cannot write: a part of the path is a file, not a folder") from None
    except OSError as e:
        raise OutputError(f"{p}: cannot create the folder {folder}: {_why(e)}") from None
    remove_stale(folder, target.name)
    tmp = folder / f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}{_TMP_SUFFIX}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if st is None else 0o600)
    except OSError as e:
        raise OutputError(f"{p}: cannot write in {folder}: {_why(e)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if st is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode))
                with contextlib.suppress(OSError):  # keep the owner when we may (root)
                    os.fchown(f.fileno(), st.st_uid, st.st_gid)
            _write(f, text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{p}: cannot write: {_why(e)}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write(f: Any, text: str | Iterable[str]) -> None:
    if isinstance(text, str):
        f.write(text)
    else:
        f.writelines(text)


def remove_stale(folder: Path, name: str) -> None:
    """Remove our temporary files for ``name`` whose writing process no longer exists."""
    try:
        candidates = list(folder.glob(f".{_glob_escape(name)}.*{_TMP_SUFFIX}"))
    except OSError:
        return
    for c in candidates:
        parts = c.name[len(name) + 2 : -len(_TMP_SUFFIX)].split(".")
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) == os.getpid():
            continue
        if not _alive(int(parts[0])):
            with contextlib.suppress(OSError):
                c.unlink()


def _alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) terminates the process on Windows: never guess there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, belongs to someone else
    return True


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


@contextlib.contextmanager
def stdout_errors() -> Iterator[None]:
    """Turn a failed write to stdout (a full disk, ``> /dev/full``) into one OutputError line."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        if e.errno not in WRITE_ERRNOS:
            raise
        silence_stdout()
        raise OutputError(f"stdout: cannot write: {_why(e)}") from None


def silence_stdout() -> None:
    """After a failed write, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


__all__ = ["OutputError", "check_output", "remove_stale", "stdout_errors", "write_atomic"]
