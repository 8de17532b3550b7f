"""Re-use of unchanged parts (engine/reuse.py): a run that re-uses stored findings gives exactly the
findings of a full evaluation, on generated estates with random changes; any doubt evaluates again."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import sqlite3
from pathlib import Path

import pytest
from test_split import estate, fuzz  # the split's generated estates (benchmarks/estate.py) and their fuzzing

from offhost_audit import audit, cli
from offhost_audit.engine import reuse
from offhost_audit.errors import EXIT_NOT_STORED, EXIT_OK
from offhost_audit.lab import demo
from offhost_audit.store import history

PROFILE = "veeam-2025-08"
OTHER_PROFILE = "veeam-2026-02"
WAIVERS = """\
waivers:
  - id: W-1
    rule_id: {rule}
    subject: "{subject}"
    justification: accepted for the test
    owner: ops
    approved_by: security
    created: 2026-01-01
    expires: 2099-01-01
"""


def full(doc: dict, profile: str = PROFILE, engine: str = "embedded") -> list[dict]:
    """The findings of an evaluation without re-use."""
    return audit.evaluate_facts(copy.deepcopy(doc), profile=profile, jobs=1, engine=engine)


def stored(doc: dict, db: Path, *, profile: str = PROFILE, engine: str = "embedded", **kw) -> audit.AuditResult:
    """An audit of the facts in hand, stored in ``db`` (re-using what it can unless reuse=False)."""
    return audit.run(
        audit.AuditRequest(
            facts=copy.deepcopy(doc),
            evaluate=audit.EvaluateOptions(profile=profile, engine=engine, jobs=1, reuse=kw.pop("reuse", True)),
            record=audit.RecordOptions(db=db, **kw),
        )
    )


def _host_names(doc: dict) -> list[str]:
    return [h["name"] for h in doc["hosts"]]


def change(doc: dict, rnd: random.Random) -> list[str]:
    """A few random changes of the kinds a nightly collection sees; what was changed."""
    done = []
    for _ in range(rnd.randint(1, 4)):
        what = rnd.choice(
            ["build", "vm-moved", "status", "error-text", "ok-again", "durations", "generated", "dialect", "services",
             "host-gone", "vbr", "vss"]
        )  # fmt: skip
        host = rnd.choice(doc["hosts"])
        if what == "build" and isinstance(host.get("os"), dict):
            host["os"]["build"] = rnd.choice([9600, 17763, 20348, 26100])
        elif what == "vm-moved" and doc["vms"]:
            rnd.choice(doc["vms"])["host"] = rnd.choice(_host_names(doc))
        elif what == "status":
            collector = rnd.choice(["winrm.hyperv", "winrm.vss", "winrm.storage"])
            doc["collection"].append(
                {
                    "target": host["name"],
                    "collector": collector,
                    "status": "error",
                    "error": "timed out",
                    "duration_ms": 1.0,
                }
            )
        elif what == "error-text" and doc["collection"]:
            rnd.choice(doc["collection"])["error"] = f"HTTP 401 after {rnd.randint(1, 9)} tries"
        elif what == "ok-again" and doc["collection"]:
            doc["collection"].pop(rnd.randrange(len(doc["collection"])))
        elif what == "durations":
            for e in doc["collection"]:
                e["duration_ms"] = rnd.uniform(1, 9000)
        elif what == "generated":
            doc["generated_at"] = f"2026-12-{rnd.randint(10, 28)}T01:00:00Z"
        elif what == "dialect" and doc["shares"]:
            rnd.choice(doc["shares"])["dialect"] = rnd.choice(["2.1", "3.0.2", "3.1.1"])
        elif what == "services" and host.get("veeam_services"):
            host["veeam_services"] = host["veeam_services"][:1]
        elif what == "host-gone" and len(doc["hosts"]) > 2:
            doc["hosts"].remove(host)
        elif what == "vbr":
            doc["vbr"]["version"] = rnd.choice(["12.3.1.1139", "13.0.0.4967"])
        elif what == "vss":
            host["vss_providers"] = None
        else:
            continue
        done.append(what)
    return done


def assert_same(got: list[dict], want: list[dict], what: str) -> None:
    if got != want:
        lost = [f for f in want if f not in got][:3]
        extra = [f for f in got if f not in want][:3]
        assert not lost and not extra, f"{what}: missing {lost}\nextra {extra}"
        assert got == want, f"{what}: same findings, another order"


@pytest.mark.parametrize("seed", range(10))
def test_random_changes_give_the_findings_of_a_full_evaluation(seed, tmp_path):
    rnd = random.Random(seed)
    doc = fuzz(seed, hosts=rnd.choice([60, 120]))
    db = tmp_path / "h.sqlite"
    first = stored(doc, db)
    assert first.stored == EXIT_OK and first.parts.reused == 0
    assert_same(first.run.findings, full(doc), f"seed {seed}, first run")
    for step in range(3):
        what = change(doc, rnd)
        again = stored(doc, db)
        assert_same(again.run.findings, full(doc), f"seed {seed}, step {step}: {what}")
        assert again.run.meta["reuse"] == again.parts.summary()
        if len(again.parts.keys) > 2 and "vbr" not in what:
            assert again.parts.reused > 0, (seed, step, what)  # a few changes leave most parts as they were


def test_an_unchanged_estate_is_re_used_whole_and_durations_or_times_change_nothing(tmp_path):
    doc = estate.generate(200)
    db = tmp_path / "h.sqlite"
    first = stored(doc, db)
    doc["generated_at"] = "2027-01-01T00:00:00Z"
    doc["collection"] = [dict(e, duration_ms=e["duration_ms"] * 3 + 1) for e in doc["collection"]]
    again = stored(doc, db)
    assert again.parts.reused == len(again.parts.keys) == len(doc["assignments"]) > 1
    assert again.parts.from_run == first.run.id
    assert_same(again.run.findings, first.run.findings, "unchanged")


def test_a_changed_host_or_collector_status_re_evaluates_its_part_only(tmp_path):
    doc = estate.generate(200)
    ctx = "c"
    before = reuse.Keyed(doc, ctx).keys
    doc["hosts"][1]["os"]["build"] = 9600  # a node of the first pod
    doc["collection"].append({"target": doc["hosts"][10]["name"], "collector": "winrm.vss", "status": "error"})
    after = reuse.Keyed(doc, ctx).keys
    assert [a != b for a, b in zip(before, after)].count(True) == 2
    doc["collection"][-1]["error"] = "access denied"  # the error text is in the key
    assert reuse.Keyed(doc, ctx).keys != after
    doc["collection"].append(
        {"target": "VBR01", "collector": "vbr.rest", "status": "error"}
    )  # in no part: every part's
    assert all(a != b for a, b in zip(after, reuse.Keyed(doc, ctx).keys))
    assert reuse.Keyed(doc, "another context").keys[5] != reuse.Keyed(doc, ctx).keys[5]


def test_a_profile_switch_evaluates_again_and_the_previous_profiles_parts_stay(tmp_path):
    doc = estate.generate(120)
    db = tmp_path / "h.sqlite"
    stored(doc, db)
    other = stored(doc, db, profile=OTHER_PROFILE)
    assert other.parts.reused == 0
    assert_same(other.run.findings, full(doc, OTHER_PROFILE), "other profile")
    back = stored(doc, db)
    assert back.parts.reused == len(back.parts.keys) and back.parts.from_run == 1


def test_another_engine_has_other_keys(tmp_path):
    pytest.importorskip("opa_bindings", reason="make venv installs opa-golib-python-bindings")
    doc = estate.generate(40)
    db = tmp_path / "h.sqlite"
    embedded_run = stored(doc, db)
    opa_run = stored(doc, db, engine="opa")
    assert opa_run.parts.reused == 0 and opa_run.parts.context != embedded_run.parts.context
    assert set(opa_run.parts.keys).isdisjoint(embedded_run.parts.keys)
    assert_same(opa_run.run.findings, full(doc, engine="opa"), "opa")
    again = stored(doc, db, engine="opa")
    assert again.parts.reused == len(again.parts.keys) and again.parts.from_run == opa_run.run.id
    assert_same(again.run.findings, full(doc, engine="opa"), "opa re-used")


def test_no_reuse_evaluates_everything_and_still_records_the_parts(tmp_path):
    doc = estate.generate(120)
    db = tmp_path / "h.sqlite"
    stored(doc, db)
    forced = stored(doc, db, reuse=False)
    assert forced.parts.reused == 0 and forced.run.meta["reuse"]["reused"] == 0
    assert stored(doc, db).parts.from_run == forced.run.id


def test_re_used_findings_get_the_current_waivers(tmp_path):
    doc = estate.generate(120)
    db = tmp_path / "h.sqlite"
    failing = next(f for f in full(doc) if f["status"] == "fail")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS.format(rule=failing["rule_id"], subject=failing["subject"]["name"]), encoding="utf-8")
    waived = stored(doc, db, waivers=waivers)
    assert any(f["status"] == "waived" for f in waived.run.findings)
    plain = stored(doc, db)  # re-uses the waived run's findings: the waiver is not theirs any more
    assert plain.parts.reused == len(plain.parts.keys)
    assert_same(plain.run.findings, full(doc), "re-used without waivers")
    again = stored(doc, db, waivers=waivers)
    assert again.parts.reused == len(again.parts.keys)
    want = audit.record_run(doc, full(doc), waivers=waivers, save=False).findings
    assert_same(again.run.findings, want, "re-used with the waivers")


def _file_digest(db: Path) -> str:
    """The database file's digest and what its write-ahead log holds (opening a WAL database may
    create an empty log: that is SQLite reading, not a write)."""
    wal = db.with_name(db.name + "-wal")
    return hashlib.sha256(db.read_bytes()).hexdigest() + (wal.read_bytes().hex() if wal.exists() else "")


def test_a_damaged_parts_record_evaluates_everything_and_still_stores_the_run(tmp_path):
    doc = estate.generate(120)
    db = tmp_path / "h.sqlite"
    stored(doc, db)
    with sqlite3.connect(db) as c:
        c.execute("UPDATE run_parts SET parts = x'789c4b0400'")  # zlib of "a": not a parts record
    c.close()
    result = stored(doc, db)
    assert result.parts.reused == 0 and "damaged" in str(result.parts.error)
    # the file is sound (quick_check): the run is stored, as with a damaged previous run record
    assert result.stored == EXIT_OK and result.parts.store_error is None
    assert_same(result.run.findings, full(doc), "damaged history")


def test_a_damaged_database_file_evaluates_everything_and_writes_nothing(tmp_path):
    doc = estate.generate(120)
    db = tmp_path / "h.sqlite"
    stored(doc, db)
    with history.History(db) as h:  # everything into the main file (no WAL left), then spoil a page
        h.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    page = 4096
    data[2 * page : 3 * page] = b"\xa5" * page
    db.write_bytes(bytes(data))
    before = _file_digest(db)
    result = stored(doc, db)
    assert result.parts.reused == 0 and result.parts.error is not None
    assert result.stored == EXIT_NOT_STORED
    assert_same(result.run.findings, full(doc), "damaged file")
    assert _file_digest(db) == before


def test_a_finding_that_no_part_owns_records_no_evaluated_part():
    doc = estate.generate(60)
    keyed = reuse.Keyed(doc, "c")
    parts = reuse.Reuse(lambda context: None)
    stray = {"rule_id": "OHP-001", "subject": {"kind": "host", "name": "NOWHERE", "host": "NOWHERE"}}
    found = reuse.evaluate(keyed, lambda d: [stray], parts)
    assert found == [stray] and parts.findings == [None] * len(keyed.keys)
    assert parts.record({id(stray): 0}) is None


def test_the_cli_says_how_many_parts_it_re_used(tmp_path, capsys):
    doc = estate.generate(60)
    n = len(doc["assignments"])  # one part per pod
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(doc), encoding="utf-8")
    args = ["evaluate", "--facts", str(facts), "--db", str(tmp_path / "h.sqlite"), "--format", "json", "-j", "1"]
    assert cli.main([*args, "-o", str(tmp_path / "a.json")]) in (0, 1, 5)
    assert "part(s)" not in capsys.readouterr().err  # nothing re-used: nothing to say
    assert cli.main([*args, "-o", str(tmp_path / "b.json")]) in (0, 1, 5)
    err = capsys.readouterr().err
    assert f"evaluated 0 of {n} part(s)" in err and f"re-used the findings of {n} unchanged part(s) from run 1" in err
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert cli.main(["--debug", *args, "--no-reuse", "-o", str(tmp_path / "c.json")]) in (0, 1, 5)
    assert f"evaluated {n} of {n} part(s)" in capsys.readouterr().err  # --debug says it always
    assert cli.main([*args, "--quiet", "-o", str(tmp_path / "d.json")]) in (0, 1, 5)
    assert capsys.readouterr().err == ""
    cli.main(["history", "--db", str(tmp_path / "h.sqlite"), "--format", "json"])
    listed = json.loads(capsys.readouterr().out)
    assert [r["reuse"] for r in listed] == [
        {"parts": n, "reused": n, "from_run": 3},
        {"parts": n, "reused": 0, "from_run": None},
        {"parts": n, "reused": n, "from_run": 1},
        {"parts": n, "reused": 0, "from_run": None},
    ]


@pytest.mark.parametrize("scenario", ["faults", "large-generated"])
def test_two_lab_collections_of_an_unchanged_estate_re_use_every_part(scenario, tmp_path):
    db = tmp_path / "h.sqlite"
    with demo.serve(scenario, auth="basic") as (_, inv, resolver):
        runs = [
            audit.run(
                audit.AuditRequest(
                    inventory=inv,
                    collect=audit.CollectOptions(resolver=resolver, call_timeout=10, target_timeout=60),
                    evaluate=audit.EvaluateOptions(jobs=1),
                    record=audit.RecordOptions(db=db),
                )
            )
            for _ in range(2)
        ]
    durations = [[e["duration_ms"] for e in r.run.facts["collection"]] for r in runs]
    assert durations[0] != durations[1]  # two collections, each timed
    assert runs[0].parts.reused == 0 and len(runs[0].parts.keys) > 1
    assert runs[1].parts.reused == len(runs[1].parts.keys)
    assert_same(runs[1].run.findings, runs[0].run.findings, scenario)
    assert_same(runs[1].run.findings, full(runs[1].run.facts), scenario)


def test_null_and_empty_lists_have_other_keys():
    doc = estate.generate(60)
    keys = {}
    for value in ("absent", None, []):
        d = copy.deepcopy(doc)
        if value == "absent":
            del d["computer_accounts"]
        else:
            d["computer_accounts"] = value
        keys[str(value)] = reuse.Keyed(d, "c").keys
    assert len({tuple(k) for k in keys.values()}) == 3


def test_pruned_runs_take_their_parts_with_them(tmp_path):
    doc = estate.generate(60)
    db = tmp_path / "h.sqlite"
    for _ in range(3):
        stored(doc, db)
    with history.History(db) as h:
        assert h.prune(1) == 2
        assert h.db.execute("SELECT run_id FROM run_parts").fetchall() == [(3,)]


def test_every_fixture_and_example_re_used_gives_its_findings(tmp_path):
    import policy_cases

    for n, (name, make) in enumerate(policy_cases.documents().items()):
        doc, db = make(), tmp_path / f"h{n}.sqlite"
        first, again = stored(doc, db), stored(doc, db)
        assert again.parts.reused == len(again.parts.keys) > 0, name
        assert_same(again.run.findings, first.run.findings, name)
        assert_same(again.run.findings, full(doc), name)


def test_the_jobs_are_judged_again_over_re_used_findings(tmp_path):
    from bench_jobs import with_jobs  # benchmarks/: a generated estate with jobs on automatic selection

    doc = with_jobs(estate.generate(120), 12)
    db = tmp_path / "h.sqlite"
    stored(doc, db)
    doc["hosts"][0]["veeam_services"] = []  # a proxy of the first pod loses its services: its verdicts change
    again = stored(doc, db)
    assert 0 < again.parts.reused < len(again.parts.keys)
    assert any(f["subject"]["kind"].startswith("job") for f in again.run.findings)
    assert_same(again.run.findings, full(doc), "jobs")


def test_only_the_job_rules_read_the_jobs_and_volume_settings():
    """reuse.STAGE2_ONLY leaves vbr.jobs and vbr.hyperv_hosts out of the parts' keys: no stage 1
    policy (every package but offhost.jobs) may read them."""
    import re

    from offhost_audit.engine import embedded

    reads = re.compile("|".join(rf'"{k}"|\.{k}\b' for k in reuse.STAGE2_ONLY))
    stage1 = [s for s in embedded.compiled().sources if not s.rel.replace("\\", "/").startswith("jobs/")]
    assert len(stage1) > 20
    offending = [
        f"{s.rel}:{n}: {line.strip()}"
        for s in stage1
        for n, line in enumerate(s.text.splitlines(), 1)
        if reads.search(line.split("#")[0]) and "data.offhost.jobs" not in line and "lib.facts.hyperv_hosts" not in line
    ]
    assert not offending, offending


def test_a_changed_job_re_evaluates_no_part(tmp_path):
    from bench_jobs import with_jobs

    doc = with_jobs(estate.generate(120), 12)
    db = tmp_path / "h.sqlite"
    stored(doc, db)
    doc["vbr"]["jobs"][3]["proxies"] = {"automatic": False, "names": [doc["assignments"][0]["proxy"]]}
    doc["vbr"]["jobs"].pop()
    again = stored(doc, db)
    assert again.parts.reused == len(again.parts.keys)
    assert_same(again.run.findings, full(doc), "jobs changed")


def test_a_version_2_history_is_migrated_and_re_used_from_its_next_run(tmp_path):
    doc = estate.generate(60)
    db = tmp_path / "h.sqlite"
    stored(doc, db)
    with sqlite3.connect(db) as c:  # the file as schema version 2 left it: no parts
        c.execute("DROP TABLE run_parts")
        c.execute("PRAGMA user_version = 2")
    c.close()
    first = stored(doc, db)
    assert first.stored == EXIT_OK and first.parts.reused == 0
    with history.History(db, create=False) as h:
        assert h.db.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION == 3
        assert [r.id for r in h.runs()] == [2, 1]
    assert stored(doc, db).parts.from_run == 2
