"""The findings list on Textual's Line API: a ScrollView that renders only the visible lines.

It holds a list of row numbers (the filtered, sorted index) and draws line ``y`` on demand, so 50,000
findings cost what 40 do. The first line is the column header (click it to sort).
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from offhost_audit.findings import Finding
from offhost_audit.text import clean
from offhost_audit.tui.messages import FindingHighlighted, FindingSelected, SortRequested
from offhost_audit.tui.query import COLUMNS

_STATUS_STYLE = {
    "fail": Style(color="red", bold=True),
    "unknown": Style(color="yellow", bold=True),
    "pass": Style(color="green"),
    "not_applicable": Style(dim=True),
    "waived": Style(color="magenta"),
}
_SEV_STYLE = {
    "critical": Style(color="red", bold=True, reverse=True),
    "high": Style(color="red"),
    "medium": Style(color="yellow"),
    "low": Style(color="cyan"),
    "info": Style(dim=True),
}
_STATUS_LABEL = {"not_applicable": "n/a"}


def fit(text: str, width: int) -> str:
    """``text`` in exactly ``width`` cells: padded, or cut with an ellipsis (never into another real name)."""
    n = cell_len(text)
    if n == width:
        return text
    if n < width or width < 1:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


class FindingsList(ScrollView, can_focus=True):
    """Rows of findings; ``set_rows`` swaps the visible index; posts FindingHighlighted, FindingSelected, SortRequested."""

    DEFAULT_CSS = """
    FindingsList { height: 1fr; scrollbar-size-horizontal: 0; }
    FindingsList > .findings-list--header { text-style: bold; background: $panel; }
    FindingsList > .findings-list--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    FindingsList:blur > .findings-list--cursor { background: $block-cursor-blurred-background; }
    """
    COMPONENT_CLASSES = {"findings-list--header", "findings-list--cursor"}
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Detail", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    def __init__(
        self,
        findings: list[Finding] | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.findings: list[Finding] = findings or []
        self.rows: list[int] = []
        self.sort_column = "status"
        self.sort_reverse = False
        self._cache: dict[tuple[int, int], Strip] = {}
        self.rows_version = 0  # bumped by set_rows ...
        self.painted_version = -1  # ... and copied here when those rows are drawn (for tests and benchmarks)

    # --- data --------------------------------------------------------------------------------

    def set_rows(self, findings: list[Finding], rows: list[int], *, keep: int | None = None) -> None:
        """Show ``rows`` (indexes into ``findings``); keep the cursor on finding ``keep`` when still visible."""
        if findings is not self.findings or len(self._cache) > 4096:
            self._cache.clear()  # a line depends on its finding and the width, not on the filter: keep it
        self.findings, self.rows = findings, rows
        self.rows_version += 1
        pos = 0
        if keep is not None and rows:
            try:
                pos = rows.index(keep) if len(rows) < 200_000 else 0
            except ValueError:
                pos = 0
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        self.cursor = min(pos, max(0, len(rows) - 1))
        self.refresh()

    @property
    def current(self) -> int | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def watch_cursor(self, value: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(FindingHighlighted(self.current))

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()  # a new theme: cached lines carry the old colours

    def on_resize(self, event: events.Resize) -> None:
        self._cache.clear()
        self.virtual_size = Size(event.size.width, len(self.rows) + 1)
        self._scroll_to_cursor()

    # --- actions -----------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 2))

    def action_jump(self, where: int) -> None:
        if self.rows:
            self.cursor = 0 if where == 0 else len(self.rows) - 1

    def action_select(self) -> None:
        if self.current is not None:
            self.post_message(FindingSelected(self.current))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            col = self._column_at(event.x)
            if col:
                self.post_message(SortRequested(col))
            return
        row = int(self.scroll_y) + event.y - 1
        if 0 <= row < len(self.rows):
            if row == self.cursor and event.chain >= 2:
                self.action_select()
            self.cursor = row

    # --- rendering ---------------------------------------------------------------------------

    def _widths(self, width: int) -> list[int]:
        fixed = [7, 8, 7]  # status, severity, rule
        rest = max(10, width - sum(fixed) - 4)
        subject = max(10, min(36, rest * 2 // 5))
        return fixed + [subject, max(1, rest - subject)]

    def _column_at(self, x: int) -> str | None:
        pos = 0
        for name, w in zip(COLUMNS, self._widths(self.scrollable_content_region.width)):
            if pos <= x < pos + w + 1:
                return name
            pos += w + 1
        return None

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width  # not under the scrollbar: the last column keeps its ellipsis
        if y == 0:
            self.painted_version = self.rows_version
            return self._header(width)
        row = int(self.scroll_y) + y - 1
        if row >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        index = self.rows[row]
        if row == self.cursor:
            return self._line(index, width, self.get_component_rich_style("findings-list--cursor"), flat=True)
        key = (index, width)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._cache[key] = self._line(index, width, self.rich_style)
        return strip

    def _header(self, width: int) -> Strip:
        style = self.get_component_rich_style("findings-list--header")
        parts = []
        for name, w in zip(COLUMNS, self._widths(width)):
            label = name
            if name == self.sort_column:
                arrow = "▲" if self.sort_reverse else "▼"
                label = f"{name} {arrow}" if len(name) + 2 <= w else f"{name[: w - 1]}{arrow}"
            parts.append(fit(label, w))
        return Strip([Segment(fit(" ".join(parts), width), style)], width)

    def _line(self, index: int, width: int, base: Style, *, flat: bool = False) -> Strip:
        f = self.findings[index]
        status, sev = f["status"], f["severity"]
        status_text = _STATUS_LABEL.get(status, status)
        w = self._widths(width)
        cells = [
            (status_text, _STATUS_STYLE.get(status)),
            (sev, _SEV_STYLE.get(sev)),
            (f["rule_id"], None),
            (clean(f["subject"]["name"], keep_newlines=False), None),
            (clean(f.get("message") or "", keep_newlines=False), Style(dim=True)),
        ]
        segments = []
        for (text, style), cw in zip(cells, w):
            s = base if flat or style is None else base + style
            segments.append(Segment(fit(text, cw), s))
            segments.append(Segment(" ", base))
        used = sum(w) + len(w)
        if used < width:
            segments.append(Segment(" " * (width - used), base))
        return Strip(segments).crop(0, width)
