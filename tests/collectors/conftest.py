"""Fixtures: a scenario served by the real lab endpoint, and its inventory, for the real pywinrm client."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from offhost_audit import collect, inventory
from offhost_audit.inventory.credentials import Resolver
from offhost_audit.lab import scenario as scenarios, vbr_rest
from offhost_audit.lab.responder import inventory_doc, lab_env, lab_hosts
from offhost_audit.lab.wsman import LabServer


@contextlib.contextmanager
def served(
    sc: dict[str, Any] | str, *, https: bool = False, auth: str = "basic", rest: bool = False
) -> Iterator[tuple[dict, LabServer, inventory.Inventory]]:
    """The scenario over WinRM; with ``rest``, its backup server over REST too (the inventory says where)."""
    sc = scenarios.load(sc) if isinstance(sc, str) else sc
    with LabServer(lab_hosts(sc), https=https) as lab, contextlib.ExitStack() as stack:
        endpoint = None
        if rest:
            url, ca, _state = stack.enter_context(vbr_rest.serve(sc))
            endpoint = (int(url.rsplit(":", 1)[1]), ca)
        text = yaml.safe_dump(inventory_doc(sc, lab, auth=auth, rest=endpoint), sort_keys=False)
        yield sc, lab, inventory.loads(text, source="lab-inventory.yaml")


def collect_scenario(
    sc: dict[str, Any] | str,
    *,
    https: bool = False,
    auth: str = "basic",
    insecure: bool = False,
    rest: bool = False,
    **kw: Any,
) -> tuple[dict, dict]:
    with served(sc, https=https, auth=auth, rest=rest) as (scn, _lab, inv):
        kw.setdefault("call_timeout", 10.0)
        facts = collect.collect_facts(
            inv, resolver=Resolver(env=lab_env(scn), interactive=False), insecure=insecure, **kw
        )
    return scn, facts


@pytest.fixture(scope="session")
def healthy() -> tuple[dict, dict]:
    """The csv-healthy scenario collected once through the lab (NTLM)."""
    return collect_scenario("csv-healthy", auth="ntlm")


@pytest.fixture(scope="session")
def faulty() -> tuple[dict, dict]:
    return collect_scenario("faults")


def host(facts: dict, name: str) -> dict:
    return next(h for h in facts["hosts"] if h["name"] == name)


def manifest(facts: dict, target: str, collector: str) -> dict:
    return next(e for e in facts["collection"] if e["target"] == target and e["collector"] == collector)
