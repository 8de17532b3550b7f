"""Fact assembly: how collector fragments become one facts document, in ONE place.

* :func:`merge`: fragments merged by item key (hosts, clusters, VMs, shares, domains, computer
  accounts; names as :func:`offhost_audit.names.norm_key`), dicts deep-merged, later non-null values winning;
* :func:`premerge`: the CSV lists each cluster node reports, merged by CSV name before that;
* :func:`resolve_csv_names`: VM disks on a CSV path get the CSV's name;
* :func:`assemble`: the runner's fragments, manifest and warnings plus the inventory's hosts,
  clusters, VBR and assignments -> the facts document (``schema/facts.schema.json``);
* :func:`merge_target`: a re-collected target's facts put in place of its old ones (the TUI's
  "audit this target again").

Core: imports only the documents, never the collectors, the engine or a face.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from offhost_audit import __version__
from offhost_audit.facts import SCHEMA_VERSION
from offhost_audit.inventory import Inventory
from offhost_audit.inventory.targets import Fragment, Target, facts_of, meta_of
from offhost_audit.names import account_name, norm_key, norm_name, unc_key

# The lists merged by item (and the field that names an item); other lists are concatenated.
_KEYED = {
    "hosts": "name",
    "clusters": "name",
    "vms": "name",
    "shares": "unc",
    "domains": "dns_name",
    "computer_accounts": "name",
}
# The lists of a facts document a collector fills (the rest come from the inventory).
COLLECTED = ("hosts", "clusters", "vms", "shares", "domains", "computer_accounts")


def _deep_merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _deep_merge(out[k], v) if k in out else v
        return out
    return a if b is None else b


def merge(fragments: list[Fragment]) -> Fragment:
    """Merge partial facts documents into one (no ``schema_version``/``collection`` handling)."""
    out: dict[str, Any] = {}
    index: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in _KEYED}
    for frag in fragments:
        for key, value in frag.items():
            if key in _KEYED and isinstance(value, list):
                bucket = index[key]
                for item in value:
                    k = (
                        norm_key(item[_KEYED[key]])
                        if key != "vms"
                        else f"{norm_key(item.get('host', ''))}/{item['name']}"
                    )
                    bucket[k] = _deep_merge(bucket[k], item) if k in bucket else item
            elif isinstance(value, list):
                out.setdefault(key, []).extend(value)
            else:
                out[key] = _deep_merge(out[key], value) if key in out else value
    for key, bucket in index.items():
        if bucket:
            out[key] = list(bucket.values())
    return out


def premerge(fragments: list[Fragment]) -> list[Fragment]:
    """The fragments without runner keys, each cluster's CSV list merged across the nodes that
    reported it (by CSV name, non-null wins)."""
    csvs: dict[str, dict[str, dict]] = {}
    out = []
    for f in fragments:
        f = facts_of(f)
        for c in f.get("clusters") or []:
            bucket = csvs.setdefault(c["name"], {})
            for csv in c.get("csvs") or []:
                old = bucket.get(csv["name"], {})
                bucket[csv["name"]] = {**old, **{k: v for k, v in csv.items() if v is not None or k not in old}}
        out.append(f)
    for f in out:
        for c in f.get("clusters") or []:
            c["csvs"] = list(csvs.get(c["name"], {}).values())
    return out


def resolve_csv_names(vms: list[dict[str, Any]], clusters: list[dict[str, Any]]) -> None:
    """Fill ``disks[].csv`` from the clusters' CSV paths (longest matching prefix), in place."""
    paths = []
    for c in clusters or []:
        for csv in c.get("csvs") or []:
            if csv.get("path"):
                paths.append((csv["path"].rstrip("\\").lower() + "\\", c.get("name"), csv["name"]))
    paths.sort(key=lambda t: -len(t[0]))
    for vm in vms or []:
        for disk in vm.get("disks") or []:
            if disk.get("storage") != "csv" or disk.get("csv"):
                continue
            low = disk["path"].lower()
            for prefix, cluster, name in paths:
                if low.startswith(prefix) and (not vm.get("cluster") or account_name(vm["cluster"]) == cluster):
                    disk["csv"] = name
                    break


