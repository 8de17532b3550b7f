"""The core documents: facts loading/validation, atomic writes, fragment merging, findings order."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from offhost_audit import facts as facts_mod
from offhost_audit.collectors.base import merge, with_meta
from offhost_audit.errors import FactsError
from offhost_audit.findings import at_or_above, breaches, sorted_findings
from offhost_audit.inventory.targets import facts_of, meta_of

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "facts" / "csv-cluster-healthy.json"


def _example() -> dict:
    return json.loads(EXAMPLE.read_text())


def test_shipped_example_is_valid():
    doc = facts_mod.load(EXAMPLE)
    assert doc["schema_version"] == 1
    assert {h["name"] for h in doc["hosts"]} == {"PROXY01", "HV01", "HV02"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("   \n", "the file is empty"),
        ("{not json", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"schema_version": 2, "hosts": []}', "schema version 1"),
    ],
)
def test_bad_facts_text_gives_one_clear_message(tmp_path, text, expected):
    f = tmp_path / "facts.json"
    f.write_text(text)
    with pytest.raises(FactsError) as e:
        facts_mod.load(f)
    assert expected in str(e.value)
    assert str(f) in str(e.value)


def test_schema_problems_name_the_json_path():
    doc = _example()
    doc["hosts"][1]["os"]["build"] = "20348"  # a string where an integer belongs
    doc["hosts"][0]["roles"] = ["proxy", "toaster"]
    with pytest.raises(FactsError) as e:
        facts_mod.validate(doc, source="x.json")
    msg = str(e.value)
    assert "$.hosts[1].os.build" in msg
    assert "$.hosts[0].roles[1]" in msg
    assert "2 schema problem(s)" in msg


def test_missing_facts_are_representable():
    """null or absent facts are valid documents (the rules then say unknown)."""
    doc = _example()
    doc["hosts"][0]["os"] = None
    del doc["hosts"][0]["hardware"]
    doc["hosts"][1]["vss_providers"] = None
    doc["vbr"]["managed_servers"] = None
    facts_mod.validate(doc)


def test_missing_file(tmp_path):
    with pytest.raises(FactsError, match="no such file"):
        facts_mod.load(tmp_path / "nope.json")


def test_save_is_atomic_and_keeps_old_file_on_invalid_doc(tmp_path):
    out = tmp_path / "facts.json"
    facts_mod.save(out, _example())
    before = out.read_text()
    bad = _example()
    bad["hosts"] = "nope"
    with pytest.raises(FactsError):
        facts_mod.save(out, bad)
    assert out.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["facts.json"]  # no temp files left behind


def test_merge_joins_fragments_by_key_case_insensitively():
    a = {"hosts": [{"name": "hv01", "roles": ["hyperv_host"], "os": {"build": 20348}}]}
    b = {
        "hosts": [
            {"name": "HV01.corp.example", "roles": ["hyperv_host"], "features": {"hyperv": True}, "os": {"ubr": 5}}
        ]
    }
    c = {
        "shares": [{"unc": "\\\\fs01\\VMS", "server": "FS01", "name": "VMS"}],
        "collection": [{"target": "HV01", "collector": "x", "status": "ok"}],
    }
    d = {
        "shares": [{"unc": "\\\\FS01\\vms", "server": "FS01", "name": "VMS", "dialect": "3.1.1"}],
        "collection": [{"target": "FS01", "collector": "y", "status": "ok"}],
    }
    out = merge([a, b, c, d])
    assert len(out["hosts"]) == 1
    assert out["hosts"][0]["os"] == {"build": 20348, "ubr": 5}
    assert out["hosts"][0]["features"] == {"hyperv": True}
    assert len(out["shares"]) == 1 and out["shares"][0]["dialect"] == "3.1.1"
    assert len(out["collection"]) == 2


def test_merge_does_not_let_null_erase_a_collected_fact():
    a = {"hosts": [{"name": "P", "roles": ["proxy"], "os": {"build": 17763}}]}
    b = {"hosts": [{"name": "P", "roles": ["proxy"], "os": None}]}
    assert merge([a, copy.deepcopy(b)])["hosts"][0]["os"] == {"build": 17763}


def test_findings_order_and_threshold():
    def f(status, sev, rule="OHP-001", name="P"):
        return {"status": status, "severity": sev, "rule_id": rule, "subject": {"name": name}}

    fs = [f("pass", "critical"), f("fail", "low"), f("unknown", "high"), f("fail", "critical", "OHP-010")]
    assert [(x["status"], x["severity"]) for x in sorted_findings(fs)] == [
        ("fail", "critical"),
        ("fail", "low"),
        ("unknown", "high"),
        ("pass", "critical"),
    ]
    assert at_or_above("critical", "high") and not at_or_above("medium", "high")
    assert [x["rule_id"] for x in breaches(fs, "high")] == ["OHP-010"]
    assert len(breaches(fs, "low")) == 2


def test_duplicate_host_names_are_rejected_with_both_paths():
    doc = _example()
    dup = copy.deepcopy(doc["hosts"][1])
    dup["name"] = "hv01.corp.example"
    doc["hosts"].append(dup)
    with pytest.raises(FactsError) as e:
        facts_mod.validate(doc)
    assert "$.hosts[3].name: 'hv01.corp.example' is the same host as $.hosts[1].name" in str(e.value)


def test_whole_sections_may_be_null():
    doc = _example()
    for key in (
        "vbr",
        "assignments",
        "clusters",
        "vms",
        "shares",
        "domains",
        "computer_accounts",
        "collection",
        "warnings",
    ):
        doc[key] = None
    facts_mod.validate(doc)


def test_fragment_meta_goes_in_and_out_through_the_typed_helpers():
    frag = with_meta({"shares": []}, errors=["FS1: VMS not readable"], notes=[])
    assert frag == {"shares": [], "_errors": ["FS1: VMS not readable"]}  # empty keys are left out
    assert meta_of(frag) == {"_errors": ["FS1: VMS not readable"]} and facts_of(frag) == {"shares": []}
    assert meta_of({"hosts": [], "_notes": []}) == {}


def test_a_one_shot_command_freezes_what_it_parsed_and_gives_it_back(monkeypatch, capsys):
    """evaluate runs in perf.one_shot(): a parsed document is frozen (the collector never walks it)
    while the command runs, and handed back to the collector when it ends (nothing kept)."""
    import gc

    from offhost_audit import cli, perf

    seen: list[int] = []
    real = perf.json_loads

    def loads_and_look(text):
        out = real(text)
        seen.append(gc.get_freeze_count())  # inside the paused section: nothing frozen yet
        return out

    monkeypatch.setattr("offhost_audit.facts.json_loads", loads_and_look)
    frozen_during: list[int] = []
    real_record = cli.cli_reports.record

    def record(*a, **k):
        frozen_during.append(gc.get_freeze_count())
        return real_record(*a, **k)

    monkeypatch.setattr(cli.cli_reports, "record", record)
    assert cli.main(["evaluate", "-f", str(EXAMPLE), "--no-history", "--format", "json"]) == 0
    capsys.readouterr()
    assert seen and frozen_during[0] > seen[0]  # the facts' containers were frozen after the parse
    assert gc.get_freeze_count() == 0  # and given back at the end of the command
    with perf.paused_gc():
        [{} for _ in range(100)]
    assert gc.get_freeze_count() == 0  # outside a one-shot command nothing is frozen (the TUI, the tests)


@pytest.mark.parametrize(
    ("loader", "error", "kind"),
    [
        ("offhost_audit.facts:read_text", FactsError, "a facts JSON file"),
        ("offhost_audit.inventory:load", "InventoryError", "an inventory YAML file"),
        ("offhost_audit.store.waivers:load", "InputError", "a waivers YAML file"),
        ("offhost_audit.lab.scenario:load", "InputError", "a lab scenario YAML file"),
    ],
)
def test_every_input_file_that_cannot_be_read_is_one_line_naming_it(tmp_path, loader, error, kind):
    """One reader (offhost_audit.inputs) for every user input file: the same three messages."""
    import importlib

    from offhost_audit import errors

    mod, name = loader.split(":")
    load = getattr(importlib.import_module(mod), name)
    error = getattr(errors, error) if isinstance(error, str) else error
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"name: \xff\xfe\x00 not text")
    cases = {
        tmp_path / "missing.yaml": f"missing.yaml: no such file (expected {kind})",
        tmp_path: f"{tmp_path}: is a directory, expected {kind}",
        binary: f"binary.yaml: cannot read {kind}: not UTF-8 text (invalid start byte at byte 6)",
    }
    if "scenario" in mod:
        del cases[tmp_path / "missing.yaml"], cases[tmp_path]  # a missing scenario is "no scenario" (the shipped names)
    for path, message in cases.items():
        with pytest.raises(error) as caught:
            load(path)
        assert message in str(caught.value) and "\n" not in str(caught.value)
        assert caught.value.exit_code == 2
