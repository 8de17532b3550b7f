"""Promise: whatever the arguments or the documents, no traceback, an exit code in {0, 1, 2, 3},
and every error about a file is one line per problem naming that file (waivers files too, through
`waivers lint` and `evaluate --waivers`, with no control character printed).

Hypothesis drives the real CLI (``cli.main``, in process) with generated arguments, and with
inventories and facts documents mutated from the shipped examples. Nothing here reaches the
network: credentials are not set (a valid inventory stops at "environment variable ... is not set").
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st
from promise_kit import EXAMPLE_FACTS, ROOT

from offhost_audit import cli

EXAMPLE_INVENTORY = ROOT / "examples" / "inventory.yaml"
EXAMPLE_WAIVERS = ROOT / "examples" / "waivers.example.yaml"
SETTINGS = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 60)),
    deadline=None,
    derandomize="FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

odd_text = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "-1",
            "0",
            "nan",
            "inf",
            "1e309",
            "70000",
            "\x1b[2J",
            "../",
            "/dev/null",
            "a" * 300,
            "--",
            "-o",
            "{}",
            "[]",
            "high",
            "json",
            "table",
        ]
    ),
    st.text(max_size=12),
)
scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True), odd_text)
value = st.recursive(
    scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(odd_text, inner, max_size=3)),
    max_leaves=8,
)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code, _, err = _run_both(argv, capsys)
    return code, err


def _run_both(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as e:  # argparse: usage errors exit 2, --help/--version 0
        code = e.code if isinstance(e.code, int) else 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    assert code in (0, 1, 2, 3, 5), (argv, code, err)  # 5: a fact the mutation removed is unknown
    return code, out, err


def _errors_name(err: str, path: Path) -> None:
    for line in err.splitlines():
        if line.startswith("offhost-audit: warning:"):
            continue
        assert str(path) in line, f"an error line that does not name {path}: {line!r}"


def _mutate(doc: Any, data: st.DataObject, depth: int = 0) -> Any:
    """Replace, delete or duplicate one thing somewhere in the document."""
    if isinstance(doc, dict) and doc and depth < 6 and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(doc, key=str)))
        action = data.draw(st.sampled_from(["descend", "delete", "replace", "add"]))
        out = dict(doc)
        if action == "descend":
            out[key] = _mutate(doc[key], data, depth + 1)
        elif action == "delete":
            del out[key]
        elif action == "replace":
            out[key] = data.draw(value)
        else:
            out[data.draw(odd_text)] = data.draw(value)
        return out
    if isinstance(doc, list) and doc and depth < 6 and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(doc) - 1))
        action = data.draw(st.sampled_from(["descend", "duplicate", "delete", "replace"]))
        out = list(doc)
        if action == "descend":
            out[i] = _mutate(doc[i], data, depth + 1)
        elif action == "duplicate":
            out.append(doc[i])
        elif action == "delete":
            del out[i]
        else:
            out[i] = data.draw(value)
        return out
    return data.draw(value) if data.draw(st.booleans()) else doc


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch, tmp_path_factory):
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))  # a generated -o NAME lands here, not in the checkout
    for k in list(os.environ):
        if k.startswith("OFFHOST_"):
            monkeypatch.delenv(k)


@SETTINGS
@given(data=st.data())
def test_cli_arguments_never_crash(tmp_path_factory, capsys, data):
    tmp = tmp_path_factory.mktemp("cli")
    command = data.draw(
        st.sampled_from(
            [
                ["evaluate", "-f", str(EXAMPLE_FACTS)],
                ["evaluate"],
                ["collect"],
                ["audit"],
                ["policy", "test"],
                ["lab"],
                [],
            ]
        )
    )
    pool = [
        "--profile",
        "--fail-on",
        "--format",
        "-o",
        "--timeout",
        "--target-timeout",
        "--concurrency",
        "--opa-url",
        "-i",
        "--facts",
        "--save-facts",
        "--insecure",
        "-q",
        "--debug",
        "--version",
        "--help",
    ]
    extra: list[str] = []
    for opt in data.draw(st.lists(st.sampled_from(pool), max_size=4)):
        extra.append(opt)
        if opt not in ("--insecure", "-q", "--debug", "--version", "--help"):
            extra.append(data.draw(odd_text))
    extra = [x.replace("\x00", "") for x in extra]  # a NUL cannot reach argv
    if "-o" in extra or "--save-facts" in extra:
        extra = [str(tmp / "out") if x in ("/dev/null", "../") else x for x in extra]
    _run([*command, *extra], capsys)


def _mutated_file(tmp: Path, name: str, text: str, data: st.DataObject) -> Path:
    """The example document, mutated as data, then (half the time) garbled as text."""
    load, dump = (json.loads, json.dumps) if name.endswith(".json") else (yaml.safe_load, yaml.safe_dump)
    mutated = dump(_mutate(load(text), data))
    f = tmp / name
    f.write_text(mutated if data.draw(st.booleans()) else _garble(mutated, data))
    return f


@SETTINGS
@given(data=st.data())
def test_mutated_inventories_are_loaded_or_refused_one_line_per_error(tmp_path_factory, capsys, data):
    tmp = tmp_path_factory.mktemp("inv")
    f = _mutated_file(tmp, "inventory.yaml", EXAMPLE_INVENTORY.read_text(), data)
    code, err = _run(["collect", "-q", "-i", str(f), "-o", str(tmp / "facts.json"), "--timeout", "1"], capsys)
    assert code in (2, 3)
    if code == 2:
        _errors_name(err, f)


@SETTINGS
@given(data=st.data())
def test_mutated_facts_are_evaluated_or_refused_one_line_per_error(tmp_path_factory, capsys, data):
    f = _mutated_file(tmp_path_factory.mktemp("facts"), "facts.json", EXAMPLE_FACTS.read_text(), data)
    code, err = _run(["evaluate", "-f", str(f), "--format", "json"], capsys)
    if code == 2:
        _errors_name(err, f)


@SETTINGS
@given(data=st.data())
def test_mutated_waivers_files_are_linted_and_applied_or_refused_one_line_per_error(tmp_path_factory, capsys, data):
    f = _mutated_file(tmp_path_factory.mktemp("waivers"), "waivers.yaml", EXAMPLE_WAIVERS.read_text(), data)
    code, out, err = _run_both(["waivers", "lint", str(f)], capsys)
    assert code in (0, 1, 2)
    for line in out.splitlines():  # every problem one line, naming the file
        assert line.startswith(f"{f}:"), line
    assert not CONTROL.search(out + err)
    code, err = _run(["evaluate", "-f", str(EXAMPLE_FACTS), "--no-history", "--waivers", str(f), "-q"], capsys)
    if code == 2:
        _errors_name(err, f)
    assert not CONTROL.search(err)


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # what a terminal would run, or cannot print


def _garble(text: str, data: st.DataObject) -> str:
    """Insert, delete or replace a few characters (a hand edit gone wrong)."""
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(text)))
        text = (
            text[:i]
            + data.draw(st.sampled_from(["", "\t", ":", "- ", "{", "]", "&a ", "*a", "'", '"', "\n  "]))
            + text[i + data.draw(st.integers(0, 3)) :]
        )
    return text


@pytest.fixture(scope="module")
def history_template(tmp_path_factory):
    """A real history with three runs (two estates) to copy and damage per example."""
    from offhost_audit import audit

    db = tmp_path_factory.mktemp("history") / "h.sqlite"
    doc = json.loads(EXAMPLE_FACTS.read_text())
    found, _ = audit.evaluate_file(EXAMPLE_FACTS)
    for i, path in enumerate(("a.json", "b.json", "a.json")):
        audit.record_run(doc, found[i:], db=db, facts_path=path)
    return db


def _damage(db: Path, data: st.DataObject) -> None:
    """One crafted change: a stored value replaced (as JSON, as text, as bytes), a row or table
    dropped, or bytes of the file overwritten."""
    import sqlite3
    import zlib

    kind = data.draw(
        st.sampled_from(["meta", "counts", "started_at", "estate", "findings", "facts", "delete", "drop", "bytes"])
    )
    if kind == "bytes":
        size = db.stat().st_size
        with open(db, "r+b") as f:
            f.seek(data.draw(st.integers(0, size - 1)))
            f.write(data.draw(st.binary(min_size=1, max_size=64)))
        return
    con = sqlite3.connect(db, isolation_level=None)
    try:
        _change(con, kind, data)
    except (sqlite3.Error, TypeError, ValueError, zlib.error):
        pass  # an earlier change already broke what this one would change
    finally:
        con.close()


def _change(con: Any, kind: str, data: st.DataObject) -> None:
    import zlib

    run = data.draw(st.integers(1, 3))
    if kind in ("meta", "counts"):
        old = json.loads(con.execute(f"SELECT {kind} FROM runs WHERE id = ?", (run,)).fetchone()[0])
        new = json.dumps(_mutate(old, data)) if data.draw(st.booleans()) else data.draw(odd_text)
        con.execute(f"UPDATE runs SET {kind} = ? WHERE id = ?", (new, run))
    elif kind in ("started_at", "estate"):
        con.execute(f"UPDATE runs SET {kind} = ? WHERE id = ?", (data.draw(odd_text), run))
    elif kind in ("findings", "facts"):
        blob = con.execute(f"SELECT {kind} FROM run_data WHERE run_id = ?", (run,)).fetchone()[0]
        if data.draw(st.booleans()):
            new = zlib.compress(json.dumps(_mutate(json.loads(zlib.decompress(blob)), data)).encode())
        else:
            new = data.draw(st.binary(max_size=40))
        con.execute(f"UPDATE run_data SET {kind} = ? WHERE run_id = ?", (new, run))
    elif kind == "delete":
        con.execute("DELETE FROM runs WHERE id = ?", (run,))
    else:
        con.execute(f"DROP TABLE {data.draw(st.sampled_from(['run_data', 'report_files', 'runs']))}")


@SETTINGS
@given(data=st.data())
def test_history_diff_and_report_on_a_crafted_history_never_crash(tmp_path_factory, capsys, history_template, data):
    import re
    import shutil

    tmp = tmp_path_factory.mktemp("crafted")
    db = tmp / "h.sqlite"
    shutil.copy(history_template, db)
    for _ in range(data.draw(st.integers(1, 3))):
        _damage(db, data)
    ids = st.one_of(st.sampled_from(["1", "2", "3", "0", "-1", str(2**63), "x"]), odd_text)
    command = data.draw(st.sampled_from(["history", "diff", "report"]))
    argv = [command]
    if command == "history" and data.draw(st.booleans()):
        argv += ["--limit", data.draw(ids)]
    elif command == "diff":
        argv += data.draw(st.lists(ids, max_size=2))
    elif command == "report":
        argv += [*data.draw(st.lists(ids, max_size=1)), "-o", str(tmp / "rep"), "-f", "md,json"]
    if command != "report":
        argv += ["--format", data.draw(st.sampled_from(["table", "json"]))]
    argv = [a.replace("\x00", "") for a in argv]
    code, err = _run([*argv, "--db", str(db)], capsys)
    out = capsys.readouterr().out
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", out + err), repr((out + err)[:300])
