"""The export form: a folder and the report formats for the findings in the current view."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from offhost_audit.text import clean


@dataclass
class ExportForm:
    directory: str
    formats: tuple[str, ...]


class ExportScreen(ModalScreen["ExportForm | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > Vertical { width: 76; max-width: 100%; height: auto; border: thick $primary; background: $surface; padding: 0 1; }
    ExportScreen Horizontal { height: auto; }
    ExportScreen #export-error { color: $error; }
    """

    def __init__(self, count: int, total: int, filtered: str = "") -> None:
        super().__init__()
        self.count, self.total, self.filtered = count, total, filtered

    def compose(self) -> ComposeResult:
        from offhost_audit.reports.render import FORMATS  # the renderers' own list (imported when asked)

        with Vertical():
            if self.filtered:
                yield Static(Text(f"Export the {self.count:,} of {self.total:,} findings in this view", style="bold"))
                yield Static(Text(f"Filtered: {clean(self.filtered, keep_newlines=False)}", style="yellow"))
            else:
                yield Static(Text(f"Export all {self.count:,} findings", style="bold"))
            yield Label("Folder")
            yield Input(value=os.path.join(os.getcwd(), "offhost-report"), id="directory")
            yield Label(f"Formats (comma-separated: {', '.join(FORMATS)})")
            yield Input(value="html,md", id="formats")
            yield Static(id="export-error")
            with Horizontal():
                yield Button("Export", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        directory = self.query_one("#directory", Input).value.strip()
        formats = tuple(f.strip().lower() for f in self.query_one("#formats", Input).value.split(",") if f.strip())
        from offhost_audit.reports.render import FORMATS

        bad = [f for f in formats if f not in FORMATS]
        if not directory or not formats or bad:
            self.query_one("#export-error", Static).update(
                Text(f"unknown format(s): {', '.join(bad)}" if bad else "give a folder and at least one format")
            )
            return
        self.dismiss(ExportForm(directory, formats))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
