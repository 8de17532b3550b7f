"""The activity line under each view's title: what long work is running, how far, for how long.

It draws the app's ``busy`` state (set on the event loop the moment work starts, advanced by
``WorkProgress`` messages from the worker) and is hidden when nothing runs. A spinner and the
elapsed seconds move on a timer, so even a step with no count shows that something is happening.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.text import Text
from textual.widget import Widget

from offhost_audit.text import clean

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
BAR = 20


@dataclass
class Busy:
    """Work in progress: what, how far (None: no count yet), since when."""

    what: str
    done: int | None = None
    total: int | None = None
    started: float = field(default_factory=time.monotonic)


def describe(busy: Busy, tick: int = 0) -> Text:
    t = Text()
    t.append(f" {SPINNER[tick % len(SPINNER)]} ", style="bold")
    t.append(clean(busy.what, keep_newlines=False), style="bold")
    if busy.total:
        done = min(busy.done or 0, busy.total)
        filled = BAR * done // busy.total
        t.append("  ")
        t.append("━" * filled, style="bold green")
        t.append("━" * (BAR - filled), style="dim")
        t.append(f" {done}/{busy.total} parts")
    t.append(f"  {time.monotonic() - busy.started:.1f} s", style="dim")
    return t


class Activity(Widget):
    """One line; shows ``app.busy`` and is hidden when it is None."""

    DEFAULT_CSS = """
    Activity { height: 1; display: none; background: $warning 15%; }
    Activity.-busy { display: block; }
    """

    def __init__(self) -> None:
        super().__init__(id="activity")
        self.tick = 0
        self.frames = 0  # renders while busy (tests and the benchmark wait for the first) ...
        self.shown = ""  # ... and the last text drawn

    def sync(self) -> None:
        """Show (or hide) the app's current work."""
        busy = getattr(self.app, "busy", None)
        self.set_class(busy is not None, "-busy")
        self.refresh()

    def advance(self) -> None:
        self.tick += 1
        self.sync()

    def render(self) -> Text:
        busy = getattr(self.app, "busy", None)
        if busy is None:
            return Text()
        self.frames += 1
        text = describe(busy, self.tick)
        self.shown = text.plain
        return text
