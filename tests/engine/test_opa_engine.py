"""`--engine opa`: OPA's Go engine in process (opa-golib-python-bindings) behind the engine interface."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from test_testrunner import POLICY, TESTS

from offhost_audit import audit, cli
from offhost_audit.engine import opa
from offhost_audit.errors import InputError, PolicyError

pytest.importorskip("opa_bindings", reason="make venv / make test install opa-golib-python-bindings")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "facts" / "csv-cluster-problems.json"


def _key(f: dict) -> str:
    return json.dumps(f, sort_keys=True)


def test_opa_engine_gives_the_embedded_findings_with_metadata(mini_policies, example_facts):
    for profile in ("veeam-2025-08", "veeam-2026-02"):
        local = audit.evaluate_facts(example_facts, policies=mini_policies, profile=profile)
        ref = audit.evaluate_facts(example_facts, policies=mini_policies, profile=profile, engine="opa")
        assert local and list(map(_key, ref)) == list(map(_key, local))
        assert all(f["title"] and f["remediation"] for f in ref)


def test_opa_engine_profile_handling_is_the_shared_one(mini_policies, example_facts):
    with pytest.raises(InputError, match="unknown profile 'nope'.*valid profiles"):
        audit.evaluate_facts(example_facts, policies=mini_policies, profile="nope", engine="opa")
    assert opa.compiled(mini_policies).default_profile == "veeam-2025-08"


def test_opa_syntax_error_is_file_line_col(mini_policies, example_facts):
    bad = mini_policies / "general" / "broken" / "broken.rego"
    bad.parent.mkdir()
    bad.write_text("package offhost.general.broken\n\nimport rego.v1\n\nfindings contains x if {\n  x := [1\n}\n")
    with pytest.raises(PolicyError) as e:
        audit.evaluate_facts(example_facts, policies=mini_policies, engine="opa")
    first = str(e.value).splitlines()[0]
    assert re.match(r"^\S*broken\.rego:7:1: rego_parse_error: ", first), first


def test_opa_compile_error_is_file_line_col(mini_policies, add_rule, example_facts):
    """OPA rejects an unused declared variable (regorus accepts it)."""
    add_rule(
        mini_policies,
        "general",
        "unused",
        "package offhost.general.unused\n\nimport rego.v1\n\nfindings contains 1 if {\n"
        '\tevery name, h in input.hosts {\n\t\th.name != ""\n\t}\n}\n',
    )
    with pytest.raises(PolicyError, match=r"unused\.rego:7:3: rego_compile_error: declared var name unused"):
        audit.evaluate_facts(example_facts, policies=mini_policies, engine="opa")


def test_opa_evaluation_error_exits_2_naming_file_line_col(mini_policies, add_rule, use_policies, capsys):
    add_rule(
        mini_policies,
        "general",
        "boom",
        'package offhost.general.boom\n\nimport rego.v1\n\nfindings contains x if {\n\tx := to_number("seven")\n}\n',
    )
    use_policies(mini_policies)
    assert cli.main(["evaluate", "--facts", str(EXAMPLE), "--engine", "opa"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"policy error: \S*boom\.rego:6:2: eval_builtin_error: to_number", err), err


def test_without_the_package_engine_opa_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "opa_bindings", None)  # import fails as if not installed
    assert cli.main(["evaluate", "--facts", str(EXAMPLE), "--engine", "opa"]) == 2
    err = capsys.readouterr().err
    assert "OPA engine not installed" in err and "--ignore-requires-python opa-golib-python-bindings==0.4.4" in err
    assert cli.main(["policy", "test", "--engine", "opa"]) == 2
    assert "offhost-audit[opa]" in capsys.readouterr().err
    assert cli.main(["evaluate", "--facts", str(EXAMPLE), "--format", "json"]) in (0, 1)  # embedded: unaffected
    capsys.readouterr()


# --- policy test --engine opa ------------------------------------------------------------------

OTHER_TESTS = (
    'package other_test\n\nimport rego.v1\n\ntest_fine if true\n\ntest_cases[name] if some name in {"one", "two"}\n'
)


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    d = tmp_path / "suite"
    d.mkdir()
    (d / "demo.rego").write_text(POLICY)  # the embedded runner's suite (test_testrunner.py)
    (d / "demo_test.rego").write_text(TESTS)
    (d / "other_test.rego").write_text(OTHER_TESTS)
    return d


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = cli.main(["policy", "test", "--engine", "opa", *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_policy_test_on_opa_has_the_opa_test_outcomes(suite, capsys):
    rc, out, _ = _run(capsys, str(suite), "-v")
    assert rc == 2
    found = dict(re.findall(r"^(data\.\S+): (PASS|FAIL|ERROR|SKIPPED)", out, re.M))
    assert found == {
        "data.demo_test.test_admin_allowed": "PASS",
        "data.demo_test.test_guest_denied": "PASS",
        "data.demo_test.test_wrong_expectation": "FAIL",
        "data.demo_test.test_not_boolean": "FAIL",
        "data.demo_test.test_error": "ERROR",
        "data.demo_test.todo_test_later": "SKIPPED",
        "data.other_test.test_fine": "PASS",
        "data.other_test.test_cases": "PASS",
    }
    assert "\n    checking guest\n" in out  # the print, from OPA, under its own test
    assert re.search(r"^  \S*demo_test\.rego:18:\d+: eval_builtin_error: to_number", out, re.M)
    assert "-" * 80 + "\nPASS: 4/8\nFAIL: 2/8\nSKIPPED: 1/8\nERROR: 1/8\n" in out
    rc, out, _ = _run(capsys, str(suite), "--run", "other_test", "-v")
    assert rc == 0 and out.rstrip().endswith("PASS: 2/2")


def test_policy_test_on_opa_rejects_what_opa_rejects(suite, capsys):
    (suite / "unused.rego").write_text(
        "package unused\n\nimport rego.v1\n\nx if {\n\tevery k, v in input.a {\n\t\tv\n\t}\n}\n"
    )
    assert cli.main(["policy", "test", str(suite), "--run", "other_test"]) == 0  # regorus accepts it
    capsys.readouterr()
    rc, out, err = _run(capsys, str(suite))
    assert rc == 1 and out == ""
    assert re.match(
        r"^offhost-audit policy test: \S*unused\.rego:7:\d+: rego_compile_error: declared var k unused", err
    ), err


def test_policy_test_coverage_from_opa(suite, capsys):
    rc, out, _ = _run(capsys, str(suite), "--coverage", "--run", "test_admin")
    assert rc == 0
    report = json.loads(out)
    demo = {Path(k).name: v for k, v in report["files"].items()}["demo.rego"]
    assert set(report["files"]) == {str(Path(k)) for k in report["files"] if not k.endswith("_test.rego")}
    assert {"start": {"row": 5}, "end": {"row": 5}} in demo["covered"]  # allow evaluated
    # OPA evaluates only the rule the test references (regorus evaluates the whole package)
    assert demo["not_covered"] == [{"start": {"row": 7}, "end": {"row": 7}}, {"start": {"row": 9}, "end": {"row": 10}}]
    assert report["coverage"] == round(
        100 * report["covered_lines"] / (report["covered_lines"] + report["not_covered_lines"]), 2
    )


def test_shipped_policy_tests_pass_on_opa_with_90_percent_coverage(capsys):
    rc, out, err = _run(capsys, "--coverage", "--threshold", "90")
    assert rc == 0, err[-3000:]
    assert json.loads(out)["coverage"] >= 90
