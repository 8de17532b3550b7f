"""winrm.cluster: cluster membership of the host; for nodes, the cluster's nodes and CSVs (with dedup)."""

from __future__ import annotations

from typing import Any

from offhost_audit.collector_specs import BY_ID
from offhost_audit.collectors.base import Context, Target
from offhost_audit.collectors.parsers_estate import parse_cluster
from offhost_audit.collectors.winrm import PsCollector


class ClusterCollector(PsCollector):
    spec = BY_ID["winrm.cluster"]

    def parse(self, doc: Any, target: Target, ctx: Context) -> dict[str, Any]:
        facts = parse_cluster(doc)
        frag: dict[str, Any] = {"hosts": [{"name": target.name, "cluster": facts["cluster"]}]}
        if facts.get("clusters"):
            frag["clusters"] = facts["clusters"]
        return frag
