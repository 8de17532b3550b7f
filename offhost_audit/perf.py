"""Small performance helpers shared by the core, the engine and the reports."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic GC: parsing, joining and sorting tens of thousands of findings next to a
    facts document of millions of containers triggers full collections that cost 20-40% of it.
    Nothing in that work makes reference cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