def assemble(
    inv: Inventory, targets: list[Target], fragments: list[Fragment], entries: list[dict], warnings: list[str]
) -> dict[str, Any]:
    """The facts document of one collection: the inventory's hosts, clusters, VBR and assignments,
    the fragments merged into them, the manifest ``entries`` and the ``warnings`` (plus the
    fragments' notes)."""
    warnings += inv.notes  # what an overlay of a hand-written inventory did (inventory/overlay.py)
    for f in fragments:
        warnings += meta_of(f).get("_notes", [])
    hosts: dict[str, dict[str, Any]] = {}
    for t in targets:  # one entry per computer: a file server that is also a Windows host gets both roles
        if t.kind != "domain_controller":
            h = hosts.setdefault(t.name, {"name": t.name, "fqdn": t.options.get("fqdn"), "roles": []})
            h["roles"] += [r for r in t.options.get("roles") or [t.kind] if r not in h["roles"]]
    for f in fragments:  # the SMB collector names the file server with the roles it knows of
        for h in f.get("hosts") or []:
            h.pop("roles", None)
    clusters = [{"name": name, "nodes": nodes} for name, nodes in inv.clusters.items()]
    doc = merge([{"hosts": list(hosts.values()), "clusters": clusters}, *premerge(fragments)])
    resolve_csv_names(doc.get("vms") or [], doc.get("clusters") or [])
    domains_from_directory(doc.get("hosts") or [], doc.get("computer_accounts") or [])
    vbr: dict[str, Any] = {"version": inv.vbr_version, "profile": inv.vbr_profile}
    collected = doc.pop("vbr", None) or {}
    if collected.get("version") and inv.vbr_version and collected["version"] != inv.vbr_version:
        warnings.append(
            f"the inventory says VBR {inv.vbr_version}, the backup server reports {collected['version']}: "
            "using the backup server's"
        )
    vbr.update({k: v for k, v in collected.items() if v is not None})
    vbr.setdefault("managed_servers", None)
    vbr.setdefault("proxies", None)
    assignments = [dict(a, sources=list(a["sources"])) for a in inv.assignments]
    for a in assignments:
        if inv.origin:  # discovered: what the backup server's jobs say (rest, powershell) or the hand-written file
            a["source"] = inv.origin.get(a["proxy"], "inventory")
        registered = next((p for p in vbr.get("proxies") or [] if p["name"] == account_name(a["proxy"])), None)
        if registered and registered.get("max_tasks") is not None:
            a["max_tasks"] = registered["max_tasks"]
    facts: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "generator": f"offhost-audit {__version__} collect",
        "warnings": warnings,
        "vbr": vbr,
        "assignments": assignments,
        **{k: doc.get(k) for k in COLLECTED if k in doc},
        "collection": entries,
    }
    facts.setdefault("hosts", [])
    return facts


def domains_from_directory(hosts: list[dict], accounts: list[dict]) -> None:
    """A host whose domain was not collected (WinRM and the NTLM challenge failed) but whose
    computer object was found in exactly one collected domain is in that domain (source directory)."""
    found: dict[str | None, set[str]] = {}
    for a in accounts:
        if a.get("domain"):
            found.setdefault(account_name(a["name"]), set()).add(a["domain"].lower())
    for h in hosts:
        doms = found.get(account_name(h["name"]), set())
        if len(doms) == 1 and not (h.get("domain") or {}).get("name"):
            h["domain"] = {"name": next(iter(doms)), "netbios": None, "part_of_domain": True, "source": "directory"}


def merge_target(old: dict[str, Any], new: dict[str, Any], target: str) -> dict[str, Any]:
    """The old facts with one target's facts and manifest entries replaced by a fresh collection's.

    The target's own entries (its host, its VMs, its shares; the directory when it is a domain
    controller) are dropped before merging, so that a fact that fails this time is missing (unknown),
    never the last run's value.
    """
    t = norm_name(target)
    dc = any(e["target"] == target and e["collector"].startswith("ldap.") for e in new.get("collection") or [])

    def mine(key: str, item: dict[str, Any]) -> bool:
        if key == "hosts":
            return norm_name(item.get("name", "")) == t
        if key == "vms":
            return norm_name(item.get("host", "")) == t
        if key == "shares":
            return (unc_key(item.get("unc")) or "").startswith(f"\\\\{t}\\")
        return dc and key in ("domains", "computer_accounts")

    keep = {k: v for k, v in old.items() if k not in ("collection", "warnings")}
    for key in ("hosts", "vms", "shares", "domains", "computer_accounts"):
        if isinstance(keep.get(key), list):
            keep[key] = [item for item in keep[key] if not mine(key, item)]
    fresh = {k: new.get(k) for k in COLLECTED if new.get(k)}
    merged = {**keep, **merge([{k: keep.get(k) or [] for k in fresh}, fresh])}
    merged["collection"] = [e for e in old.get("collection") or [] if norm_name(e["target"]) != t] + list(
        new.get("collection") or []
    )
    merged["warnings"] = list(new.get("warnings") or [])
    return merged
