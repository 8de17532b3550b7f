"""winrm.storage: disks and their LUN identity, SAN initiator ports, iSCSI sessions, SAN policy."""

from __future__ import annotations

from typing import Any

from offhost_audit.collector_specs import BY_ID
from offhost_audit.collectors.base import Context, Target
from offhost_audit.collectors.parsers import parse_storage
from offhost_audit.collectors.winrm import PsCollector


class StorageCollector(PsCollector):
    spec = BY_ID["winrm.storage"]

    def parse(self, doc: Any, target: Target, ctx: Context) -> dict[str, Any]:
        return {"hosts": [{"name": target.name, **parse_storage(doc)}]}
