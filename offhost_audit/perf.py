"""Small performance helpers shared by the core, the engine and the reports."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ORJSON_FROM = 256 * 1024  # characters: below this the stdlib is as fast, and orjson costs ~25 ms to import


_freeze_after_pause = False


@contextmanager
def one_shot() -> Iterator[None]:
    """Around a command that runs once and exits (``evaluate``, ``audit``, ``report``...; not the
    TUI or the lab server): inside it, what a paused section (:func:`paused_gc`) built is moved out
    of the collector's reach when the section ends (``gc.freeze``). Without that, the first
    collection after the pause walks every container the section made (a 10,000-host facts
    document and its findings are millions) and later full collections walk them again: about
    0.6 s of CPU of a 10,000-host ``evaluate`` (benchmarks/bench_cli.py). Frozen objects are still
    freed by reference counting; a reference cycle among them would wait for the end of the
    command, when everything frozen is handed back to the collector (``gc.unfreeze``), so that a
    process running several commands (the tests) keeps nothing."""
    global _freeze_after_pause
    _freeze_after_pause = True
    try:
        yield
    finally:
        _freeze_after_pause = False
        gc.unfreeze()


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic GC: parsing, joining and sorting tens of thousands of findings next to a
    facts document of millions of containers triggers full collections that cost 20-40% of it.
    Nothing in that work makes reference cycles. In a one-shot process (:func:`one_shot`)
    what the section built is frozen when it ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _freeze_after_pause:
            gc.freeze()
        if was_enabled:
            gc.enable()


def json_dumps(obj: Any, *, large: bool = True, sort_keys: bool = False) -> bytes:
    """Compact JSON (no spaces, UTF-8, not ASCII-escaped) as bytes: orjson (4-10x faster), the stdlib
    for what orjson refuses (an integer beyond 64 bits, a key that is not a string) and, with
    ``large=False``, for small documents, where importing orjson (~25 ms) costs more than it saves.
    ``sort_keys``: every object's keys in order (a canonical text for hashing; the same value
    always gives the same bytes, as one of the two writers always takes it)."""
    if large:
        try:
            import orjson
        except ImportError:  # pragma: no cover - orjson is a dependency
            pass
        else:
            try:
                return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if sort_keys else None)
            except TypeError:
                pass
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys).encode("utf-8")


def json_loads(text: str | bytes) -> Any:
    """json.loads, with orjson for large texts (2-3x faster). Whatever orjson refuses (NaN, integers
    beyond 64 bits, lone surrogates, deep nesting, invalid JSON) goes to json.loads, so the result
    and the errors are always the stdlib's. Call it with the GC paused (paused_gc)."""
    if len(text) >= ORJSON_FROM:
        try:
            import orjson
        except ImportError:  # pragma: no cover - orjson is a dependency
            pass
        else:
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                pass
    return json.loads(text)
