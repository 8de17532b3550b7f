"""The collector registry: ONE explicit tuple, stable ids, no registration on import.

WinRM collectors run on Windows hosts (proxies, Hyper-V hosts, the backup server); ``ldap.directory``
reads the domain controllers, ``smb.shares`` the file servers (phase two: its share list includes
shares found in VM disk paths: ``target.options["shares"]`` and ``ctx.extra["shares"] = {server: [...]}``).
The LDAP and SMB collectors are imported lazily (a module that is itself the collector, or a class):
if their module is missing, the registry still works and the manifest says so.
"""

from __future__ import annotations

import importlib
import logging

from offhost_audit.collectors.backup_server import BackupServerCollector
from offhost_audit.collectors.base import Collector
from offhost_audit.collectors.host_cluster import ClusterCollector
from offhost_audit.collectors.host_hyperv import HyperVCollector
from offhost_audit.collectors.host_services import ServicesCollector
from offhost_audit.collectors.host_smb_client import SmbClientCollector
from offhost_audit.collectors.host_storage import StorageCollector
from offhost_audit.collectors.host_system import SystemCollector
from offhost_audit.collectors.host_vss import VssCollector

log = logging.getLogger(__name__)

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

# (id, module, class name): written by the directory/share engineer, imported on first use.
LAZY_COLLECTORS: tuple[tuple[str, str, str], ...] = (
    ("ldap.directory", "offhost_audit.collectors.ldap_directory", "LdapDirectoryCollector"),
    ("smb.shares", "offhost_audit.collectors.smb_shares", "SmbSharesCollector"),
)
LAZY_KINDS = {"ldap.directory": frozenset({"domain_controller"}), "smb.shares": frozenset({"file_server"})}


def _load(module: str, cls: str) -> Collector | None:
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        log.debug("collector module %s unavailable: %s", module, e)
        return None
    obj = getattr(mod, cls, None)
    if obj is None and callable(getattr(mod, "collect", None)) and getattr(mod, "id", None):
        return mod  # a module that is itself the collector (module-level id, source, kinds, collect)
    return obj() if isinstance(obj, type) else obj


def registry() -> tuple[Collector, ...]:
    """Every available collector, WinRM first."""
    extra = tuple(c for _, m, cls in LAZY_COLLECTORS if (c := _load(m, cls)) is not None)
    return WINRM_COLLECTORS + extra


def missing() -> list[str]:
    """Ids of registered collectors whose module is not installed (reported in the manifest)."""
    return [cid for cid, m, cls in LAZY_COLLECTORS if _load(m, cls) is None]
