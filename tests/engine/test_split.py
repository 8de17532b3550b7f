"""The split evaluation (engine/split.py, engine/pool.py) gives the single pass's findings, in order.

Every rule fixture, every example, the facts collected from every lab scenario, generated estates
and fuzzed estates with random cross-links between their parts (a host served by two proxies, VMs
on another part's shares, duplicate VM names, missing lists and node lists...). Each is evaluated
in one pass and split as finely as it splits (every part evaluated alone, in this process, so that
many cases stay fast); a few go through the real pool, whose workers are spawned (not forked, as
on Windows), with both engines.
"""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path

import pytest

from offhost_audit import audit
from offhost_audit.engine import embedded, pool, split
from offhost_audit.engine.metadata import enrich
from offhost_audit.engine.sources import dumps_compact
from offhost_audit.findings import sorted_findings
from offhost_audit.lab import demo, scenario

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import estate  # noqa: E402
import policy_cases  # noqa: E402

DOCUMENTS = policy_cases.documents()
PROFILE = "veeam-2025-08"


def single(doc: dict, profile: str = PROFILE, engine: str = "embedded") -> list[dict]:
    """The findings of one engine pass over the whole document."""
    saved, pool.MIN_SPLIT_HOSTS = pool.MIN_SPLIT_HOSTS, 10**9
    try:
        return audit.evaluate_facts(copy.deepcopy(doc), profile=profile, jobs=1, engine=engine)
    finally:
        pool.MIN_SPLIT_HOSTS = saved


def split_here(doc: dict, profile: str = PROFILE, n_parts: int = 10**6) -> tuple[list[dict], int]:
    """(the findings of the parts, each evaluated alone, joined and sorted as the pool does; parts)."""
    doc = copy.deepcopy(doc)
    parts = split.plan(doc, n_parts)
    if parts is None:
        return single(doc, profile), 1
    compiled = embedded.compiled()
    raw = [f for p in parts for f in compiled.evaluate_json(dumps_compact(p), profile)]
    found = enrich(raw, compiled.metadata, doc)
    return sorted_findings(found + audit.job_findings(compiled, doc, found, profile)), len(parts)


def assert_same(doc: dict, what: str, profile: str = PROFILE) -> int:
    want = single(doc, profile)
    got, n = split_here(doc, profile)
    if got != want:
        a = {json.dumps(f, sort_keys=True) for f in want}
        b = {json.dumps(f, sort_keys=True) for f in got}
        lost, extra = sorted(a - b)[:5], sorted(b - a)[:5]
        assert not lost and not extra, f"{what} ({n} parts): missing {lost}\nextra {extra}"
        assert got == want, f"{what} ({n} parts): same findings, different order"
    return n


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_fixture_and_example(name):
    doc = DOCUMENTS[name]()
    for profile in sorted(embedded.compiled().profiles):
        assert_same(doc, name, profile)


def test_every_lab_scenario():
    for name in scenario.shipped():
        doc = demo.run_scenario(name, auth="basic")["facts"]
        assert_same(doc, f"lab scenario {name}")


def test_the_generated_estate_splits_into_its_pods():
    doc = estate.generate(400)
    assert len(split.components(doc)) == len(doc["assignments"])
    assert assert_same(doc, "estate 400") == len(doc["assignments"])


def _pod_names(doc: dict) -> tuple[list[str], list[str], list[str]]:
    hosts = [h["name"] for h in doc["hosts"] if "hyperv_host" in h["roles"]]
    return [c["name"] for c in doc["clusters"]], hosts, [s["unc"] for s in doc["shares"]]


def fuzz(seed: int, hosts: int = 120) -> dict:
    """A generated estate with random cross-links and gaps."""
    rnd = random.Random(seed)
    doc = estate.generate(hosts, seed=seed)
    clusters, hv, uncs = _pod_names(doc)
    for _ in range(rnd.randint(0, 3)):  # a proxy also serves another pod's cluster or host
        a = rnd.choice(doc["assignments"])
        if rnd.random() < 0.5:
            a["sources"].append({"kind": "cluster", "name": rnd.choice(clusters).lower()})
        else:
            a["sources"].append({"kind": "host", "name": rnd.choice(hv) + ".corp.example"})
    for vm in rnd.sample(doc["vms"], k=min(len(doc["vms"]), rnd.randint(0, 6))):
        r = rnd.random()
        if r < 0.3:  # moved to another host, maybe of another pod
            vm["host"] = rnd.choice(hv)
        elif r < 0.5 and uncs:  # a disk on some share
            unc = rnd.choice(uncs)
            vm["disks"].append(
                {
                    "path": f"{unc.lower()}\\x{rnd.randint(0, 99)}.vhdx",
                    "storage": "smb",
                    "format": "vhdx",
                    "csv": None,
                    "share": None,
                }
            )
        elif r < 0.6:
            vm["disks"] = None  # reads every share
        elif r < 0.8:  # the same name as another VM: findings that tie on the sort key
            vm["name"] = doc["vms"][0]["name"]
        else:
            vm["disks"] = []
    for h in rnd.sample(doc["hosts"], k=rnd.randint(0, 4)):
        r = rnd.random()
        if r < 0.3 and uncs:
            server = rnd.choice(uncs).split("\\")[2]
            h["smb_connections"] = [{"server": server.lower(), "share": "vms", "dialect": "3.0.2"}]
        elif r < 0.5:
            h["cluster"] = {"member": True, "name": rnd.choice(clusters)}
        elif r < 0.7:
            h["cluster"] = None
        else:
            h["vss_providers"] = None
    if doc["computer_accounts"] and rnd.random() < 0.3:  # two accounts of one name
        doc["computer_accounts"].append(dict(doc["computer_accounts"][0], domain="other.example"))
    if doc["shares"] and rnd.random() < 0.3:  # two shares of one key
        doc["shares"].append(dict(doc["shares"][-1], unc=doc["shares"][-1]["unc"].upper(), dialect="3.1.1"))
    if rnd.random() < 0.15:
        doc["clusters"][rnd.randrange(len(doc["clusters"]))]["nodes"] = None  # does not split
    if rnd.random() < 0.15:
        doc["assignments"].pop(rnd.randrange(len(doc["assignments"])))  # a proxy serving everything
    if rnd.random() < 0.1:
        doc["collection"].append(
            {
                "target": rnd.choice(hv),
                "collector": "winrm.hyperv",
                "status": "error",
                "error": "timed out",
                "duration_ms": 1.0,
            }
        )
    return doc


