"""What every top-level view shares: a title bar, reloading when the session changed, Esc back."""

from __future__ import annotations

from textual import events, on
from textual.screen import Screen
from textual.widgets import Static

from offhost_audit.tui.widgets.activity import Activity


class ViewScreen(Screen):
    """A view (a mode of the app). ``load`` fills it from ``app.session``; it runs again on return
    to the view when the findings changed meanwhile (re-evaluated, waived, audited)."""

    VIEW = ""  # the name in the title bar

    def __init__(self, id: str) -> None:
        super().__init__(id=id)
        self._generation = -1

    @on(events.Mount)
    def _add_activity(self) -> None:
        """Every view shows long work (opening, re-evaluating) under its title."""
        activity = Activity()
        self.mount(activity, after=self.query_one(".title-bar", Static))
        activity.sync()

    def on_screen_resume(self) -> None:
        for activity in self.query(Activity):
            activity.sync()
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
