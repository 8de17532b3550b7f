"""Promises: files the tool names itself in a report folder are never written through a link
someone planted there; the folder is checked against the run's inputs and outputs; `--keep` removes
only the copies this tool recorded in the history.

Everything is real: symlinks in the folder, a victim file checked byte for byte, a thread that
plants links while the reports are being written.
"""

from __future__ import annotations

import os
import shutil
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from promise_kit import EXAMPLE_FACTS
from store_kit import cli, digest, one_line

from offhost_audit.cli import main

VICTIM_TEXT = b"ssh-ed25519 AAAA... admin@host\n"


def _victim(tmp_path: Path) -> Path:
    v = tmp_path / "victim" / "authorized_keys"
    v.parent.mkdir()
    v.write_bytes(VICTIM_TEXT)
    return v


def _evaluate(rep: Path, db: Path, *extra: str) -> int:
    return main(["evaluate", "-f", str(EXAMPLE_FACTS), "--db", str(db), "--report", str(rep), "-q", *extra])


def _stamped(rep: Path, ext: str) -> list[str]:
    return sorted(p.name for p in rep.iterdir() if p.name.startswith("offhost-audit-") and p.name.endswith(ext))


def test_a_link_planted_at_latest_is_replaced_not_followed(tmp_path):
    victim, rep = _victim(tmp_path), tmp_path / "rep"
    rep.mkdir()
    (rep / "latest.md").symlink_to(victim)
    assert _evaluate(rep, tmp_path / "h.sqlite", "-F", "md") == 0
    assert victim.read_bytes() == VICTIM_TEXT
    assert not (rep / "latest.md").is_symlink() and (rep / "latest.md").read_text().startswith("# Off-host")


def test_a_dangling_link_at_latest_creates_nothing_where_it_points(tmp_path):
    rep, target = tmp_path / "rep", tmp_path / "elsewhere" / "created-by-us.json"
    target.parent.mkdir()
    rep.mkdir()
    (rep / "latest.json").symlink_to(target)
    assert _evaluate(rep, tmp_path / "h.sqlite", "-F", "json") == 0
    assert not target.exists() and not (rep / "latest.json").is_symlink()


def test_links_planted_at_the_predictable_timestamped_names_are_never_written(tmp_path):
    victim, rep = _victim(tmp_path), tmp_path / "rep"
    rep.mkdir()
    now = datetime.now(timezone.utc)
    planted = []
    for s in range(-2, 30):  # every name the old scheme could pick in the next half minute, run 1
        when = (now + timedelta(seconds=s)).strftime("%Y%m%dT%H%M%SZ")
        for name in (f"offhost-audit-{when}-run1.md", f"offhost-audit-{when}-run1.md.tmp"):
            (rep / name).symlink_to(victim)
            planted.append(name)
    assert _evaluate(rep, tmp_path / "h.sqlite", "-F", "md") == 0
    assert victim.read_bytes() == VICTIM_TEXT
    assert all((rep / n).is_symlink() for n in planted)  # left alone
    mine = [n for n in _stamped(rep, ".md") if not (rep / n).is_symlink()]
    assert len(mine) == 1 and mine[0] not in planted


def test_a_link_swapped_in_while_writing_never_reaches_the_victim(tmp_path):
    """A second thread keeps planting links at latest.md and over our temporary files, as an attacker
    with write access to the folder would, while 20 reports are written."""
    import json

    from offhost_audit import audit
    from offhost_audit.reports.render import render

    victim, rep = _victim(tmp_path), tmp_path / "rep"
    rep.mkdir()
    found, _ = audit.evaluate_file(EXAMPLE_FACTS)
    run = audit.record_run(json.loads(EXAMPLE_FACTS.read_text()), found, save=False)
    stop, swapped = threading.Event(), {"latest": 0, "temporary": 0}

    def attacker() -> None:
        while not stop.is_set():
            for name in os.listdir(rep):
                kind = "temporary" if name.endswith(".offhost-tmp") else "latest" if name == "latest.md" else None
                if kind is None or (rep / name).is_symlink():
                    continue
                try:
                    os.symlink(victim, rep / ".planted")
                    os.replace(rep / ".planted", rep / name)
                    swapped[kind] += 1
                except OSError:
                    (rep / ".planted").unlink(missing_ok=True)

    thread = threading.Thread(target=attacker)
    thread.start()
    try:
        for _ in range(400):
            render(run, ["md"], rep, stamp=False)
            if swapped["temporary"] >= 3 and swapped["latest"] >= 3:
                break
    finally:
        stop.set()
        thread.join(10)
    assert swapped["temporary"] >= 3 and swapped["latest"] >= 3, swapped
    assert victim.read_bytes() == VICTIM_TEXT


def test_the_tui_export_does_not_write_through_a_planted_link(tmp_path):
    from offhost_audit.tui.session import Session

    victim, rep = _victim(tmp_path), tmp_path / "export"
    rep.mkdir()
    (rep / "latest.html").symlink_to(victim)
    session = Session.from_facts_file(str(EXAMPLE_FACTS))
    files = session.export(list(range(len(session.findings))), str(rep), ("html",))
    assert victim.read_bytes() == VICTIM_TEXT
    assert str(rep / "latest.html") in files and not (rep / "latest.html").is_symlink()


