"""Issue 17, TUI: the reproduction keys as the issue writes them, driven through Pilot."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, OptionList
from textual.widgets._footer import FooterKey, FooterLabel
from tuikit import drive, session, settle

from offhost_audit.findings import SEVERITIES
from offhost_audit.tui import estate
from offhost_audit.tui.session import Session
from offhost_audit.tui.widgets.facts_tree import FactsTree
from offhost_audit.tui.widgets.finding_detail import FindingDetail
from offhost_audit.tui.widgets.findings_list import FindingsList


def _status(app) -> str:
    return str(app.screen.query_one("#findings-status").render())


def _listed(app) -> list[tuple[str, str]]:
    return [(app.index.findings[i]["rule_id"], app.index.findings[i]["subject"]["name"]) for i in app.screen.view_rows]


def test_a_profile_switch_under_a_drill_down_keeps_its_scope(faults_facts):
    # HV72 is a node of HVCL07: its pair with PROXY71 is the cluster's cell (the first of the matrix)
    s = Session.from_facts_file(str(faults_facts))
    seen = {}

    def cell_rows():
        cell = estate.matrix(s.facts, s.findings).cell("PROXY71", ("cluster", "HVCL07"))
        return sorted((s.findings[i]["rule_id"], s.findings[i]["subject"]["name"]) for i in cell.rows)

    async def body(app, pilot):
        for key in ("4", "right", "enter"):
            await pilot.press(key)
            await settle(app, pilot)
        seen["before"] = (_status(app), _listed(app), s.current_profile())
        seen["expected_before"] = cell_rows()
        for key in ("P", "down", "enter"):
            await pilot.press(key)
            await settle(app, pilot)
        seen["after"] = (_status(app), _listed(app), s.current_profile())
        seen["expected"] = cell_rows()

    drive(s, body)
    (label0, rows0, profile0), (label1, rows1, profile1) = seen["before"], seen["after"]
    assert "only: PROXY71 × cluster HVCL07" in label0 and "only: PROXY71 × cluster HVCL07" in label1
    assert profile0 != profile1  # the profile did change
    assert rows0 and sorted(rows0) == seen["expected_before"]
    assert sorted(rows1) == seen["expected"]  # exactly the cell's findings under the new profile
    assert {subject for _, subject in rows0} == {subject for _, subject in rows1}  # the same subjects


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_zoom_never_types_into_the_hidden_filter_and_the_zoomed_pane_scrolls(size):
    s = session("smb-estate.json")
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        rows = list(app.screen.view_rows)
        await pilot.press("z", "j", "z")
        await settle(app, pilot)
        seen["filter"] = app.screen.query_one("#filter", Input).value
        seen["rows_kept"] = app.screen.view_rows == rows
        seen["detail"] = str(app.screen.query_one("#detail-body").render())
        seen["focus_after"] = type(app.focused).__name__
        await pilot.press("z")
        await settle(app, pilot)
        detail = app.screen.query_one(FindingDetail)
        seen["zoomed"] = app.screen.maximized is detail and app.focused is detail
        seen["max"] = detail.max_scroll_y
        await pilot.press("pagedown")
        await settle(app, pilot)
        seen["after_pgdn"] = detail.scroll_y
        await pilot.press("up", "k")
        await settle(app, pilot)
        seen["after_up"] = detail.scroll_y
        await pilot.press("escape")
        await settle(app, pilot)
        seen["unzoomed"] = app.screen.maximized is None and isinstance(app.focused, FindingsList)

    drive(s, body, size=size)
    assert seen["filter"] == "" and seen["rows_kept"]
    assert "No finding matches" not in seen["detail"]
    assert seen["focus_after"] == "FindingsList"
    assert seen["zoomed"] and seen["max"] > 0
    assert seen["after_pgdn"] > 0 and seen["after_up"] < seen["after_pgdn"]
    assert seen["unzoomed"]


def test_names_are_cut_with_an_ellipsis_never_into_another_real_name():
    s = session("smb-estate.json")
    seen = {}

    async def body(app, pilot):
        await pilot.press("2", "p")  # passes too: both shares' findings
        await settle(app, pilot)
        lst = app.screen.query_one(FindingsList)
        widths = lst._widths(lst.scrollable_content_region.width)
        start = sum(widths[:3]) + 3
        cells = []
        for y in range(1, lst.scrollable_content_region.height):
            text = lst.render_line(y).text
            if text.strip():
                cells.append(text[start : start + widths[3]].rstrip())
        seen["cells"], seen["rows"] = cells, _listed(app)[: len(cells)]

    drive(s, body, size=(80, 24))
    names = {f["subject"]["name"] for f in s.findings}
    assert {"PROXY01 -> \\\\FS01\\VMS", "PROXY01 -> \\\\FS01\\VMS2"} <= names
    cut = 0
    for shown, (_, subject) in zip(seen["cells"], seen["rows"]):
        if shown != subject:
            cut += 1
            assert shown.endswith("…") and subject.startswith(shown[:-1]), (shown, subject)
        assert shown == subject or shown not in names  # never shows as another real name
    assert cut  # at 80 columns the share subjects are cut


def test_right_arrow_and_enter_open_tree_nodes_left_closes_and_j_k_move():
    s = session("csv-cluster-problems.json")
    seen = {}

    async def body(app, pilot):
        await pilot.press("3")
        await settle(app, pilot)
        tree = app.screen.query_one(FactsTree)
        seen["hint"] = str(app.screen.query_one("#facts-status").render())
        await pilot.press("j")  # the first child of the root: hosts
        node = tree.cursor_node
        seen["on"] = node.data
        await pilot.press("right")
        seen["opened"] = node.is_expanded
        await pilot.press("right")
        seen["child"] = tree.cursor_node.parent is node
        await pilot.press("left")
        seen["back"] = tree.cursor_node is node
        await pilot.press("left")
        seen["closed"] = not node.is_expanded
        await pilot.press("enter")
        seen["enter_opens"] = node.is_expanded
        await pilot.press("k")
        seen["k_up"] = tree.cursor_node is tree.root

    drive(s, body)
    assert "Enter or → opens a node" in seen["hint"]
    assert seen["on"] == ("hosts",)
    assert seen["opened"] and seen["child"] and seen["back"] and seen["closed"] and seen["enter_opens"]
    assert seen["k_up"]


def test_j_and_k_move_in_the_dashboard_matrix_and_profile_lists(faults_facts):
    s = Session.from_facts_file(str(faults_facts))
    seen = {}

    async def body(app, pilot):
        table = app.screen.query_one("#proxies", DataTable)
        await pilot.press("j")
        seen["dashboard"] = table.cursor_row
        await pilot.press("k")
        seen["dashboard_up"] = table.cursor_row
        await pilot.press("4")
        await settle(app, pilot)
        grid = app.screen.query_one("#matrix-table", DataTable)
        await pilot.press("j", "l")
        seen["matrix"] = (grid.cursor_coordinate.row, grid.cursor_coordinate.column)
        await pilot.press("P")
        await settle(app, pilot)
        options = app.screen.query_one(OptionList)
        first = options.highlighted
        await pilot.press("j")
        seen["profile"] = (first, options.highlighted)
        await pilot.press("escape")

    drive(s, body)
    assert seen["dashboard"] == 1 and seen["dashboard_up"] == 0
    assert seen["matrix"] == (1, 1)
    first, after = seen["profile"]
    assert after == (first + 1) % 2


def test_the_sort_label_names_the_order_the_rows_are_in():
    s = session("csv-cluster-problems.json")
    seen = {}

    async def body(app, pilot):
        await pilot.press("2", "p", "s")  # passes too; sort by the next column: severity
        await settle(app, pilot)
        seen["asc"] = (_status(app), [app.index.findings[i]["severity"] for i in app.screen.view_rows])
        await pilot.press("S")
        await settle(app, pilot)
        seen["desc"] = (_status(app), [app.index.findings[i]["severity"] for i in app.screen.view_rows])

    drive(s, body)
    rank = SEVERITIES.index
    (label, sevs), (label_r, sevs_r) = seen["asc"], seen["desc"]
    assert "sort severity: most severe first" in label
    assert [rank(x) for x in sevs] == sorted(rank(x) for x in sevs) and rank(sevs[0]) < rank(sevs[-1])
    assert "sort severity: least severe first" in label_r
    assert [rank(x) for x in sevs_r] == sorted((rank(x) for x in sevs_r), reverse=True)


def test_the_footer_names_the_view_keys_at_80_columns():
    s = session("csv-cluster-problems.json")
    seen = {}

    async def body(app, pilot):
        for view in "123456":
            await pilot.press(view)
            await settle(app, pilot)
            keys = [k for k in app.screen.query(FooterKey) if k.region.right <= 80 and k.region.width]
            labels = [str(label.render()) for label in app.screen.query(FooterLabel) if label.region.right <= 80]
            seen[app.current_mode] = ({k.key for k in keys}, labels)

    drive(s, body, size=(80, 24))
    assert set(seen) == {"dashboard", "findings", "facts", "matrix", "audit", "runs"}
    for mode, (keys, labels) in seen.items():
        assert set("123456") <= keys and "views" in labels, mode
        assert "question_mark" in keys, mode


def test_filtering_status_pass_while_passes_are_hidden_says_so():
    s = session("csv-cluster-healthy.json")
    seen = {}

    async def body(app, pilot):
        await pilot.press("2", "slash", *"status:pass", "enter")
        await settle(app, pilot)
        seen["hidden"] = (_status(app), len(app.screen.view_rows))
        await pilot.press("p")
        await settle(app, pilot)
        seen["shown"] = (_status(app), len(app.screen.view_rows))

    drive(s, body)
    (status, n), (status_p, n_p) = seen["hidden"], seen["shown"]
    assert n == 0 and "passes and n/a are hidden: p shows them" in status
    assert n_p > 0 and "hidden: p shows them" not in status_p and "passes shown" in status_p


def test_drilling_in_says_it_shows_passes_and_esc_gives_the_setting_back():
    s = session("csv-cluster-healthy.json")
    seen = {}

    async def body(app, pilot):
        await pilot.press("2")
        await settle(app, pilot)
        seen["start"] = _status(app)
        await pilot.press("4", "right", "enter")  # a ready cell: only passes behind it
        await settle(app, pilot)
        seen["drill"] = (_status(app), {app.index.findings[i]["status"] for i in app.screen.view_rows})
        await pilot.press("escape")
        await settle(app, pilot)
        seen["cleared"] = _status(app)

    drive(s, body)
    status, statuses = seen["drill"]
    assert "passes hidden" in seen["start"]
    assert "only: " in status and "passes shown (drill-down)" in status and "pass" in statuses
    assert "only: " not in seen["cleared"] and "passes hidden" in seen["cleared"]
