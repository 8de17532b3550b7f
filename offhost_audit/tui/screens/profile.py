"""Pick a guidance profile; the findings are re-evaluated in place."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from offhost_audit.tui.widgets.keyed import KeyedOptionList


class ProfileScreen(ModalScreen["str | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ProfileScreen { align: center middle; }
    ProfileScreen > Vertical { width: 60; max-width: 100%; height: auto; border: thick $primary; background: $surface; }
    ProfileScreen OptionList { height: auto; max-height: 12; }
    """

    def __init__(self, profiles: list[str], current: str) -> None:
        super().__init__()
        self.profiles, self.current = profiles, current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Guidance profile (re-evaluates the same facts)", style="bold"))
            yield KeyedOptionList(
                *(Option(Text(p + ("  (current)" if p == self.current else "")), id=p) for p in self.profiles)
            )

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        if self.current in self.profiles:
            ol.highlighted = self.profiles.index(self.current)
        ol.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
