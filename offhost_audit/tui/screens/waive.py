"""The waive form: reason, approver, expiry (YYYY-MM-DD) for one finding."""

from __future__ import annotations

import datetime as dt
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
class WaiverForm:
    reason: str
    approver: str
    expires: str


class WaiveScreen(ModalScreen["WaiverForm | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    WaiveScreen { align: center middle; }
    WaiveScreen > Vertical { width: 76; max-width: 100%; height: auto; border: thick $warning; background: $surface; padding: 0 1; }
    WaiveScreen Input { margin-bottom: 0; }
    WaiveScreen Horizontal { height: auto; }
    WaiveScreen #waive-error { color: $error; }
    """

    def __init__(self, rule_id: str, subject: str) -> None:
        super().__init__()
        self.rule_id, self.subject = rule_id, subject

    def compose(self) -> ComposeResult:
        default = (dt.date.today() + dt.timedelta(days=90)).isoformat()
        with Vertical():
            yield Static(
                Text.assemble(
                    ("Waive ", "bold"),
                    (self.rule_id, "bold"),
                    " for ",
                    (clean(self.subject, keep_newlines=False), "italic"),
                )
            )
            yield Label("Reason (required)")
            yield Input(id="reason")
            yield Label("Approved by (required)")
            yield Input(id="approver")
            yield Label("Expires (YYYY-MM-DD, required)")
            yield Input(value=default, id="expires")
            yield Static(id="waive-error")
            with Horizontal():
                yield Button("Waive", variant="warning", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        approver = self.query_one("#approver", Input).value.strip()
        expires = self.query_one("#expires", Input).value.strip()
        error = ""
        try:
            day = dt.date.fromisoformat(expires)
            if day <= dt.date.today():
                error = "the expiry must be in the future"
        except ValueError:
            error = "the expiry is not a date (YYYY-MM-DD)"
        if not reason or not approver:
            error = "a reason and an approver are required"
        if error:
            self.query_one("#waive-error", Static).update(Text(error))
            return
        self.dismiss(WaiverForm(reason, approver, expires))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
