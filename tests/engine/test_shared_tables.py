"""Ideas written both in Python and in Rego are one idea: each Rego copy is checked against its Python home."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import regorus

from offhost_audit.collectors.winsec import TRUST_ATTRIBUTES
from offhost_audit.engine.sources import read_sources
from offhost_audit.names import norm_name
from offhost_audit.resources import policies_dir


@pytest.fixture(scope="module")
def engine():
    eng = regorus.Engine()
    for s in read_sources(policies_dir()):
        eng.add_policy(s.name, s.text)
    eng.set_input_json("{}")
    return eng


def _query(engine, expr: str):
    return json.loads(engine.eval_query_as_json(expr))["result"][0]["expressions"][0]["value"]


def test_trust_attribute_names_in_rego_are_winsecs(engine):
    """OHP-022 names trustAttributes bits when the facts carry the number only: the same table as winsec.py."""
    rego = dict(_query(engine, "data.offhost.smb.domain_trust._flag_names"))
    assert rego == TRUST_ATTRIBUTES


@pytest.mark.parametrize(
    "name",
    [
        "hv01",
        "HV01.corp.example",
        " hv01.corp ",
        "fs-1.a.b.c",
        "x",
        "10.0.0.1",
        " 192.168.1.20 ",
        "10.0.0",
        "fe80::1",
        "[FE80::a:1]",
        "Ünï.x",
    ],
)
def test_rego_norm_is_norm_name(engine, name):
    assert _query(engine, f"data.offhost.lib.facts.norm({json.dumps(name)})") == norm_name(name)


def test_importing_the_engine_leaves_the_environment_alone():
    """RUST_LIB_BACKTRACE is set when an engine is made (quiet_backtraces), not as a side effect of an import."""
    code = (
        "import os, offhost_audit.engine.sources, offhost_audit.engine.embedded, offhost_audit.engine.testrunner; "
        "assert 'RUST_LIB_BACKTRACE' not in os.environ; "
        "offhost_audit.engine.embedded.compile_policies(); assert os.environ['RUST_LIB_BACKTRACE'] == '0'"
    )
    env = {k: v for k, v in os.environ.items() if k != "RUST_LIB_BACKTRACE"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
