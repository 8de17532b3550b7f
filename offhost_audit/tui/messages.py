"""The TUI's messages, one module (dataclasses). Progress messages replace older ones for the same target."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from offhost_audit.tui.scopes import Scope
    from offhost_audit.tui.session import Session


@dataclass
class DataChanged(Message):
    """The session's findings (or facts) were replaced: re-evaluated, waived, audited."""

    reason: str = ""


@dataclass
class SessionOpened(Message):
    """Another session replaces the open one (a run chosen in the run history)."""

    session: Session
    reason: str = ""


@dataclass
class WorkProgress(Message):
    """Long work moved on (posted from a worker thread): what it does now, parts done of total."""

    what: str
    done: int | None = None
    total: int | None = None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WorkProgress)


@dataclass
class AuditStarted(Message):
    """A live audit began: the targets and how many collector runs each will make."""

    plan: dict[str, int] = field(default_factory=dict)
    only: str | None = None


@dataclass
class AuditProgress(Message):
    """One collector finished on one target (posted from the collection threads)."""

    target: str
    collector: str
    status: str
    done: int  # collector runs finished on this target so far
    errors: int  # of which not ok

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, AuditProgress) and message.target == self.target


@dataclass
class AuditFinished(Message):
    """A live audit completed: findings are in the session."""

    only: str | None = None
    run_id: str | None = None


@dataclass
class ShowFindings(Message):
    """Open the findings view on a filter, or on a drill-down scope (a proxy, a matrix cell, a manifest failure)."""

    query: str = ""
    scope: Scope | None = None


@dataclass
class ShowFacts(Message):
    """Open the facts explorer at these fact paths (evidence and missing paths of a finding)."""

    paths: list[str] = field(default_factory=list)
    label: str = ""


@dataclass
class FindingHighlighted(Message):
    """The findings list's cursor is on another finding (an index into the findings; None: empty list)."""

    row: int | None


@dataclass
class FindingSelected(Message):
    """Enter or a double click on a finding."""

    row: int


@dataclass
class SortRequested(Message):
    """A click on a column header of the findings list."""

    column: str
