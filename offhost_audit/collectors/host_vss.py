"""winrm.vss: installed VSS providers (Win32_ShadowProvider, or vssadmin text as a fallback)."""

from __future__ import annotations

from typing import Any

from offhost_audit.collector_specs import BY_ID
from offhost_audit.collectors.base import Context, Target
from offhost_audit.collectors.parsers import parse_vss
from offhost_audit.collectors.winrm import PsCollector


class VssCollector(PsCollector):
    spec = BY_ID["winrm.vss"]

    def parse(self, doc: Any, target: Target, ctx: Context) -> dict[str, Any]:
        return {"hosts": [{"name": target.name, **parse_vss(doc)}]}
