"""``smb.shares``: share and root-folder ACLs of the SMB3 shares that hold VM files.

For each share named in ``target.options["shares"]`` (plus ``ctx.extra["shares"][target.name]``):

* the share's security descriptor and local path, from SRVSVC ``NetrShareGetInfo`` level 502
  (impacket, over the ``\\srvsvc`` pipe);
* the DACL of the share's root folder (the "NTFS ACL"), by opening the root with READ_CONTROL and
  sending a query-info SECURITY request with smbprotocol; the raw descriptor is decoded by
  :mod:`offhost_audit.collectors.winsec` (smbprotocol's own parser rejects ACL revision 3, which smbcacls
  writes);
* the dialect smbprotocol negotiated;
* the file server's own ``hosts[]`` entry: its identity from the NTLM challenge and its local
  groups (alias membership over SAMR) for the logon SIDs and the proxies' SIDs the directory gave
  (``ctx.extra["account_sids"]``), see :mod:`offhost_audit.collectors.smb_identity`.

It never judges access: OHP-021 intersects the two ACLs over the proxy's SIDs. Per-share problems
(share missing, access denied) leave that share's ACL facts null and go to ``fragment["_errors"]``;
the runner copies them into the collection manifest. A :class:`CollectorError` is raised only when
nothing at all could be read.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..collector_specs import BY_ID
from ..errors import CollectorError, TargetUnreachableError
from ..names import norm_name
from .base import Context, Fragment, Target, with_meta
from .ldap_directory import LOGON_SIDS
from .smb_identity import local_groups, server_identity
from .winsec import WinsecError, dacl_facts

DIALECTS = {0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1"}
SECURITY_INFO = 0x7  # OWNER | GROUP | DACL
_RPC_ERRORS = {0x5: "access denied", 0x7B: "no such share", 0x906: "no such share"}


def split_user(username: str) -> tuple[str, str]:
    """``DOMAIN\\user`` -> (domain, user); ``user@realm`` and ``user`` -> ("", as given)."""
    if "\\" in username:
        dom, user = username.split("\\", 1)
        return dom, user
    return "", username


def share_names(target: Target, ctx: Context) -> list[str]:
    names: list[str] = []
    me = norm_name(target.name)
    extra = [
        n
        for server, found in ((ctx.extra or {}).get("shares") or {}).items()
        if norm_name(server) == me
        for n in sorted(found or [])
    ]
    for n in list((target.options or {}).get("shares", []) or []) + extra:
        n = str(n).strip().strip("\\").split("\\")[-1]
        if n and n.lower() not in {x.lower() for x in names}:
            names.append(n)
    return names


def _rpc_error(exc: Exception) -> str:
    code = getattr(exc, "error_code", None)
    if code is None and hasattr(exc, "get_error_code"):
        code = exc.get_error_code()
    if isinstance(code, int):
        return f"{_RPC_ERRORS.get(code, 'error')} (0x{code:x})"
    return f"{type(exc).__name__}: {exc}"


class _ShareInfoReader:
    """SRVSVC NetrShareGetInfo level 502 over one authenticated impacket session."""

    def __init__(self, target: Target, port: int) -> None:
        from impacket.dcerpc.v5 import srvs, transport
        from impacket.smbconnection import SMBConnection

        creds = target.credentials
        assert creds is not None  # checked by collect()
        dom, user = split_user(creds.username)
        self.conn = SMBConnection(target.address, target.address, sess_port=port, timeout=target.timeout_s)
        self.conn.login(user, creds.password, dom)
        rpc = transport.SMBTransport(target.address, port, r"\srvsvc", smb_connection=self.conn)
        self.dce = rpc.get_dce_rpc()
        self.dce.connect()
        self.dce.bind(srvs.MSRPC_UUID_SRVS)
        self._srvs = srvs

    def get(self, share: str) -> tuple[str | None, bytes | None]:
        resp = self._srvs.hNetrShareGetInfo(self.dce, share + "\x00", 502)
        info = resp["InfoStruct"]["ShareInfo502"]
        path = info["shi502_path"]
        path = str(path).rstrip("\x00") if path else None
        raw = b"".join(info["shi502_security_descriptor"]) if info["shi502_security_descriptor"] else None
        return path, raw

    def close(self) -> None:
        for fn in (self.dce.disconnect, self.conn.logoff, self.conn.close):
            try:
                fn()
            except Exception:  # noqa: BLE001 - best-effort cleanup of a finished session
                pass


class _RootAclReader:
    """smbprotocol session: tree connect, open the root folder, query its security descriptor."""

    def __init__(self, target: Target, port: int) -> None:
        from smbprotocol.connection import Connection
        from smbprotocol.session import Session

        self.server = target.address
        self.conn = Connection(uuid.uuid4(), target.address, port, require_signing=True)
        self.conn.connect(timeout=target.timeout_s)
        creds = target.credentials
        assert creds is not None  # checked by collect()
        self.session = Session(self.conn, creds.username, creds.password)
        self.session.connect()

    @property
    def dialect(self) -> str | None:
        return DIALECTS.get(int(self.conn.dialect)) if self.conn.dialect else None

    def get(self, share: str) -> bytes:
        from smbprotocol.file_info import InfoType
        from smbprotocol.open import (
            CreateDisposition,
            CreateOptions,
            FileAttributes,
            FilePipePrinterAccessMask,
            ImpersonationLevel,
            Open,
            ShareAccess,
            SMB2QueryInfoRequest,
            SMB2QueryInfoResponse,
        )
        from smbprotocol.tree import TreeConnect

        tree = TreeConnect(self.session, rf"\\{self.server}\{share}")
        tree.connect()
        try:
            root = Open(tree, "")
            root.create(
                ImpersonationLevel.Impersonation,
                FilePipePrinterAccessMask.READ_CONTROL | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES,
                FileAttributes.FILE_ATTRIBUTE_DIRECTORY,
                ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
                CreateDisposition.FILE_OPEN,
                CreateOptions.FILE_DIRECTORY_FILE,
            )
            try:
                req = SMB2QueryInfoRequest()
                req["info_type"] = InfoType.SMB2_0_INFO_SECURITY
                req["output_buffer_length"] = 65535
                req["additional_information"] = SECURITY_INFO
                req["file_id"] = root.file_id
                sent = self.conn.send(req, sid=self.session.session_id, tid=tree.tree_connect_id)
                resp = self.conn.receive(sent)
                info = SMB2QueryInfoResponse()
                info.unpack(resp["data"].get_value())
                return info["buffer"].get_value()
            finally:
                root.close()
        finally:
            tree.disconnect()

    def close(self) -> None:
        try:
            self.conn.disconnect(True)
        except Exception:  # noqa: BLE001
            pass


def _smb_error(exc: Exception) -> str:
    from smbprotocol import exceptions as sx

    if isinstance(exc, sx.BadNetworkName):
        return "no such share (STATUS_BAD_NETWORK_NAME)"
    if isinstance(exc, sx.AccessDenied):
        return "access denied (STATUS_ACCESS_DENIED)"
    if isinstance(exc, sx.SMBResponseException):
        return f"{exc.status:#x} {type(exc).__name__}"
    return f"{type(exc).__name__}: {exc}"


def _open_sessions(target: Target, port: int) -> tuple[_ShareInfoReader, _RootAclReader]:
    from impacket.smbconnection import SessionError
    from smbprotocol import exceptions as sx

    where = f"{target.name} ({target.address}:{port})"
    if target.credentials is None:
        raise CollectorError(f"{where}: no credentials given")
    user = target.credentials.username
    try:
        acl_reader = _RootAclReader(target, port)
    except (sx.LogonFailure, sx.WrongPassword, sx.SMBAuthenticationError) as exc:
        raise CollectorError(f"{where}: logon as {user} rejected (wrong user name or password)") from exc
    except (OSError, ValueError, sx.SMBException) as exc:
        if isinstance(exc, sx.SMBResponseException):
            raise CollectorError(f"{where}: SMB session setup as {user} failed: {_smb_error(exc)}") from exc
        raise TargetUnreachableError(f"{where}: cannot connect: {exc}") from exc
    try:
        info_reader = _ShareInfoReader(target, port)
    except (SessionError, OSError) as exc:
        acl_reader.close()
        raise CollectorError(f"{where}: impacket SMB session as {user} failed: {exc}") from exc
    except Exception as exc:
        acl_reader.close()
        raise CollectorError(f"{where}: cannot open the srvsvc pipe: {type(exc).__name__}: {exc}") from exc
    return info_reader, acl_reader


def collect(target: Target, ctx: Context) -> Fragment:
    port = target.port or 445
    names = share_names(target, ctx)
    if not names:
        raise CollectorError(f"{target.name}: no shares to read (options.shares is empty)")
    server = norm_name(target.name)
    info_reader, acl_reader = _open_sessions(target, port)
    shares: list[dict[str, Any]] = []
    errors: list[str] = []
    read_any = False
    try:
        dialect = acl_reader.dialect
        host = server_identity(info_reader.conn, server)
        try:
            sids = sorted({s.upper() for s in LOGON_SIDS + list((ctx.extra or {}).get("account_sids") or [])})
            host["local_groups"] = local_groups(info_reader.conn, target.address, port, sids)
        except CollectorError as exc:
            host["local_groups"] = None
            errors.append(f"{server}: local groups (alias membership) not read: {exc}")
        for name in names:
            unc = f"\\\\{server}\\{name}"
            fact: dict[str, Any] = {
                "unc": unc,
                "server": server,
                "name": name,
                "path": None,
                "dialect": dialect,
                "share_acl": None,
                "ntfs_acl": None,
            }
            try:
                fact["path"], sd = info_reader.get(name)
                if sd:
                    fact["share_acl"], notes = dacl_facts(sd)
                    errors += [f"{unc} share ACL: {n}" for n in notes]
                    read_any = True
                else:
                    errors.append(
                        f"{unc}: the server returned no share security descriptor "
                        "(reading it needs administrator rights on the server)"
                    )
            except WinsecError as exc:
                errors.append(f"{unc}: share security descriptor undecodable: {exc}")
            except Exception as exc:  # noqa: BLE001 - impacket DCERPCSessionError and transport errors
                errors.append(f"{unc}: cannot read the share ACL: {_rpc_error(exc)}")
            try:
                fact["ntfs_acl"], notes = dacl_facts(acl_reader.get(name))
                errors += [f"{unc} folder ACL: {n}" for n in notes]
                read_any = True
            except WinsecError as exc:
                errors.append(f"{unc}: root folder security descriptor undecodable: {exc}")
            except Exception as exc:  # noqa: BLE001 - smbprotocol response errors
                errors.append(f"{unc}: cannot read the root folder ACL: {_smb_error(exc)}")
            shares.append(fact)
    finally:
        info_reader.close()
        acl_reader.close()
    if not read_any:
        raise CollectorError(f"{target.name}: no share ACL could be read: " + "; ".join(errors))
    return with_meta({"shares": shares, "hosts": [host]}, errors=errors)


class SharesCollector:
    """The collector in the registry: its declaration and this module's :func:`collect`."""

    spec = BY_ID["smb.shares"]

    def collect(self, target: Target, ctx: Context) -> Fragment:
        return collect(target, ctx)
