"""What the SMB collector learns about the file server itself: its identity and its local groups.

* Identity (``hosts[FS]``): the NTLM challenge of the SMB session setup carries the server's
  NetBIOS computer name, NetBIOS domain, DNS domain and DNS host name (impacket:
  ``getServerName()``, ``getServerDomain()``, ``getServerDNSDomainName()``,
  ``getServerDNSHostName()``); no extra credentials or rights are needed. A server whose NetBIOS
  domain is empty or its own name (Windows answers with the computer name, Samba with nothing) and
  that gives no DNS domain is not in a domain (``part_of_domain: false``); its ``domain.name`` is
  then that name (the workgroup is not in the challenge).
* Local groups (``hosts[FS].local_groups``): a network logon of a proxy's computer account on this
  server also carries the server's aliases that hold one of the account's SIDs (BUILTIN\\Users
  holds Authenticated Users by default; an admin may add the proxy or its group to a local group).
  They are read over SAMR: ``SamrGetAliasMembership`` in the server's Builtin domain and in its
  account domain (the local SAM; on a domain controller, the domain's domain-local groups): one
  call for all the SIDs, then ``SamrGetMembersInAlias`` on each alias found, so that each alias
  lists which of the queried SIDs it holds. Alias membership is not
  transitive (an alias holds no alias), so one level is the whole answer. Servers that restrict
  remote SAM (Windows ``RestrictRemoteSAM``, the default for non-administrators since Windows
  Server 2016) deny it: the fact stays null and the rules say unknown where it matters.
"""

from __future__ import annotations

from typing import Any

from ..errors import CollectorError
from ..names import norm_name


def server_identity(conn: Any, name: str) -> dict[str, Any]:
    """hosts[] entry of the file server from an authenticated impacket SMBConnection."""

    def text(fn: str) -> str:
        try:
            return str(getattr(conn, fn)() or "").strip().rstrip("\x00")
        except Exception:  # noqa: BLE001 - an attribute the challenge did not carry
            return ""

    computer, nb_domain, dns_domain, dns_host = (
        text(f) for f in ("getServerName", "getServerDomain", "getServerDNSDomainName", "getServerDNSHostName")
    )
    member = bool(dns_domain) and bool(nb_domain) and nb_domain.upper() != norm_name(computer)
    domain = {
        "name": (dns_domain if member else (nb_domain or computer)).lower() or None,
        "netbios": nb_domain.upper() if member else None,
        "part_of_domain": member if computer else None,
        "source": "ntlm",
    }
    return {
        "name": name,
        "roles": ["file_server"],
        "computer_name": norm_name(computer) or None,
        "dns_host_name": dns_host.lower() if member and dns_host else None,
        "domain": domain if computer else None,
    }


def local_groups(conn: Any, address: str, port: int, sids: list[str]) -> dict[str, Any]:
    """The server's aliases holding any of ``sids`` (SAMR over the session's IPC$).

    Raises CollectorError (the caller records it; the fact stays null) when SAMR is not reachable
    or denied."""
    from impacket.dcerpc.v5 import samr, transport
    from impacket.dcerpc.v5.dtypes import RPC_SID

    try:
        dce = transport.SMBTransport(address, port, r"\samr", smb_connection=conn).get_dce_rpc()
        dce.connect()
        dce.bind(samr.MSRPC_UUID_SAMR)
    except Exception as exc:
        raise CollectorError(f"SAMR not available: {_reason(exc)}") from exc
    groups: list[dict[str, Any]] = []
    try:
        server = samr.hSamrConnect2(dce)["ServerHandle"]
        for entry in samr.hSamrEnumerateDomainsInSamServer(dce, server)["Buffer"]["Buffer"]:
            dom_name = str(entry["Name"])
            dom_sid = samr.hSamrLookupDomainInSamServer(dce, server, dom_name)["DomainId"]
            handle = samr.hSamrOpenDomain(dce, server, samr.DOMAIN_GET_ALIAS_MEMBERSHIP | samr.DOMAIN_LOOKUP, dom_sid)[
                "DomainHandle"
            ]
            prefix = dom_sid.formatCanonical()
            arr = samr.SAMPR_PSID_ARRAY()
            for sid in sids:
                info = samr.PSAMPR_SID_INFORMATION()
                info["SidPointer"] = RPC_SID()
                info["SidPointer"].fromCanonical(sid)
                arr["Sids"].append(info)
            arr["Count"] = len(sids)
            rids = sorted(
                {int(r["Data"]) for r in samr.hSamrGetAliasMembership(dce, handle, arr)["Membership"]["Element"]}
            )
            names = samr.hSamrLookupIdsInDomain(dce, handle, rids)["Names"]["Element"] if rids else []
            for rid, n in zip(rids, names):  # which of the SIDs each alias holds: one call per alias found
                alias = samr.hSamrOpenAlias(dce, handle, samr.ALIAS_LIST_MEMBERS, rid)["AliasHandle"]
                held = {
                    m["SidPointer"].formatCanonical().upper()
                    for m in samr.hSamrGetMembersInAlias(dce, alias)["Members"]["Sids"]
                }
                samr.hSamrCloseHandle(dce, alias)
                groups.append(
                    {
                        "sid": f"{prefix}-{rid}",
                        "name": f"{dom_name}\\{n['Data']}",
                        "domain": dom_name,
                        "members": sorted(s for s in sids if s.upper() in held),
                    }
                )
            samr.hSamrCloseHandle(dce, handle)
    except Exception as exc:
        raise CollectorError(f"SAMR alias membership not readable: {_reason(exc)}") from exc
    finally:
        try:
            dce.disconnect()
        except Exception:  # noqa: BLE001
            pass
    return {"source": "samr", "queried_sids": sorted(set(sids)), "groups": sorted(groups, key=lambda g: g["sid"])}


def _reason(exc: Exception) -> str:
    code = getattr(exc, "error_code", None)
    for getter in ("get_error_code", "getErrorCode"):  # DCERPCSessionError, smbconnection.SessionError
        if code is None and hasattr(exc, getter):
            try:
                code = getattr(exc, getter)()
            except Exception:  # noqa: BLE001
                code = None
    if code in (0x5, 0xC0000022):
        return f"access denied (0x{code:x})"
    if code == 0xC0000034:
        return "no \\samr pipe on the server (STATUS_OBJECT_NAME_NOT_FOUND)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
