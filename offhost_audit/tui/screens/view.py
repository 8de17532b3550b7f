"""What every top-level view shares: a title bar, reloading when the session changed, Esc back."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Static


class ViewScreen(Screen):
    """A view (a mode of the app). ``load`` fills it from ``app.session``; it runs again on return
    to the view when the findings changed meanwhile (re-evaluated, waived, audited)."""

    VIEW = ""  # the name in the title bar

    def __init__(self, id: str) -> None:
        super().__init__(id=id)
        self._generation = -1

    def on_screen_resume(self) -> None:
        if self._generation != self.app.generation:
            self.reload()

    def reload(self) -> None:
        self.mark_current()
        self.load()

    def mark_current(self) -> None:
        """The view now shows the current findings: record it and refresh the title bar."""
        self._generation = self.app.generation
        self.query_one(".title-bar", Static).update(self.app.title_text(self.VIEW), layout=False)

    def load(self) -> None:
        """Fill the view from the session (subclasses)."""

    async def action_back(self) -> None:
        await self.app.action_back()
