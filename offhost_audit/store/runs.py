"""A finished run: its findings (waivers applied), the facts and what the audit service recorded.

``history`` stores and loads them; an ``evaluate --no-history`` without waivers makes one without
importing the history (sqlite3) or dataclasses (about 10 ms of start-up), so ``Run`` is a plain class.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Run:
    """One run. ``id`` is None for a run that was not saved (``--no-history``). ``parts``: what
    ``store_run`` records of its parts (engine/reuse.py), not part of the run's value."""

    __slots__ = ("id", "started_at", "meta", "facts", "findings", "parts")
    _VALUE = ("id", "started_at", "meta", "facts", "findings")

    def __init__(
        self,
        id: int | None,
        started_at: str,
        meta: dict[str, Any] | None = None,
        facts: dict[str, Any] | None = None,
        findings: list[dict[str, Any]] | None = None,
    ) -> None:
        self.id = id
        self.started_at = started_at
        self.meta: dict[str, Any] = {} if meta is None else meta
        self.facts = facts
        self.findings: list[dict[str, Any]] = [] if findings is None else findings
        self.parts: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, started_at={self.started_at!r}, findings={len(self.findings)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Run):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self._VALUE)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces
