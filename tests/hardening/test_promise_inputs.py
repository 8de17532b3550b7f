"""Promises: hostile or mistaken input files give every error, one line each, naming file:line:field,
never a traceback, never a credential's value, never unbounded memory."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from promise_kit import EXAMPLE_FACTS, run_cli

from offhost_audit import collect, inventory
from offhost_audit.collectors import winrm
from offhost_audit.errors import InputError, InventoryError
from offhost_audit.inventory.credentials import Resolver
from offhost_audit.lab import scenario as scenarios
from offhost_audit.lab.responder import inventory_doc, lab_env, lab_hosts
from offhost_audit.lab.wsman import LabServer

ROOT = Path(__file__).resolve().parents[2]


def _laughs(prefix: str = "", indent: str = "") -> str:
    lines = [f"{indent}a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{indent}{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return prefix + "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", ["top level", "inside clusters[].nodes"])
def test_a_billion_laughs_inventory_is_refused_without_expanding_it(where):
    text = (
        _laughs()
        if where == "top level"
        else ("clusters:\n  - name: C1\n    nodes:\n      - name: HV1\n        x:\n" + _laughs(indent="          "))
    )
    with pytest.raises(InventoryError, match=r"^inv.yaml: the document expands to more than 500,000 values"):
        inventory.loads(text, source="inv.yaml")


def test_deep_nesting_is_refused_with_a_line_not_a_recursion_error():
    with pytest.raises(InventoryError, match=r"^inv.yaml:1: nested more than 50 levels deep"):
        inventory.loads("proxies: " + "[" * 10_000 + "]" * 10_000, source="inv.yaml")


def test_deeply_nested_facts_json_is_one_clear_error(tmp_path):
    f = tmp_path / "deep.json"
    f.write_text("[" * 10_000 + "]" * 10_000)
    r = run_cli("evaluate", "-f", str(f))
    assert (
        r.returncode == 2
        and r.stderr.strip() == f"offhost-audit: invalid facts file: {f}: not valid JSON: nested too deeply"
    )


def test_every_inventory_error_is_reported_with_file_line_and_field():
    text = (
        "proxies:\n"
        "  - name: P1\n"
        "    max_tasks: many\n"
        "    winrm: {port: 0, auth: digest}\n"
        "  - name: P2\n"
        "    serves: [{cluster: NOPE}]\n"
    )
    with pytest.raises(InventoryError) as e:
        inventory.loads(text, source="inv.yaml")
    assert str(e.value).splitlines() == [
        "inv.yaml:3: proxies[0].max_tasks: expected a non-negative integer, got 'many'",
        "inv.yaml:4: proxies[0].winrm.port: expected an integer 1-65535, got 0",
        "inv.yaml:4: proxies[0].winrm.auth: expected one of ntlm, kerberos, credssp, basic, got 'digest'",
        "inv.yaml:6: proxies[1].serves: cluster NOPE is not in clusters:",
    ]


def test_an_error_in_an_assignment_names_its_own_proxy_and_line():
    text = (
        "clusters: [{name: C1, nodes: [{name: HV1}]}]\n"
        "proxies:\n"
        "  - name: P0\n"  # serves everything: no assignment of its own
        "  - name: P1\n"
        "    serves: [{host: NOPE}]\n"
    )
    with pytest.raises(InventoryError, match=r"^inv.yaml:5: proxies\[1\].serves: host NOPE is not in the inventory$"):
        inventory.loads(text, source="inv.yaml")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "hyperv_hosts: [{name: HV1, address: 10.0.0.1}, {name: hv1, address: 10.0.0.2}]\n",
            "inv.yaml:1: hyperv_hosts[1].address: HV1 is listed again with address '10.0.0.2'",
        ),
        (
            "clusters:\n  - {name: C1, nodes: [{name: HV1}]}\n  - {name: C2, nodes: [{name: HV1}]}\n",
            "inv.yaml:3: clusters[1].nodes[0]: HV1 is already a node of cluster C1",
        ),
        (
            "proxies: [{name: P1, max_tasks: 4}, {name: P1, max_tasks: 8}]\n",
            "inv.yaml:1: proxies[1]: proxy P1 is listed twice with different max_tasks or serves",
        ),
    ],
)
def test_a_host_listed_twice_with_conflicting_settings_is_rejected(text, words):
    with pytest.raises(InventoryError) as e:
        inventory.loads(text, source="inv.yaml")
    assert str(e.value).startswith(words)


def test_the_same_host_twice_without_conflict_is_one_host():
    inv = inventory.loads("proxies: [{name: P1, max_tasks: 4}, {name: P1, max_tasks: 4}]\n")
    assert [h.name for h in inv.hosts] == ["P1"] and len(inv.assignments) == 1


def test_a_password_pasted_as_a_variable_name_is_never_echoed(tmp_path):
    f = tmp_path / "inv.yaml"
    f.write_text('proxies:\n  - name: P1\n    credentials: {password_env: "Hunter2-Secret"}\n')
    r = run_cli("collect", "-i", str(f), "-o", str(tmp_path / "facts.json"))
    assert r.returncode == 2 and "Hunter2" not in r.stderr + r.stdout
    assert f"{f}:3: proxies[0].credentials.password_env: does not look like an environment variable name" in r.stderr


def test_a_yaml_error_never_quotes_the_line():
    with pytest.raises(InventoryError) as e:
        inventory.loads('proxies:\n  - name: P1\n    credentials: {password_env: "Hunter2 @\t\n', source="inv.yaml")
    assert "Hunter2" not in str(e.value) and str(e.value).startswith("inv.yaml:")


def test_an_empty_profile_is_a_usage_error():
    r = run_cli("evaluate", "-f", str(EXAMPLE_FACTS), "--profile", "")
    assert r.returncode == 2 and "argument --profile: expected a name" in r.stderr


def test_a_folder_named_like_a_shipped_scenario_does_not_hide_it(tmp_path, monkeypatch):
    (tmp_path / "csv-healthy").mkdir()
    monkeypatch.chdir(tmp_path)
    assert scenarios.load("csv-healthy")["name"] == "csv-healthy"
    with pytest.raises(InputError, match="no scenario 'nope'"):
        scenarios.load("nope")


def test_script_output_past_the_cap_is_that_collectors_error(monkeypatch):
    monkeypatch.setattr(winrm, "MAX_OUTPUT_BYTES", 256 * 1024)
    sc = scenarios.load("csv-healthy")
    proxy = next(h for h in sc["hosts"] if "proxy" in h["roles"])
    proxy["faults"] = {"huge_output_bytes": 1024 * 1024}
    with LabServer(lab_hosts(sc)) as lab:
        inv = inventory.loads(yaml.safe_dump(inventory_doc(sc, lab)), source="lab.yaml")
        doc = collect.collect_facts(inv, call_timeout=20, resolver=Resolver(env=lab_env(sc), interactive=False))
    mine = [e for e in doc["collection"] if e["target"] == proxy["name"] and e["collector"] == "winrm.system"]
    assert mine[0]["status"] == "error" and "printed more than 262,144 bytes" in mine[0]["error"]
    others = [e for e in doc["collection"] if e["target"] != proxy["name"]]
    assert all(e["status"] == "ok" for e in others if e["collector"] == "winrm.system")


def test_deeply_nested_script_output_is_that_collectors_error_not_a_recursion_error():
    from offhost_audit.collectors import psjson
    from offhost_audit.errors import CollectorError

    with pytest.raises(CollectorError, match=r"^HV1: system.ps1 output is not valid JSON \(nested too deeply\)$"):
        psjson.loads("[" * 100_000, what="HV1: system.ps1 output")
