"""History in SQLite: save, list, load, previous, prune, migrations, two concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from offhost_audit.errors import InputError
from offhost_audit.store.history import SCHEMA_VERSION, History, default_db_path


def test_save_load_roundtrip(tmp_path, problems):
    facts, found = problems
    with History(tmp_path / "h.sqlite") as h:
        rid = h.save_run({"profile": "p", "engine": "embedded", "rules": ["OHP-010"]}, found, facts=facts)
        run = h.load(rid)
        assert run.id == rid and run.findings == found and run.facts == facts
        assert run.meta["engine"] == "embedded"
        assert run.started_at.endswith("Z")
        assert h.load().id == rid  # latest
        assert h.load(rid, facts=False).facts is None
        summary = h.runs()[0]
        assert summary.counts["status"]["fail"] == sum(f["status"] == "fail" for f in found)
        assert summary.counts["total"] == len(found)


def test_wal_and_user_version(tmp_path):
    path = tmp_path / "h.sqlite"
    History(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "h.sqlite"
    History(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.commit()
    db.close()
    with pytest.raises(InputError, match="newer than this offhost-audit"):
        History(path)


def test_not_a_database(tmp_path):
    path = tmp_path / "h.sqlite"
    path.write_text("hello, I am not sqlite " * 100)
    with pytest.raises(InputError, match="not an offhost-audit history database .*left as it is"):
        History(path)


def test_empty_history_and_missing_run(tmp_path):
    with History(tmp_path / "h.sqlite") as h:
        with pytest.raises(InputError, match="no runs yet"):
            h.load()
        h.save_run({}, [])
        with pytest.raises(InputError, match="no run 99"):
            h.load(99)


def test_previous_and_prune(tmp_path):
    with History(tmp_path / "h.sqlite") as h:
        ids = [h.save_run({"n": i}, []) for i in range(5)]
        assert h.previous(ids[0]) is None
        assert h.previous(ids[3]).id == ids[2]
        assert [r.id for r in h.runs(limit=2)] == [ids[4], ids[3]]
        assert h.prune(2) == 3
        assert [r.id for r in h.runs()] == [ids[4], ids[3]]
        assert h.previous(ids[3]) is None
        with pytest.raises(InputError, match="--keep-runs must be 1 or more"):
            h.prune(0)


def test_default_path_is_under_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_db_path() == tmp_path / "offhost-audit" / "history.sqlite"


def _writer(path: str, tag: int, n: int) -> None:
    with History(path) as h:
        for i in range(n):
            h.save_run(
                {"writer": tag, "i": i},
                [
                    {
                        "rule_id": "OHP-001",
                        "status": "pass",
                        "severity": "high",
                        "subject": {"kind": "proxy", "name": f"P{tag}-{i}"},
                    }
                ]
                * 200,
            )


def test_two_processes_writing_at_once_keep_every_run(tmp_path):
    path = str(tmp_path / "h.sqlite")  # not created yet: both processes also race to create and migrate it
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, t, 25)) for t in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with History(path) as h:
        runs = h.runs()
        assert len(runs) == 50
        assert sorted((r.meta["writer"], r.meta["i"]) for r in runs) == sorted(
            (t, i) for t in (1, 2) for i in range(25)
        )
        assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_record_run_stores_meta_scope_and_prunes(tmp_path, problems):
    from offhost_audit import audit

    facts, found = problems
    db = tmp_path / "h.sqlite"
    inv = tmp_path / "inv.yaml"
    inv.write_text("proxies: []\n")
    for _ in range(3):
        run = audit.record_run(facts, found, db=db, engine="embedded", inventory_path=inv, keep_runs=2, warnings=["w1"])
    with History(db) as h:
        assert [r.id for r in h.runs()] == [run.id, run.id - 1]
        meta = h.load().meta
    assert meta["engine"] == "embedded" and meta["profile"]
    assert meta["inventory_hash"].startswith("sha256:") and meta["policy_bundle_hash"].startswith("sha256:")
    assert "PROXY01" in meta["targets"] and "HVCL02" in meta["targets"]
    assert "OHP-010" in meta["rules"] and meta["warnings"] == ["w1"]
    assert audit.record_run(facts, found, save=False).id is None


def test_opening_a_new_database_from_many_threads_at_once_never_fails(tmp_path):
    """Two openers of a new file can deadlock on the switch to WAL; SQLite answers one "database is
    locked" at once, without the busy timeout. Before the retry this failed about 1 round in 30."""
    import threading

    for k in range(200):
        path = tmp_path / f"h{k}.sqlite"
        start = threading.Barrier(6)
        errors: list[Exception] = []

        def open_it(start: threading.Barrier = start, path=path, errors: list[Exception] = errors) -> None:
            start.wait()
            try:
                History(path).close()
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                errors.append(e)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [], f"round {k}: {errors[0]}"


def test_previous_is_the_previous_run_of_the_same_estate(tmp_path):
    with History(tmp_path / "h.sqlite") as h:
        a1 = h.save_run({"estate": "inventory:/etc/a.yaml"}, [])
        b1 = h.save_run({"estate": "facts:/tmp/b.json"}, [])
        a2 = h.save_run({"estate": "inventory:/etc/a.yaml"}, [])
        legacy = h.save_run({"inventory": "/etc/a.yaml"}, [])  # recorded before the estate key: the path as given
        relative = h.save_run({"inventory": "a.yaml"}, [])
        assert h.previous(a2).id == a1 and h.previous(b1) is None and h.previous(a1) is None
        assert h.previous(legacy).id == a2 and h.previous(relative) is None and h.previous(99) is None
        assert [r.id for r in h.runs(estate="inventory:/etc/a.yaml")] == [legacy, a2, a1]


def test_the_report_manifest_lists_what_is_beyond_keep(tmp_path):
    with History(tmp_path / "h.sqlite") as h:
        h.add_report_files("/srv/rep", [(f"c{i}.md", "md", i, f"1:{i}") for i in range(5)])
        h.add_report_files("/srv/other", [("x.md", "md", 1, "1:99")])
        beyond = h.report_files_beyond("/srv/rep", "md", 2)
        assert [f.name for f in beyond] == ["c2.md", "c1.md", "c0.md"]
        h.forget_report_files([f.id for f in beyond])
        assert h.report_files_beyond("/srv/rep", "md", 0) != [] and h.report_files_beyond("/srv/rep", "md", 2) == []
        assert [f.name for f in h.report_files_beyond("/srv/other", "md", 0)] == ["x.md"]


def test_a_new_database_is_marked_as_ours(tmp_path):
    from offhost_audit.store.history import APPLICATION_ID

    History(tmp_path / "h.sqlite").close()
    assert sqlite3.connect(tmp_path / "h.sqlite").execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
