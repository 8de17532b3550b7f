"""What is derived from the policy sources and costly to compute, kept on disk between runs.

Compiling the policies is cheap; what each run also derived from them was not: every rule's
METADATA block parsed as YAML (importing PyYAML and parsing: about 25 ms) and two probe queries
for the guidance profiles and the default profile (about 10 ms), a third of an ``evaluate`` of a
small file. :func:`derived` returns them from a cache file when it was written for exactly these
sources, else computes them and writes the file.

One file per engine and policy folder: ``<user cache dir>/policies/<engine>-<folder hash>.json``
(``~/.cache/offhost-audit/`` on Linux, ``$XDG_CACHE_HOME`` when set;
``%LOCALAPPDATA%\\offhost-audit\\Cache`` on Windows). Safe to delete at any time. Its first line is
a header: the cache format, the key and the SHA-256 of the rest. The key is a SHA-256 of the cache
format, the package version, the engine (its library file's size and time) and every source's
relative path and text, so an edited, added or removed policy file, another engine build or
another release never uses an old entry; a header that does not match or a body whose digest does
not match (a truncated or corrupted file) is ignored. Every error reading or writing the file is
ignored: the values are computed as if there were no cache. Only values that survive a JSON round
trip unchanged are written.

The cache is only a cache: nobody but the user can make it change a verdict. The folder is created
0700. On POSIX an entry is read only when it is a regular file owned by this user and writable by
no one else, in a folder for which the same holds (opened without following a link at the last
step; the entry with ``O_NONBLOCK|O_NOFOLLOW`` and checked with ``fstat`` before reading, so a FIFO
or a device never blocks the run), and is written only into such a folder (a new file created
exclusively, then renamed over the old name: never written through what is there). The values read
are checked as well (:func:`_valid`: the default profile is one of the profiles, severities are
from the known set, doc links are http(s)); when anything is off, the values are computed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offhost_audit import __version__
from offhost_audit.engine.metadata import RuleMeta, meta_from_json, meta_to_json
from offhost_audit.engine.sources import PolicySource

FORMAT = 2  # 2: RuleMeta without severity (the profiles hold it)
MAX_ENTRY_BYTES = 32 * 1024 * 1024  # the shipped policies' entry is about 30 KB
Derived = tuple[dict[str, RuleMeta], dict[str, Any], str]  # metadata by rule id, profiles, default profile


def cache_dir() -> Path:
    """``<user cache dir>/policies``; the XDG rule read here on Linux and the BSDs (platformdirs
    costs about 5 ms to import, a tenth of the saving), platformdirs elsewhere."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        base = os.environ.get("XDG_CACHE_HOME", "").strip()
        root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
        return root / "offhost-audit" / "policies"
    import platformdirs

    return Path(platformdirs.user_cache_dir("offhost-audit", appauthor=False)) / "policies"


def library_tag(name: str, module: Any) -> str:
    """An engine's name with its library file's size and modification time (another build: another key)."""
    try:
        st = os.stat(module.__file__)
    except (AttributeError, TypeError, OSError):
        return name
    return f"{name}:{st.st_size}:{st.st_mtime_ns}"


def key(sources: list[PolicySource], engine: str) -> str:
    h = hashlib.sha256(f"offhost-audit policy cache {FORMAT} {__version__} {engine}\n".encode())
    for src in sorted(sources, key=lambda s: s.rel):
        data = src.text.encode("utf-8", "surrogatepass")
        h.update(f"{len(src.rel)}:{src.rel}:{len(data)}:".encode("utf-8", "surrogatepass"))
        h.update(data)
    return h.hexdigest()


