"""winrm.services: the Veeam services on the host (by service name, never display name)."""

from __future__ import annotations

from typing import Any

from offhost_audit.collector_specs import BY_ID
from offhost_audit.collectors.base import Context, Target
from offhost_audit.collectors.parsers import parse_services
from offhost_audit.collectors.winrm import PsCollector

VEEAM_SERVICES = ["VeeamDeploySvc", "VeeamTransportSvc", "VeeamHvIntegrationSvc"]


class ServicesCollector(PsCollector):
    spec = BY_ID["winrm.services"]

    def arguments(self, target: Target, ctx: Context) -> dict[str, Any]:
        return {"Names": VEEAM_SERVICES}

    def parse(self, doc: Any, target: Target, ctx: Context) -> dict[str, Any]:
        return {"hosts": [{"name": target.name, **parse_services(doc)}]}
