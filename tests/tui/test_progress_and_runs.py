"""Issue 17, TUI: long work shows progress at once and runs off the event loop; the run history
view opens a stored run and diffs two (the history read through its public functions)."""

from __future__ import annotations

import json
import sys
import threading

from tuikit import EXAMPLES, ROOT, drive, session, settle

from offhost_audit import audit, facts as facts_doc
from offhost_audit.tui.messages import DataChanged, WorkProgress
from offhost_audit.tui.session import Session
from offhost_audit.tui.widgets.activity import Activity


def _estate(tmp_path, hosts: int):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import estate  # benchmarks/estate.py: the generated estate the benchmarks use

    path = tmp_path / "estate.json"
    path.write_text(json.dumps(estate.generate(hosts)), encoding="utf-8")
    return path


def test_a_large_facts_file_draws_progress_first_and_evaluates_in_parts_off_the_event_loop(tmp_path):
    path = _estate(tmp_path, 2100)  # above the size where evaluation splits into worker processes
    s = Session.for_facts_file(str(path))
    seen: dict = {"progress": [], "threads": set()}
    loop_thread = threading.get_ident()

    def hook(msg):
        if isinstance(msg, WorkProgress):
            seen["progress"].append((msg.what, msg.done, msg.total))
        if isinstance(msg, DataChanged) and "at_data" not in seen:
            activity = app_ref[0].screen.query_one(Activity)
            seen["at_data"] = (activity.frames, activity.shown, s.pending is None)

    steps = s.open

    def open_and_note_thread(*a, **kw):
        seen["threads"].add(threading.get_ident())
        return steps(*a, **kw)

    s.open = open_and_note_thread  # type: ignore[method-assign]
    app_ref = []

    async def body(app, pilot):
        app_ref.append(app)
        seen["done"] = (len(s.findings), app.busy, str(app.screen.query_one("#counts").render()))
        seen["hidden"] = not app.screen.query_one(Activity).has_class("-busy")

    from offhost_audit.tui.app import build_app

    app = build_app(s)
    app_ref.append(app)

    import asyncio

    async def main():
        async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
            activity = app.screen.query_one(Activity)
            while not activity.frames:
                await pilot.pause()
            seen["first"] = (activity.shown, s.pending is not None)
            await settle(app, pilot)
            await body(app, pilot)

    asyncio.run(main())
    first_text, still_pending = seen["first"]
    assert still_pending and first_text.strip().split(" ", 1)[1].startswith(("opening", "checking", "evaluating"))
    frames, _, had_findings = seen["at_data"]
    assert frames >= 1 and had_findings  # progress was drawn before the findings came in
    parts = [(d, t) for what, d, t in seen["progress"] if what.startswith("evaluating 2,100 hosts") and t]
    assert parts and parts[-1][0] == parts[-1][1] >= 2  # the process pool's parts, counted
    assert seen["threads"] and loop_thread not in seen["threads"]
    n, busy, counts = seen["done"]
    assert n > 2100 and busy is None and seen["hidden"] and f"{n:,} findings" in counts


def test_a_facts_file_that_does_not_validate_ends_the_tui_with_its_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": 1, "hosts": "not a list"}), encoding="utf-8")
    s = Session.for_facts_file(str(bad))

    async def body(app, pilot):
        pass

    app = drive(s, body)
    assert app.open_error is not None and str(bad) in str(app.open_error)
    assert app.return_code == 2


def test_a_profile_switch_shows_progress_at_once_and_says_when_done():
    s = session("csv-cluster-problems.json")
    seen = {}

    def hook(msg):  # called as each message arrives, before it is handled
        if isinstance(msg, DataChanged) and app_ref:
            app = app_ref[0]
            seen["at_data"] = (app.busy.what if app.busy else None, app.screen.query_one(Activity).has_class("-busy"))

    app_ref = []

    async def body(app, pilot):
        app_ref.append(app)
        before = s.current_profile()
        await pilot.press("P", "down")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        seen["after"] = (
            before,
            s.current_profile(),
            app.busy,
            app.screen.query_one(Activity).has_class("-busy"),
            [n.message for n in app._notifications],
        )

    drive(s, body, message_hook=hook)
    what, shown = seen["at_data"]
    before, after, busy, still_shown, notes = seen["after"]
    # the activity line was up from the key until the new findings arrived, and gone after
    assert what.endswith(f"with profile {after}") and shown
    assert before != after and busy is None and not still_shown and f"Re-evaluated with profile {after}." in notes


