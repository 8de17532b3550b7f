"""`offhost-audit evaluate` and the audit service, on the real regorus engine with a small policy set."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from offhost_audit import audit, cli
from offhost_audit.errors import InputError, PolicyError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "facts" / "csv-cluster-healthy.json"
FINDINGS_SCHEMA = json.loads((ROOT / "schema" / "findings.schema.json").read_text(encoding="utf-8"))


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _old_proxy(facts: dict) -> dict:
    doc = copy.deepcopy(facts)
    doc["hosts"][0]["os"]["build"] = 9600
    return doc


def test_findings_carry_metadata_and_profile_severity(mini_policies, example_facts):
    found = audit.evaluate_facts(_old_proxy(example_facts), policies=mini_policies)
    assert [(f["rule_id"], f["status"], f["subject"]["name"]) for f in found] == [("OHP-001", "fail", "PROXY01")]
    f = found[0]
    assert f["title"] == "Demo - proxy OS build"
    assert f["remediation"] == "Upgrade the proxy's operating system."
    assert f["doc_url"] == "https://example.invalid/demo-doc"
    assert f["severity"] == "high"  # from the profile data, not the METADATA block
    assert f["evidence"] == [{"path": "hosts[PROXY01].os.build", "value": 9600}]
    jsonschema.validate(found, FINDINGS_SCHEMA)


def test_unknown_finding_shows_the_collection_error(mini_policies, example_facts):
    doc = copy.deepcopy(example_facts)
    doc["hosts"][0]["os"] = None
    doc["collection"][0] = {
        "target": "proxy01.corp.example",
        "collector": "winrm.system",
        "status": "error",
        "error": "WinRM: 401 Unauthorized",
        "duration_ms": 12.0,
    }
    [f] = audit.evaluate_facts(doc, policies=mini_policies)
    assert f["status"] == "unknown"
    assert f["missing"] == ["hosts[PROXY01].os.build"]
    assert {"path": "collection[proxy01.corp.example/winrm.system]", "value": "WinRM: 401 Unauthorized"} in f[
        "evidence"
    ]


def test_unknown_profile_lists_the_valid_ones(mini_policies, example_facts):
    with pytest.raises(InputError, match="unknown profile 'veeam-1999'.*veeam-2025-08, veeam-2026-02"):
        audit.evaluate_facts(example_facts, profile="veeam-1999", policies=mini_policies)
    doc = copy.deepcopy(example_facts)
    doc["vbr"]["profile"] = "made-up"
    with pytest.raises(InputError, match=r"\$\.vbr\.profile: unknown profile 'made-up'"):
        audit.evaluate_facts(doc, policies=mini_policies)


def test_policy_syntax_error_names_file_line_col(mini_policies, example_facts):
    bad = mini_policies / "general" / "broken" / "broken.rego"
    bad.parent.mkdir()
    bad.write_text("package offhost.general.broken\n\nimport rego.v1\n\nfindings contains x if {\n  x := [1\n}\n")
    with pytest.raises(PolicyError) as e:
        audit.evaluate_facts(example_facts, policies=mini_policies)
    msg = str(e.value)
    assert msg.splitlines()[0].startswith(f"{bad}:6:") or ":6:" in msg.splitlines()[0]
    assert "broken.rego" in msg.splitlines()[0]
    assert "Stack backtrace" not in msg


def test_policy_evaluation_error_is_a_policy_error(mini_policies, add_rule, example_facts):
    add_rule(
        mini_policies,
        "general",
        "boom",
        'package offhost.general.boom\n\nimport rego.v1\n\nfindings contains x if {\n\tx := to_number("seven")\n}\n',
    )
    with pytest.raises(PolicyError, match=r"boom\.rego:6:\d+: could not parse string as number") as e:
        audit.evaluate_facts(example_facts, policies=mini_policies)
    assert "Stack backtrace" not in str(e.value)


# --- the CLI -------------------------------------------------------------------------------------


def test_cli_json_matches_the_findings_schema(mini_policies, use_policies, tmp_path, capsys):
    use_policies(mini_policies)
    rc = cli.main(["evaluate", "--facts", str(EXAMPLE), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    jsonschema.validate(out, FINDINGS_SCHEMA)
    assert rc == 0 and [f["status"] for f in out] == ["pass"]


def test_cli_fail_on_decides_the_exit_code(mini_policies, use_policies, tmp_path, example_facts, capsys):
    use_policies(mini_policies)
    facts = _write(tmp_path / "old.json", _old_proxy(example_facts))
    assert cli.main(["evaluate", "--facts", str(facts), "--fail-on", "high"]) == 1
    assert "1 fail 1 failure(s) at or above high: the run is not green." in _words(capsys.readouterr().out)
    assert cli.main(["evaluate", "--facts", str(facts), "--fail-on", "critical"]) == 0
    assert "1 fail No failure or unknown at or above critical: the run is green." in _words(capsys.readouterr().out)


def _words(text: str) -> str:
    """The text with its line breaks (the terminal's wrapping) as single spaces."""
    return " ".join(text.split())


def test_cli_table_escapes_markup_and_shows_warnings(mini_policies, use_policies, tmp_path, example_facts, capsys):
    use_policies(mini_policies)
    doc = _old_proxy(example_facts)
    doc["hosts"][0]["name"] = "[bold red]EVIL[/]"
    doc["warnings"] = ["TLS certificate validation was turned off (--insecure)"]
    rc = cli.main(["evaluate", "--facts", str(_write(tmp_path / "f.json", doc)), "--fail-on", "high"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "[BOLD RED]EVIL[/]" in out  # printed as written (the rules upper-case names), not as markup
    assert "TLS certificate validation was turned off (--insecure)" in out
    assert "1 finding(s): 1 fail 1 failure(s) at or above high: the run is not green." in _words(out)


def test_cli_output_file_is_written(mini_policies, use_policies, tmp_path, capsys):
    use_policies(mini_policies)
    target = tmp_path / "out" / "findings.json"
    assert cli.main(["evaluate", "--facts", str(EXAMPLE), "--format", "json", "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert json.loads(target.read_text())[0]["rule_id"] == "OHP-001"
    table = tmp_path / "table.txt"
    assert cli.main(["evaluate", "--facts", str(EXAMPLE), "-o", str(table)]) == 0
    assert "PROXY01" in table.read_text() and "1 finding(s): 1 pass" in table.read_text()


def test_cli_unknown_profile_exits_2(mini_policies, use_policies, capsys):
    use_policies(mini_policies)
    assert cli.main(["evaluate", "--facts", str(EXAMPLE), "--profile", "nope"]) == 2
    assert "valid profiles: veeam-2025-08, veeam-2026-02" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "the file is empty"),
        ("   \n", "the file is empty"),
        ("{not json", "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
        ("[1, 2]", "expected a JSON object at the top level, got list"),
        ('{"schema_version": 7, "hosts": []}', "$.schema_version: this offhost-audit reads facts schema version 1"),
        (
            '{"schema_version": 1, "hosts": [{"name": "P1", "roles": ["proxy"], "os": {"build": "20348"}}]}',
            "$.hosts[0].os.build: '20348' is not of type 'integer', 'null'",
        ),
        ('{"schema_version": 1}', "$: 'hosts' is a required property"),
    ],
)
def test_cli_bad_facts_file_exits_2_with_one_clear_message(tmp_path, capsys, content, expected):
    path = tmp_path / "facts.json"
    path.write_text(content, encoding="utf-8")
    assert cli.main(["evaluate", "--facts", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"offhost-audit: invalid facts file: {path}")
    assert expected in err
    assert "Traceback" not in err


def test_cli_missing_facts_file_exits_2(tmp_path, capsys):
    assert cli.main(["evaluate", "--facts", str(tmp_path / "nope.json")]) == 2
    assert "nope.json: no such file" in capsys.readouterr().err


def test_cli_schema_violation_in_a_subprocess_has_no_traceback(tmp_path):
    path = _write(tmp_path / "bad.json", {"schema_version": 1, "hosts": [{"name": "", "roles": ["router"]}]})
    proc = subprocess.run(
        [sys.executable, "-m", "offhost_audit", "evaluate", "--facts", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "$.hosts[0].name: '' should be non-empty" in proc.stderr
    assert "$.hosts[0].roles[0]: 'router' is not one of" in proc.stderr


# --- evaluate_file: what the CLI runs --------------------------------------------------------------


def test_evaluate_file_gives_what_evaluate_facts_gives(mini_policies, tmp_path, example_facts):
    doc = _old_proxy(example_facts)
    doc["warnings"] = ["TLS off"]
    doc["hosts"][0]["os"]["build"] = None
    doc["collection"][0].update(status="error", error="WinRM: 401")
    path = _write(tmp_path / "f.json", doc)
    expected = audit.evaluate_facts(doc, policies=mini_policies)
    assert expected[0]["status"] == "unknown" and len(expected[0]["evidence"]) == 2
    assert audit.evaluate_file(path, policies=mini_policies) == (expected, ["TLS off"])


def test_evaluate_file_rejects_bad_facts_before_the_engine_runs(mini_policies, tmp_path):
    boom = mini_policies / "general" / "boom" / "boom.rego"
    boom.parent.mkdir()
    boom.write_text(
        "package offhost.general.boom\n\nimport rego.v1\n\nfindings contains x if {\n\tx := to_number(input.hosts[0].os.build)\n}\n"
    )
    doc = json.loads(EXAMPLE.read_text())
    doc["hosts"][0]["os"]["build"] = "twenty"
    path = _write(tmp_path / "f.json", doc)
    with pytest.raises(InputError, match=r"\$\.hosts\[0\]\.os\.build: 'twenty' is not of type 'integer', 'null'"):
        audit.evaluate_file(path, policies=mini_policies)


def test_evaluate_file_profile_from_facts_and_unknown_profile(mini_policies, tmp_path, example_facts):
    doc = copy.deepcopy(example_facts)
    doc["vbr"]["profile"] = "veeam-2026-02"
    path = _write(tmp_path / "f.json", doc)
    assert audit.evaluate_file(path, policies=mini_policies)[0][0]["status"] == "pass"
    doc["vbr"]["profile"] = "veeam-1999"
    with pytest.raises(InputError, match=r"\$\.vbr\.profile: unknown profile 'veeam-1999'"):
        audit.evaluate_file(_write(tmp_path / "g.json", doc), policies=mini_policies)


def test_broken_metadata_yaml_is_a_policy_error_naming_the_file(mini_policies, example_facts):
    rule = mini_policies / "general" / "demo" / "demo.rego"
    rule.write_text(rule.read_text().replace("# title: Demo - proxy OS build", "# title: [unclosed"))
    with pytest.raises(PolicyError, match=r"demo\.rego:\d+: METADATA block is not valid YAML"):
        audit.evaluate_facts(example_facts, policies=mini_policies)


def test_the_table_lists_only_what_needs_attention():
    from offhost_audit.reports import console

    subject = {"kind": "proxy", "name": "P", "proxy": "P"}
    many = [
        {"rule_id": "OHP-001", "status": "pass", "severity": "high", "subject": subject, "message": f"ok {i}"}
        for i in range(2000)
    ]
    many.append(
        {"rule_id": "OHP-004", "status": "fail", "severity": "high", "subject": subject, "message": "no [b]Hyper-V[/b]"}
    )
    text = console.table_text(many, fail_on="high")
    assert "no [b]Hyper-V[/b]" in text and "ok 1" not in text
    assert "2,000 passed and 0 not applicable: counted, not listed" in text
    assert "2,001 finding(s): 1 fail, 2,000 pass\n1 failure(s) at or above high: the run is not green." in text
    assert "P  not ready: OHP-004" in text  # the proxy's verdict


def test_engines_are_per_thread_so_worker_threads_can_evaluate(mini_policies, example_facts):
    """regorus engines panic when used from another thread; each thread compiles its own."""
    from concurrent.futures import ThreadPoolExecutor

    expected = audit.evaluate_facts(example_facts, policies=mini_policies)
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: audit.evaluate_facts(example_facts, policies=mini_policies), range(6)))
    assert all(r == expected for r in results)


def test_an_edited_policy_is_recompiled(mini_policies, example_facts):
    assert audit.evaluate_facts(example_facts, policies=mini_policies)[0]["status"] == "pass"
    rule = mini_policies / "general" / "demo" / "demo.rego"
    rule.write_text(rule.read_text().replace("< 14393", "< 99999").replace(">= 14393", ">= 99999") + "\n")
    assert audit.evaluate_facts(example_facts, policies=mini_policies)[0]["status"] == "fail"


def test_table_says_how_to_fix_each_failing_rule_once():
    from offhost_audit.reports import console

    problems = Path(__file__).resolve().parents[2] / "examples" / "facts" / "csv-cluster-problems.json"
    found, warnings = audit.evaluate_file(problems)
    text = console.table_text(found, warnings=warnings, fail_on="high")
    fixes = text.split("How to fix", 1)[1]
    failing = {f["rule_id"] for f in found if f["status"] == "fail"}
    assert failing == {"OHP-010", "OHP-011", "OHP-012", "OHP-013"}
    for rule_id in failing:
        assert fixes.count(f"{rule_id} ") == 1
    assert "Do not evict" in fixes  # OHP-010's remediation, from its METADATA
    assert "see https://helpcenter.veeam.com/" in fixes
