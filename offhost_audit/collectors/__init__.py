"""The collector registry: ONE explicit tuple, stable ids, no registration on import.

Each collector is declared in :mod:`offhost_audit.collector_specs` (id, source, kinds, script, fact
areas) and implemented by one class here that names its declaration (``spec``) and parses. WinRM
collectors run on Windows hosts (proxies, Hyper-V hosts, the backup server); ``ldap.directory``
reads the domain controllers, ``rest.backup_server`` the backup server's REST API (VBR 13),
``smb.shares`` the file servers (phase two: its share list includes
shares found in VM disk paths: ``target.options["shares"]`` and ``ctx.extra["shares"] = {server: [...]}``);
their client libraries (ldap3, impacket, smbprotocol) are imported when they run.
"""

from __future__ import annotations

from offhost_audit.collectors.backup_server import BackupServerCollector, RestBackupServerCollector
from offhost_audit.collectors.base import Collector
from offhost_audit.collectors.host_cluster import ClusterCollector
from offhost_audit.collectors.host_hyperv import HyperVCollector
from offhost_audit.collectors.host_services import ServicesCollector
from offhost_audit.collectors.host_smb_client import SmbClientCollector
from offhost_audit.collectors.host_storage import StorageCollector
from offhost_audit.collectors.host_system import SystemCollector
from offhost_audit.collectors.host_vss import VssCollector
from offhost_audit.collectors.ldap_directory import DirectoryCollector
from offhost_audit.collectors.smb_shares import SharesCollector

WINRM_COLLECTORS: tuple[Collector, ...] = (
    SystemCollector(),
    StorageCollector(),
    ClusterCollector(),
    VssCollector(),
    HyperVCollector(),
    ServicesCollector(),
    SmbClientCollector(),
    BackupServerCollector(),
)

# The backup server's REST read runs just before its WinRM script (which it may make unneeded).
COLLECTORS: tuple[Collector, ...] = (
    *WINRM_COLLECTORS[:-1],
    RestBackupServerCollector(),
    WINRM_COLLECTORS[-1],
    DirectoryCollector(),
    SharesCollector(),
)


def registry() -> tuple[Collector, ...]:
    """Every collector, WinRM first."""
    return COLLECTORS
