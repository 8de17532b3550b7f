"""The matrix shows the plan (offhost_audit/plan/): ``p`` stars the pairs the plan uses and says
how many proxies it needs; ``w`` takes the proxy under the cursor away and names the jobs that fall
back; ``w`` again brings it back, ``p`` hides the plan."""

from __future__ import annotations

from textual.widgets import DataTable, Static
from tuikit import drive, session, settle


def test_the_plan_is_starred_on_the_matrix_and_w_asks_what_if_a_proxy_is_down():
    seen: dict[str, object] = {}

    def grab(app, key):
        table = app.screen.query_one("#matrix-table", DataTable)
        seen[key + ".rows"] = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        plan = app.screen.query_one("#matrix-plan", Static)
        seen[key + ".plan"] = str(plan.render()) if plan.display else None

    async def body(app, pilot):
        await pilot.press("4")
        await settle(app, pilot)
        grab(app, "before")
        await pilot.press("p")
        await settle(app, pilot)
        grab(app, "plan")
        await pilot.press("w")
        await settle(app, pilot)
        grab(app, "without")
        await pilot.press("w")
        await settle(app, pilot)
        grab(app, "back")
        await pilot.press("p")
        await settle(app, pilot)
        grab(app, "hidden")

    drive(session("csv-cluster-jobs.json"), body)
    assert seen["before.rows"] == [["PROXY01", "✔ ready"]] and seen["before.plan"] is None
    assert seen["plan.rows"] == [["PROXY01", "✔ ready ★"]]
    assert "1 of 1 proxies needed for 1 source(s)" in seen["plan.plan"] and "HiGHS MILP: optimal" in seen["plan.plan"]
    assert seen["without.rows"] == [["PROXY01", "✔ ready"]]  # the pair is still ready: the proxy is down
    text = seen["without.plan"]
    assert "without PROXY01" in text and "loses off-host processing: cluster HVCL01" in text
    assert "job Nightly: falls back to on-host processing for cluster HVCL01" in text
    assert seen["back.rows"] == [["PROXY01", "✔ ready ★"]] and "without" not in seen["back.plan"]
    assert seen["hidden.rows"] == [["PROXY01", "✔ ready"]] and seen["hidden.plan"] is None
