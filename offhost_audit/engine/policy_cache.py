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
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offhost_audit import __version__
from offhost_audit.engine.metadata import RuleMeta, meta_from_json, meta_to_json
from offhost_audit.engine.sources import PolicySource

FORMAT = 1
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
        with open(path, "rb") as f:
            header = json.loads(f.readline())
            body = f.read()
        if header != {"format": FORMAT, "key": k, "digest": hashlib.sha256(body).hexdigest()}:
            return None
        doc = json.loads(body)
        names = [s.name for s in sources]
        metadata = {}
        for index, fields in doc["metadata"]:
            m = meta_from_json(fields, file=names[index])
            metadata[m.rule_id] = m
        profiles, default = doc["profiles"], doc["default_profile"]
        if not isinstance(profiles, dict) or not profiles or not isinstance(default, str):
            return None
        return metadata, profiles, default
    except Exception:  # noqa: BLE001 - a cache that cannot be read is no cache
        return None


def _write(path: Path, k: str, sources: list[PolicySource], value: Derived) -> None:
    from offhost_audit.atomic import write_atomic

    metadata, profiles, default = value
    try:
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
        write_atomic(path, header + "\n" + text)
    except Exception:  # noqa: BLE001 - a cache that cannot be written is no cache
        return