def _history(tmp_path):
    db = str(tmp_path / "history.sqlite")
    for name in ("csv-cluster-problems.json", "csv-cluster-healthy.json", "csv-cluster-problems.json"):
        doc = facts_doc.load(str(EXAMPLES / name))
        audit.record_run(doc, audit.evaluate_facts(doc), db=db)
    return db


def test_the_run_history_lists_runs_and_opens_one(tmp_path):
    db = _history(tmp_path)
    s = session("smb-estate.json", history_db=db)
    seen = {}

    async def body(app, pilot):
        await pilot.press("6")
        await settle(app, pilot)
        table = app.screen.query_one("#runs")
        seen["rows"] = [[str(c) for c in table.get_row_at(i)][1:3] for i in range(table.row_count)]
        await pilot.press("j", "enter")
        await settle(app, pilot)
        seen["opened"] = (
            app.current_mode,
            app.session.run_id,
            len(app.session.findings),
            str(app.screen.query_one("#counts").render()),
            [n.message for n in app._notifications],
        )

    drive(s, body)
    assert [r[0] for r in seen["rows"]] == ["3", "2", "1"]
    mode, run_id, n, counts, notes = seen["opened"]
    assert mode == "dashboard" and run_id == "2" and "Opened run 2." in notes
    healthy = audit.evaluate_facts(facts_doc.load(str(EXAMPLES / "csv-cluster-healthy.json")))
    assert n == len(healthy) and f"{n} findings" in counts


def test_two_marked_runs_diff_inside_the_tui(tmp_path):
    db = _history(tmp_path)
    s = session("smb-estate.json", history_db=db)
    seen = {}

    async def body(app, pilot):
        await pilot.press("6")
        await settle(app, pilot)
        await pilot.press("j", "space", "j", "space")  # runs 2 and 1
        await settle(app, pilot)
        seen["status"] = str(app.screen.query_one("#runs-status").render())
        await pilot.press("d")
        await settle(app, pilot)
        seen["screen"] = type(app.screen).__name__
        seen["title"] = str(app.screen.query_one(".title-bar").render())
        seen["counts"] = str(app.screen.query_one("#diff-counts").render())
        table = app.screen.query_one("#diff-table")
        seen["rows"] = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        await pilot.press("escape")
        await settle(app, pilot)
        seen["back"] = type(app.screen).__name__

    drive(s, body)
    assert "marked: 1, 2" in seen["status"] and seen["screen"] == "DiffScreen"
    assert "run 1 (" in seen["title"] and "-> run 2 (" in seen["title"]  # older first, whatever the marking order
    from offhost_audit.store import history
    from offhost_audit.store.diff import LABELS, diff_runs

    with history.History(db) as store:
        d = diff_runs(store.load(1), store.load(2))
    assert d.counts()["fixed"] and d.counts()["not_evaluated"]  # run 1 failed where run 2 (healthy) does not
    for cat, n in d.counts().items():
        assert f"{LABELS[cat]}: {n}" in seen["counts"]
    listed = sorted((r[0], r[1], r[3]) for r in seen["rows"])
    assert listed == sorted(
        (LABELS[c.category], c.rule_id, c.subject)
        for v in d.changes.values()
        for c in v
        if c.category != "still_failing"
    )
    assert seen["back"] == "RunsScreen"


def test_the_run_history_never_creates_a_database(tmp_path):
    db = tmp_path / "none.sqlite"
    s = session("smb-estate.json", history_db=str(db))
    seen = {}

    async def body(app, pilot):
        await pilot.press("6")
        await settle(app, pilot)
        seen["status"] = str(app.screen.query_one("#runs-status").render())

    drive(s, body)
    assert f"No runs in {db} yet." in seen["status"] and not db.exists()
