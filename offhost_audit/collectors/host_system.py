"""winrm.system: OS build and edition, hardware and sizing, domain membership, Windows features."""

from __future__ import annotations

from typing import Any

from offhost_audit.collector_specs import BY_ID
from offhost_audit.collectors.base import Context, Target
from offhost_audit.collectors.parsers import parse_system
from offhost_audit.collectors.winrm import PsCollector


class SystemCollector(PsCollector):
    spec = BY_ID["winrm.system"]

    def arguments(self, target: Target, ctx: Context) -> dict[str, Any]:
        return {"FeatureNames": ["Hyper-V", "FS-Data-Deduplication", "Failover-Clustering"]}

    def parse(self, doc: Any, target: Target, ctx: Context) -> dict[str, Any]:
        facts = parse_system(doc)
        if target.options.get("fqdn"):
            facts.pop("fqdn", None)  # the inventory's address wins
        return {"hosts": [{"name": target.name, **facts}]}
