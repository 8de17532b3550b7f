"""`offhost-audit policy test`: opa test semantics on synthetic policy folders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from offhost_audit import cli
from offhost_audit.engine.testrunner import go_duration

POLICY = """package demo

import rego.v1

allow if input.user == "admin"

deny contains "no user" if not input.user

role := "guest" if {
	input.user == "guest"
}
"""

TESTS = """package demo_test

import rego.v1

import data.demo

test_admin_allowed if demo.allow with input as {"user": "admin"}

test_guest_denied if {
	print("checking guest")
	not demo.allow with input as {"user": "guest"}
}

test_wrong_expectation if demo.allow with input as {"user": "bob"}

test_not_boolean := 7

test_error if to_number("x") == 1

todo_test_later if false
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    d = tmp_path / "suite"
    d.mkdir()
    (d / "demo.rego").write_text(POLICY)
    (d / "demo_test.rego").write_text(TESTS)
    (d / "unused.rego").write_text("package unused\n\nimport rego.v1\n\nvalue := 1 if {\n\tinput.never == true\n}\n")
    return d


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = cli.main(["policy", "test", *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _lines(out: str) -> dict[str, str]:
    found = {}
    for line in out.splitlines():
        m = re.match(r"^(data\.\S+): (PASS|FAIL|ERROR|SKIPPED)(?: \((\S+)\))?$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def test_verbose_lists_every_outcome(suite, capsys):
    rc, out, _ = _run(capsys, str(suite), "-v")
    assert rc == 2
    assert _lines(out) == {
        "data.demo_test.test_admin_allowed": "PASS",
        "data.demo_test.test_guest_denied": "PASS",
        "data.demo_test.test_wrong_expectation": "FAIL",
        "data.demo_test.test_not_boolean": "FAIL",  # PASS only on exactly true
        "data.demo_test.test_error": "ERROR",
        "data.demo_test.todo_test_later": "SKIPPED",
    }
    assert re.search(r"^data\.demo_test\.test_admin_allowed: PASS \(\d+(\.\d+)?(ns|µs|ms|s)\)$", out, re.M)
    assert re.search(r"^data\.demo_test\.todo_test_later: SKIPPED$", out, re.M)
    assert f"{suite / 'demo_test.rego'}:" in out or "demo_test.rego:" in out
    assert "\n    checking guest\n" in out  # prints captured, prefix stripped, indented
    assert "-" * 80 + "\nPASS: 2/6\nFAIL: 2/6\nSKIPPED: 1/6\nERROR: 1/6\n" in out
    assert re.search(r"^  \S*demo_test\.rego:18:\d+: could not parse string as number$", out, re.M)
    assert "Stack backtrace" not in out


def test_default_output_lists_only_what_did_not_pass(suite, capsys):
    _, out, _ = _run(capsys, str(suite))
    assert "test_admin_allowed" not in out and "checking guest" not in out
    assert "data.demo_test.test_wrong_expectation: FAIL" in out


def test_run_filters_with_an_unanchored_regex(suite, capsys):
    rc, out, _ = _run(capsys, str(suite), "--run", "demo_test.test_(admin|guest)", "-v")
    assert rc == 0
    assert set(_lines(out)) == {"data.demo_test.test_admin_allowed", "data.demo_test.test_guest_denied"}
    assert out.rstrip().endswith("PASS: 2/2")


def test_skipped_alone_exits_2(suite, capsys):
    rc, out, _ = _run(capsys, str(suite), "--run", "todo_")
    assert rc == 2 and "SKIPPED: 1/1" in out


def test_no_tests_exits_1(suite, capsys):
    rc, _, err = _run(capsys, str(suite), "--run", "nothing_matches_this")
    assert rc == 1 and "no tests found" in err


def test_syntax_error_exits_1_and_names_file_line(suite, capsys):
    (suite / "broken.rego").write_text("package broken\n\nimport rego.v1\n\nx := {\n")
    rc, out, err = _run(capsys, str(suite))
    assert rc == 1 and out == ""
    first = err.splitlines()[0]
    assert re.match(r"^offhost-audit policy test: \S*broken\.rego:6:\d+: ", first), first
    assert "Stack backtrace" not in err


def test_overlapping_paths_load_each_file_once(suite, capsys):
    rc, out, _ = _run(capsys, str(suite), str(suite / "demo_test.rego"), "--run", "admin", "-v")
    assert rc == 0 and out.rstrip().endswith("PASS: 1/1")


def test_missing_path_exits_1(tmp_path, capsys):
    rc, _, err = _run(capsys, str(tmp_path / "nope"))
    assert rc == 1 and "no such file or directory" in err


def test_coverage_report_in_opa_shape(suite, capsys):
    rc, out, _ = _run(capsys, str(suite), "--coverage", "--run", "test_admin")
    assert rc == 0
    report = json.loads(out)
    names = {Path(k).name: v for k, v in report["files"].items()}
    assert set(names) == {"demo.rego", "unused.rego"}  # no _test.rego
    demo, unused = names["demo.rego"], names["unused.rego"]
    # regorus evaluates the whole referenced package (allow, deny, the body of role); the head of
    # role (line 9) never succeeded
    assert demo["covered"] == [
        {"start": {"row": 5}, "end": {"row": 5}},
        {"start": {"row": 7}, "end": {"row": 7}},
        {"start": {"row": 10}, "end": {"row": 10}},
    ]
    assert demo["not_covered"] == [{"start": {"row": 9}, "end": {"row": 9}}]
    assert (demo["covered_lines"], demo["not_covered_lines"], demo["coverage"]) == (3, 1, 75.0)
    # a file no test touched counts as not covered (regorus leaves it out; OPA does not)
    assert unused["not_covered"] == [{"start": {"row": 5}, "end": {"row": 6}}]
    assert "covered" not in unused and unused["not_covered_lines"] == 2
    assert (report["covered_lines"], report["not_covered_lines"], report["coverage"]) == (3, 3, 50.0)


def test_coverage_threshold(suite, capsys):
    rc, _, err = _run(capsys, str(suite), "--coverage", "--run", "test_admin", "--threshold", "50")
    assert rc == 0
    rc, _, err = _run(capsys, str(suite), "--coverage", "--run", "test_admin", "--threshold", "90")
    assert rc == 2 and "Code coverage threshold not met: got 50.00 instead of 90.00" in err


def test_tests_in_any_package_and_file_are_found(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.rego").write_text("package a.b\n\nimport rego.v1\n\ntest_inline if true\n\nhelper(x) := x\n")
    (tmp_path / "c.rego").write_text('package c\n\nimport rego.v1\n\ntest_cases[name] if some name in {"one", "two"}\n')
    rc, out, _ = _run(capsys, str(tmp_path), "-v")
    assert rc == 0
    assert _lines(out) == {"data.a.b.test_inline": "PASS", "data.c.test_cases": "PASS"}


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (350, "350ns"),
        (1417, "1.417µs"),
        (1_200_000, "1.2ms"),
        (5_123_456, "5.123456ms"),
        (2_500_000_000, "2.5s"),
        (62_500_000_000, "1m2.5s"),
    ],
)
def test_go_durations(ns, text):
    assert go_duration(ns) == text


def test_shipped_policies_pass_with_90_percent_coverage(capsys):
    """The shipped policy tests (needs the catalog rules and their tests to be in place)."""
    rc, out, err = _run(capsys, "--coverage", "--threshold", "90")
    assert rc == 0, err[-3000:]
    assert json.loads(out)["coverage"] >= 90
