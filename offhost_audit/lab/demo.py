"""``offhost-audit demo``: the shipped scenarios, each served by the lab and audited end to end.

For every scenario: start the lab on loopback (plain HTTP, Basic and NTLM with
``message_encryption='never'``), write a matching inventory, collect through the real pywinrm client,
evaluate with the real policies, and compare what failed with what the scenario was built to show.
It is the lab, not Windows: the output says so.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml

from offhost_audit import audit, inventory
from offhost_audit.inventory.credentials import Resolver
from offhost_audit.lab import scenario as scenarios, vbr_rest
from offhost_audit.lab.responder import inventory_doc, lab_env, lab_hosts
from offhost_audit.lab.wsman import LabServer


@contextmanager
def serve(name: str, *, auth: str = "ntlm") -> Iterator[tuple[dict[str, Any], inventory.Inventory, Resolver]]:
    """Serve one scenario in the lab for as long as the block runs: (scenario, its inventory, the lab credentials).

    A scenario with ``discover: true`` is read the way ``audit --backup-server`` reads an estate: the
    lab's backup server answers over REST beside the WS-Management lab, discovery gives the
    inventory, and only how to reach each lab host (addresses, ports, credentials) is laid over it."""
    sc = scenarios.load(name)
    resolver = Resolver(env=lab_env(sc), interactive=False)
    with LabServer(lab_hosts(sc), auth=("basic", "ntlm")) as lab:
        if not sc.get("discover"):
            doc = inventory_doc(sc, lab, auth=auth)
            inv = inventory.loads(yaml.safe_dump(doc, sort_keys=False), source=f"<lab inventory for {sc['name']}>")
            yield sc, inv, resolver
            return
        with vbr_rest.serve(sc) as (url, ca, _):
            doc = inventory_doc(sc, lab, auth=auth, rest=(int(url.rsplit(":", 1)[1]), ca))
            yield sc, discovered(doc, resolver), resolver


def discovered(lab_doc: dict[str, Any], resolver: Resolver) -> inventory.Inventory:
    """Discover the scenario from the lab's REST backup server ``lab_doc`` names (its ``rest:``
    settings); lay the lab's addresses and credentials over it."""
    from offhost_audit import discover

    hand = overlay_yaml(lab_doc)
    where = inventory.loads(hand, source="<lab addresses>")
    (server,) = [t for t in where.targets(resolver=resolver, call_timeout=10.0) if t.kind == "backup_server"]
    return discover.discovered_inventory(discover.read(server, via="rest"), hand_text=hand)


def overlay_yaml(lab_doc: dict[str, Any]) -> str:
    """The lab inventory reduced to what a hand-written overlay gives: how to reach each host (the
    server's facts, max tasks and assignments, come from the server)."""
    hand = {k: copy.deepcopy(v) for k, v in lab_doc.items() if k != "vbr"}
    for p in hand.get("proxies") or []:
        p.pop("serves", None)
        p.pop("max_tasks", None)
    hand["vbr"] = {"profile": lab_doc["vbr"]["profile"]}
    return yaml.safe_dump(hand, sort_keys=False)


def run_scenario(
    name: str,
    *,
    profile: str | None = None,
    auth: str = "ntlm",
    concurrency: int = 16,
    call_timeout: float = 10.0,
    target_timeout: float = 60.0,
) -> dict[str, Any]:
    """Collect and evaluate one scenario in the lab; the facts, findings and the expectation check."""
    started = time.monotonic()
    with serve(name, auth=auth) as (sc, inv, resolver):
        facts, found, _ = audit.run_audit(
            inv,
            concurrency=concurrency,
            call_timeout=call_timeout,
            target_timeout=target_timeout,
            profile=profile,
            resolver=resolver,
        )
    return {
        "scenario": sc,
        "facts": facts,
        "findings": found,
        "check": check(sc, found),
        "seconds": round(time.monotonic() - started, 2),
    }


def check(sc: dict[str, Any], findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per expectation: rule, wanted status, what the audit said, ok."""
    by_rule: dict[str, set[str]] = {}
    for f in findings:
        by_rule.setdefault(f["rule_id"], set()).add(f["status"])
    rows = []
    for want in ("fail", "unknown"):
        for rule in sc["expect"].get(want) or []:
            got = sorted(by_rule.get(rule, set()))
            rows.append({"rule": rule, "want": want, "got": got, "ok": want in got})
    if not sc["expect"].get("fail"):  # a healthy estate: nothing at all may fail
        failing = sorted(r for r, st in by_rule.items() if "fail" in st)
        rows.append({"rule": "(any)", "want": "no failures", "got": failing, "ok": not failing})
    for rule in sc["expect"].get("pass") or []:
        got = sorted(by_rule.get(rule, set()))
        rows.append(
            {"rule": rule, "want": "pass", "got": got, "ok": bool(got) and "fail" not in got and "unknown" not in got}
        )
    for want in sc["expect"].get("findings") or []:  # {rule, status (fail), severity, names: text in the message}
        status, severity, names = want.get("status", "fail"), want.get("severity"), want.get("names")
        mine = [f for f in findings if f["rule_id"] == want["rule"]]
        hit = [
            f
            for f in mine
            if f["status"] == status
            and (severity is None or f["severity"] == severity)
            and (names is None or str(names) in str(f.get("message", "")))
        ]
        wanted = " ".join([status] + ([severity] if severity else []) + ([f"naming {names!r}"] if names else []))
        got = sorted({f"{f['status']} {f['severity']}" for f in mine})
        rows.append({"rule": want["rule"], "want": wanted, "got": got, "ok": bool(hit)})
    return rows


def manifest_summary(facts: dict[str, Any]) -> dict[str, Any]:
    entries = facts.get("collection") or []
    bad = [e for e in entries if e["status"] != "ok" or e.get("error")]
    return {
        "calls": len(entries),
        "ok": sum(e["status"] == "ok" for e in entries),
        "problems": [{k: e.get(k) for k in ("target", "collector", "status", "error")} for e in bad],
    }


def as_json(results: list[dict[str, Any]]) -> str:
    out = []
    for r in results:
        out.append(
            {
                "scenario": r["scenario"]["name"],
                "title": r["scenario"]["title"],
                "lab": True,
                "discovered": bool(r["scenario"].get("discover")),  # from the lab's REST backup server
                "seconds": r["seconds"],
                "expectations": r["check"],
                "ok": all(c["ok"] for c in r["check"]),
                "collection": manifest_summary(r["facts"]),
                "warnings": r["facts"].get("warnings") or [],
                "failures": sorted({f["rule_id"] for f in r["findings"] if f["status"] == "fail"}),
                "unknown": sorted({f["rule_id"] for f in r["findings"] if f["status"] == "unknown"}),
            }
        )
    return json.dumps(out, indent=2) + "\n"