def cache_file(root: Path, engine: str) -> Path:
    folder = hashlib.sha256(str(Path(root).resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:20]
    return cache_dir() / f"{engine.split(':', 1)[0]}-{folder}.json"


def derived(root: Path, sources: list[PolicySource], engine: str, compute: Callable[[], Derived]) -> Derived:
    """The metadata, profiles and default profile of the sources: from the cache, else ``compute()``."""
    k = key(sources, engine)
    path = cache_file(root, engine)
    hit = _read(path, k, sources)
    if hit is not None:
        return hit
    value = compute()
    _write(path, k, sources, value)
    return value


def _read(path: Path, k: str, sources: list[PolicySource]) -> Derived | None:
    try:
        data = _read_entry(path)
        if data is None:
            return None
        header_line, _, body = data.partition(b"\n")
        header = json.loads(header_line)
        if header != {"format": FORMAT, "key": k, "digest": hashlib.sha256(body).hexdigest()}:
            return None
        doc = json.loads(body)
        names = [s.name for s in sources]
        metadata = {}
        for index, fields in doc["metadata"]:
            m = meta_from_json(fields, file=names[index])
            metadata[m.rule_id] = m
        value = (metadata, doc["profiles"], doc["default_profile"])
        return value if _valid(value) else None
    except Exception:  # noqa: BLE001 - a cache that cannot be read is no cache
        return None


def _write(path: Path, k: str, sources: list[PolicySource], value: Derived) -> None:
    metadata, profiles, default = value
    try:
        if not _valid(value):  # never write what _read would refuse: it would be computed every time anyway
            return
        index = {s.name: i for i, s in enumerate(sources)}
        doc = {
            "metadata": [[index[m.file], meta_to_json(m)] for m in metadata.values()],
            "profiles": profiles,
            "default_profile": default,
        }
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        if json.loads(text) != doc:  # e.g. a YAML date or an integer key: not kept exactly by JSON
            return
        body = text.encode("utf-8")
        header = json.dumps({"format": FORMAT, "key": k, "digest": hashlib.sha256(body).hexdigest()})
        _write_entry(path, header.encode("utf-8") + b"\n" + body)
    except Exception:  # noqa: BLE001 - a cache that cannot be written is no cache
        return


def _valid(value: Derived) -> bool:
    """Values a cache entry may give: the default profile is one of the profiles, every severity
    (METADATA's and each profile's) is from the known set, every doc link is http(s), every field
    of the types :func:`~offhost_audit.engine.metadata.read_metadata` gives."""
    from offhost_audit.findings import SEVERITIES

    metadata, profiles, default = value
    if not isinstance(profiles, dict) or not profiles or not isinstance(default, str) or default not in profiles:
        return False
    for profile in profiles.values():
        severities = profile.get("severity", {}) if isinstance(profile, dict) else None
        if not isinstance(severities, dict) or not all(v in SEVERITIES for v in severities.values()):
            return False
    for m in metadata.values():
        texts = (m.rule_id, m.title, m.description, m.remediation, m.doc_url, m.package or "")
        if not all(isinstance(t, str) for t in texts) or type(m.line) is not int:
            return False
        if not isinstance(m.related, list) or not all(isinstance(r, dict) for r in m.related):
            return False
        links = [m.doc_url] + [r.get("ref") for r in m.related if "ref" in r]
        if not all(link == "" or (isinstance(link, str) and _web_link(link)) for link in links):
            return False
    return True


def _web_link(text: str) -> bool:
    scheme, sep, rest = text.partition("://")
    return bool(sep) and scheme.lower() in ("http", "https") and bool(rest) and text.isprintable()


# On POSIX: the folder is opened once (not following a link) and the entry is opened, checked and
# renamed relative to it, so nothing can swap either between the check and the use.
_AT = os.open in os.supports_dir_fd and all(hasattr(os, f) for f in ("O_NOFOLLOW", "O_DIRECTORY", "geteuid"))


def _private(st: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (group and others)."""
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _open_folder(folder: Path, *, create: bool) -> int | None:
    """The cache folder, opened, when it is a folder (not a link) of this user's that no one else may write."""
    if create:
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        except OSError:
            return None
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    if not _private(os.fstat(fd)):
        os.close(fd)
        return None
    return fd


def _read_entry(path: Path) -> bytes | None:
    """The entry's bytes, or None when it is missing, unsafe (see the module's doc) or too large."""
    if not _AT:  # Windows: the user's own profile folder; regular files only
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as f:
            return f.read(MAX_ENTRY_BYTES + 1) or None
    folder = _open_folder(path.parent, create=False)
    if folder is None:
        return None
    try:
        fd = os.open(path.name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
    except OSError:
        return None
    finally:
        os.close(folder)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not _private(st) or st.st_size > MAX_ENTRY_BYTES:
            return None
        return f.read(MAX_ENTRY_BYTES + 1)


def _write_entry(path: Path, data: bytes) -> None:
    """Write the entry as a new file of mode 0600, renamed over the name (what was there is replaced, never written)."""
    if not _AT:
        from offhost_audit.atomic import write_atomic

        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data.decode("utf-8"))
        return
    folder = _open_folder(path.parent, create=True)
    if folder is None:
        return
    tmp = f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
    except OSError:
        try:
            os.unlink(tmp, dir_fd=folder)
        except OSError:
            pass
    finally:
        os.close(folder)