@pytest.mark.parametrize("seed", range(12))
def test_fuzzed_cross_links(seed):
    assert_same(fuzz(seed), f"fuzz seed {seed}")


def test_fuzzing_splits_most_estates():
    splits = [split.components(fuzz(seed)) is not None for seed in range(12)]
    assert sum(splits) >= 6, splits


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("a proxy without an assignment", lambda d: d["assignments"].pop()),
        ("no assignment list", lambda d: d.update(assignments=None)),
        ("no cluster list", lambda d: d.update(clusters=None)),
        ("no VM list", lambda d: d.update(vms=None)),
        ("a served cluster without its node list", lambda d: d["clusters"][0].update(nodes=None)),
    ],
)
def test_an_estate_that_one_entry_spans_is_not_split(what, change):
    doc = estate.generate(60)
    change(doc)
    assert split.components(doc) is None, what
    assert_same(doc, what)


def test_a_vm_without_a_disk_list_joins_every_share():
    doc = estate.generate(200)
    doc["vms"][0]["disks"] = None
    comps = split.components(doc)
    with_shares = [c for c in comps if c.get("shares")]
    assert len(with_shares) == 1 and len(with_shares[0]["shares"]) == len(doc["shares"])
    assert_same(doc, "a VM without disks")


def test_a_small_estate_or_one_job_uses_no_worker():
    doc = estate.generate(100)
    for kw in ({"jobs": 2}, {"jobs": 1, "min_hosts": 0}):  # below MIN_SPLIT_HOSTS; one job
        pool.LAST_TIMINGS[:] = [{"pid": -1}]
        pool.evaluate(embedded.compiled(), "embedded", doc, None, PROFILE, **kw)
        assert pool.LAST_TIMINGS == [], kw  # no worker ran


def test_one_job_evaluates_the_parts_one_after_the_other(monkeypatch):
    doc = fuzz(4, hosts=300)
    want = single(doc)
    monkeypatch.setattr(pool, "MIN_SPLIT_HOSTS", 0)
    calls = []
    real = embedded.CompiledPolicies.evaluate_json
    monkeypatch.setattr(
        embedded.CompiledPolicies,
        "evaluate_json",
        lambda self, text, profile: calls.append(len(text)) or real(self, text, profile),
    )
    assert audit.evaluate_facts(copy.deepcopy(doc), profile=PROFILE, jobs=1) == want
    assert len(calls) == pool.SEQUENTIAL_PARTS


@pytest.mark.parametrize("engine", ["embedded", "opa"])
def test_the_spawned_pool_gives_the_single_pass(engine, monkeypatch):
    if engine == "opa":
        pytest.importorskip("opa_bindings", reason="make venv installs opa-golib-python-bindings")
    doc = fuzz(4, hosts=300)
    assert split.components(doc) is not None
    want = single(doc, engine=engine)
    monkeypatch.setattr(pool, "MIN_SPLIT_HOSTS", 0)
    got = audit.evaluate_facts(copy.deepcopy(doc), profile=PROFILE, jobs=2, engine=engine)
    assert got == want
    assert len(pool.LAST_TIMINGS) == 2 * pool.PARTS_PER_JOB
    assert len({t["pid"] for t in pool.LAST_TIMINGS}) == 2  # two workers


def test_a_policy_error_in_a_worker_is_a_policy_error(tmp_path, monkeypatch):
    import shutil

    from offhost_audit.errors import PolicyError
    from offhost_audit.resources import policies_dir

    shutil.copytree(policies_dir(), tmp_path / "p")
    bad = tmp_path / "p" / "general" / "hyperv_role" / "hyperv_role.rego"
    bad.write_text(
        bad.read_text(encoding="utf-8") + "\nboom := 1 / count([])\nfindings contains boom\n", encoding="utf-8"
    )
    monkeypatch.setattr(pool, "MIN_SPLIT_HOSTS", 0)
    with pytest.raises(PolicyError):
        audit.evaluate_facts(estate.generate(60), profile=PROFILE, jobs=2, policies=tmp_path / "p")


def test_a_part_without_shares_still_sees_that_the_estate_has_shares():
    """smb3_dialect reads count(shares) > 0 for a host whose VMs were not collected."""
    doc = estate.generate(120)
    node = doc["clusters"][-1]["nodes"][0]  # the last pods serve no standalone host: no share
    doc["collection"].append(
        {"target": node, "collector": "winrm.hyperv", "status": "error", "error": "timed out", "duration_ms": 1.0}
    )
    assert_same(doc, "a part without shares")