def test_a_folder_at_latest_is_one_clear_line(tmp_path):
    rep = tmp_path / "rep"
    (rep / "latest.md").mkdir(parents=True)
    r = cli("evaluate", "-f", str(EXAMPLE_FACTS), "--no-history", "--report", str(rep), "-F", "md", "-q")
    assert r.returncode == 2 and "latest.md: is a folder, not a report file" in one_line(r.stderr)


def test_the_report_folder_may_not_hold_the_runs_facts(tmp_path):
    rep = tmp_path / "rep"
    rep.mkdir()
    facts = rep / "latest.json"
    shutil.copy(EXAMPLE_FACTS, facts)
    before = digest(facts)
    r = cli("evaluate", "--facts", str(facts), "--report", str(rep), "--db", str(tmp_path / "h.sqlite"))
    assert r.returncode == 2 and "--report" in one_line(r.stderr) and digest(facts) == before
    assert not (tmp_path / "h.sqlite").exists()  # refused before any work


def test_the_report_folder_may_not_hold_the_history(tmp_path):
    rep = tmp_path / "rep2"
    rep.mkdir()
    db = rep / "latest.json"
    assert main(["evaluate", "-f", str(EXAMPLE_FACTS), "--db", str(db), "-q"]) == 0
    before = digest(db)
    r = cli("evaluate", "-f", str(EXAMPLE_FACTS), "--db", str(db), "--report", str(rep), "-F", "json")
    assert r.returncode == 2 and "latest.json" in one_line(r.stderr) and digest(db) == before
    r = cli("report", "-o", str(rep), "--db", str(db), "-f", "json")
    assert r.returncode == 2 and digest(db) == before


def test_keep_removes_only_the_copies_it_recorded(tmp_path):
    rep, db = tmp_path / "rep", tmp_path / "h.sqlite"
    rep.mkdir()
    lookalike_dir = rep / "offhost-audit-20000101T000000Z-run1-00000000.md"
    lookalike_dir.mkdir()
    users_file = rep / "offhost-audit-20991231T235959Z-run9-ffffffff.md"
    users_file.write_text("the user's own notes\n")
    for _ in range(4):
        assert _evaluate(rep, db, "-F", "md", "--keep", "2") == 0
    assert lookalike_dir.is_dir() and users_file.read_text() == "the user's own notes\n"
    mine = [n for n in _stamped(rep, ".md") if n not in (lookalike_dir.name, users_file.name)]
    assert sorted(n.split("-run")[1][0] for n in mine) == ["3", "4"]  # the newest two runs' copies


def test_keep_never_removes_a_copy_replaced_by_someone_else(tmp_path):
    rep, db = tmp_path / "rep", tmp_path / "h.sqlite"
    assert _evaluate(rep, db, "-F", "md", "--keep", "1") == 0
    first = rep / _stamped(rep, ".md")[0]
    first.unlink()
    first.write_text("not the report any more\n")  # the same name, another file
    assert _evaluate(rep, db, "-F", "md", "--keep", "1") == 0
    assert first.read_text() == "not the report any more\n"


def test_keep_defaults_to_30_copies_per_format(tmp_path):
    rep, db = tmp_path / "rep", tmp_path / "h.sqlite"
    assert _evaluate(rep, db, "-F", "md") == 0
    for _ in range(31):
        assert main(["report", "-o", str(rep), "--db", str(db), "-f", "md", "-q"]) == 0
    assert len(_stamped(rep, ".md")) == 30


def test_keep_with_no_history_is_refused_before_any_work(tmp_path):
    r = cli("evaluate", "-f", str(EXAMPLE_FACTS), "--no-history", "--report", str(tmp_path / "rep"), "--keep", "3")
    assert r.returncode == 2 and "--keep" in one_line(r.stderr) and not (tmp_path / "rep").exists()


def test_the_report_folder_is_refused_when_it_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = cli("evaluate", "-f", str(EXAMPLE_FACTS), "--no-history", "--report", str(f), "-F", "md")
    assert r.returncode == 2 and str(f) in one_line(r.stderr) and f.read_text() == "x"


def test_a_report_folder_swapped_for_a_link_after_opening_keeps_the_files_in_the_folder(tmp_path):
    from offhost_audit.reports.folder import ReportFolder

    rep, moved, elsewhere = tmp_path / "rep", tmp_path / "moved", tmp_path / "elsewhere"
    elsewhere.mkdir()
    with ReportFolder(rep) as folder:
        rep.rename(moved)
        rep.symlink_to(elsewhere, target_is_directory=True)  # the folder's name now leads somewhere else
        folder.write("latest.md", "report\n")
    assert (moved / "latest.md").read_text() == "report\n" and list(elsewhere.iterdir()) == []
