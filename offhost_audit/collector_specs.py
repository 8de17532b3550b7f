"""What each collector is, declared once: id, source, the target kinds it runs on, its shipped
PowerShell script (WinRM collectors), and the fact areas it fills. Source ``rest``: the backup
server's REST API (VBR 13), on the backup server's WinRM target.

Core data (no imports of the collectors): the collector classes (:mod:`offhost_audit.collectors`)
take their declaration from here and add the parsing; ``pscommand.SCRIPTS`` (the shipped scripts),
the lab's renderers (one per WinRM collector) and the TUI's "which unknowns did this failed run
cause" (``unknowns.findings_for_failure``) all derive from :data:`SPECS`.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

WINDOWS_HOSTS = frozenset({"proxy", "hyperv_host"})


class CollectorSpec(NamedTuple):  # not a dataclass: the lean evaluate imports this (tests/test_startup.py)
    id: str  # stable: it names the collector in the manifest (``collection[].collector``)
    source: Literal["winrm", "ldap", "smb", "rest"]
    kinds: frozenset[str]  # the target roles it applies to
    # Where its facts land, as they show in findings' ``missing`` paths: a lower-case word is a key
    # under ``hosts[T]``; an upper-case word is the start of a top-level path (``VMS[``, ``SHARES[``).
    areas: tuple[str, ...]
    script: str | None = None  # collectors/ps/<script>, sent over WinRM; None for LDAP and SMB


SPECS: tuple[CollectorSpec, ...] = (
    CollectorSpec(
        "winrm.system",
        "winrm",
        frozenset({"proxy", "hyperv_host", "backup_server", "file_server"}),
        ("os", "hardware", "features", "domain", "fqdn"),
        "system.ps1",
    ),
    CollectorSpec("winrm.storage", "winrm", WINDOWS_HOSTS, ("storage",), "storage.ps1"),
    CollectorSpec("winrm.cluster", "winrm", WINDOWS_HOSTS, ("cluster", "CLUSTERS["), "cluster.ps1"),
    CollectorSpec("winrm.vss", "winrm", WINDOWS_HOSTS, ("vss_providers",), "vss.ps1"),
    CollectorSpec("winrm.hyperv", "winrm", frozenset({"hyperv_host"}), ("VMS[", "VMS."), "hyperv.ps1"),
    CollectorSpec("winrm.services", "winrm", WINDOWS_HOSTS, ("veeam_services",), "services.ps1"),
    CollectorSpec("winrm.smb_client", "winrm", WINDOWS_HOSTS, ("smb_connections",), "smb_client.ps1"),
    # The backup server's own view, read one way per run (inventory backup_server.via): REST first;
    # the WinRM script when REST is not asked for or its endpoint does not answer (never after 401/403).
    CollectorSpec("rest.backup_server", "rest", frozenset({"backup_server"}), ("VBR.", "VBR[")),
    CollectorSpec("winrm.backup_server", "winrm", frozenset({"backup_server"}), ("VBR.", "VBR["), "backup_server.ps1"),
    CollectorSpec("ldap.directory", "ldap", frozenset({"domain_controller"}), ("DOMAINS", "COMPUTER_ACCOUNTS")),
    CollectorSpec("smb.shares", "smb", frozenset({"file_server"}), ("SHARES[",)),
)

BY_ID = {s.id: s for s in SPECS}
# The collectors that read the backup server's own view, by the ``via`` that selects each.
VBR_READS = {"rest.backup_server": "rest", "winrm.backup_server": "winrm"}
BY_SCRIPT = {s.script: s for s in SPECS if s.script}
