"""winrm.hyperv: VMs on a Hyper-V host and where their virtual disks live (csv, smb, local; .vhds)."""

from __future__ import annotations

from typing import Any

from offhost_audit.collector_specs import BY_ID
from offhost_audit.collectors.base import Context, Target
from offhost_audit.collectors.parsers_estate import parse_hyperv
from offhost_audit.collectors.winrm import PsCollector


class HyperVCollector(PsCollector):
    spec = BY_ID["winrm.hyperv"]

    def parse(self, doc: Any, target: Target, ctx: Context) -> dict[str, Any]:
        facts = parse_hyperv(doc, host=target.name, cluster=target.options.get("cluster"))
        return {"vms": facts["vms"]} if facts["vms"] else {}
