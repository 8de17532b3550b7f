"""winrm.smb_client: the SMB connections a host holds and their dialect (SMB3 for VM storage)."""

from __future__ import annotations

from typing import Any

from offhost_audit.collector_specs import BY_ID
from offhost_audit.collectors.base import Context, Target
from offhost_audit.collectors.parsers import parse_smb_client
from offhost_audit.collectors.winrm import PsCollector


class SmbClientCollector(PsCollector):
    spec = BY_ID["winrm.smb_client"]

    def parse(self, doc: Any, target: Target, ctx: Context) -> dict[str, Any]:
        return {"hosts": [{"name": target.name, **parse_smb_client(doc)}]}
