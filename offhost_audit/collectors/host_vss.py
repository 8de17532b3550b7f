"""winrm.vss: installed VSS providers (Win32_ShadowProvider, or vssadmin text as a fallback)."""

from __future__ import annotations

from typing import Any

from offhost_audit.collectors.base import Context, Target
from offhost_audit.collectors.parsers import parse_vss
from offhost_audit.collectors.winrm import PsCollector


class VssCollector(PsCollector):
    id = "winrm.vss"
    script = "vss.ps1"

    def parse(self, doc: Any, target: Target, ctx: Context) -> dict[str, Any]:
        return {"hosts": [{"name": target.name, **parse_vss(doc)}]}
