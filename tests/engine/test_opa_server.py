"""`--opa-url`: evaluation on an OPA server through opa-python-client.

No OPA binary can be installed on this machine, so these tests run against ``fake_opa.FakeOpa``,
a STAND-IN for the REST layer only (policies, data, query, health): it evaluates with OPA's own
Go engine (opa-golib-python-bindings).
They check what our side does (uploads, options, query, error mapping) against OPA's semantics.
"""

from __future__ import annotations

import copy
import json
import socket
from pathlib import Path

import pytest

pytest.importorskip("opa_bindings", reason="make venv / make test install opa-golib-python-bindings")
from fake_opa import FakeOpa

from offhost_audit import audit, cli
from offhost_audit.errors import EngineUnavailableError, PolicyError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "facts" / "csv-cluster-healthy.json"


def _key(f: dict) -> str:
    return json.dumps(f, sort_keys=True)


@pytest.fixture
def opa():
    with FakeOpa() as server:
        yield server


def test_stand_in_opa_gives_the_same_findings_as_the_embedded_engine(opa, mini_policies, example_facts):
    for doc in (example_facts, _old_proxy(example_facts)):
        local = audit.evaluate_facts(doc, policies=mini_policies)
        remote = audit.evaluate_facts(doc, policies=mini_policies, opa_url=opa.url)
        assert local and sorted(map(_key, remote)) == sorted(map(_key, local))
    # every non-test policy uploaded under its relative path; the options as data
    assert set(opa.policies) == {
        "data/profiles.rego",
        "general/demo/demo.rego",
        "lib/csvs.rego",
        "lib/facts.rego",
        "lib/profile.rego",
        "lib/result.rego",
        "main/main.rego",
    }
    assert opa.data == {"offhost": {"options": {"profile": "veeam-2025-08"}}}
    assert ("POST", "/v1/data/offhost/main/findings") in opa.requests


def test_stand_in_opa_receives_the_profile(opa, mini_policies, example_facts):
    audit.evaluate_facts(example_facts, policies=mini_policies, opa_url=opa.url, profile="veeam-2026-02")
    assert opa.data["offhost"]["options"]["profile"] == "veeam-2026-02"


def test_shipped_policies_same_findings_on_both_engines(opa, example_facts):
    """The example facts through the shipped policies (needs the catalog rules to be in place)."""
    local = audit.evaluate_facts(example_facts)
    remote = audit.evaluate_facts(example_facts, opa_url=opa.url)
    assert local and sorted(map(_key, remote)) == sorted(map(_key, local))


def test_unreachable_server_exits_3_with_a_clear_message(mini_policies, use_policies, capsys):
    use_policies(mini_policies)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(EngineUnavailableError, match=f"no OPA server answers at {url}"):
        audit.evaluate_facts(json.loads(EXAMPLE.read_text()), policies=mini_policies, opa_url=url)
    assert cli.main(["evaluate", "--facts", str(EXAMPLE), "--opa-url", url]) == 3
    err = capsys.readouterr().err
    assert "policy engine unavailable: no OPA server answers at" in err and "Traceback" not in err


def test_server_side_evaluation_error_is_a_policy_error(opa, mini_policies, add_rule, example_facts):
    add_rule(
        mini_policies,
        "general",
        "boom",
        'package offhost.general.boom\n\nimport rego.v1\n\nfindings contains x if {\n\tx := to_number("seven")\n}\n',
    )
    with pytest.raises(
        PolicyError,
        match="(?s)the OPA server failed to evaluate the findings: .*boom.rego:6: eval_builtin_error: to_number",
    ):
        audit.evaluate_facts(example_facts, policies=mini_policies, opa_url=opa.url)


def test_bad_url_is_an_input_error(mini_policies, example_facts):
    with pytest.raises(Exception, match="expected http://HOST"):
        audit.evaluate_facts(example_facts, policies=mini_policies, opa_url="ftp://x")


def _old_proxy(facts: dict) -> dict:
    doc = copy.deepcopy(facts)
    doc["hosts"][0]["os"]["build"] = 9600
    return doc


def test_cli_with_opa_url_prints_the_same_json_as_the_embedded_engine(opa, mini_policies, use_policies, capsys):
    use_policies(mini_policies)
    assert cli.main(["evaluate", "--facts", str(EXAMPLE), "--format", "json"]) == 0
    local = capsys.readouterr().out
    assert cli.main(["evaluate", "--facts", str(EXAMPLE), "--format", "json", "--opa-url", opa.url]) == 0
    assert capsys.readouterr().out == local
    assert ("POST", "/v1/data/offhost/main/findings") in opa.requests


def test_stand_in_rejects_a_policy_with_opas_error_document(opa):
    err = opa.check_policy("x/a.rego", "package a\n\nimport rego.v1\n\np if {\n\tx := [1, 2\n\ty := 3\n}\n")
    (e,) = err["errors"]
    assert e["code"] == "rego_parse_error" and e["location"] == {"file": "x/a.rego", "row": 7, "col": 2}
