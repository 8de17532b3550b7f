"""winrm.backup_server: the backup server's view (Veeam PowerShell module): managed Hyper-V servers, proxies.

Without the Veeam module the script says so and ``vbr.managed_servers``/``vbr.proxies`` stay null
(rules that need them say unknown).
"""

from __future__ import annotations

from typing import Any

from offhost_audit.collector_specs import BY_ID
from offhost_audit.collectors.base import Context, Target, with_meta
from offhost_audit.collectors.parsers_estate import parse_backup_server
from offhost_audit.collectors.winrm import PsCollector


class BackupServerCollector(PsCollector):
    spec = BY_ID["winrm.backup_server"]

    def parse(self, doc: Any, target: Target, ctx: Context) -> dict[str, Any]:
        facts = parse_backup_server(doc)
        vbr = {k: v for k, v in facts["vbr"].items() if v is not None or k in ("managed_servers", "proxies")}
        vbr.setdefault("server", target.name)
        absent = [f"{target.name}: Veeam PowerShell module absent; backup-server facts unknown"]
        return with_meta({"vbr": vbr}, notes=absent if facts["module"] == "absent" else [])
