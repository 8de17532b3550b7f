"""Windows security structures: SIDs, ACEs, ACLs, security descriptors (parsed), trust fields.

A small parser of our own (MS-DTYP 2.4.2 SID, 2.4.4 ACE, 2.4.5 ACL, 2.4.6 SECURITY_DESCRIPTOR,
self-relative form) so that any byte string either decodes or raises :class:`WinsecError`, never
another exception; the tests cross-check it against impacket's ``SR_SECURITY_DESCRIPTOR`` and
against what Samba's ``sharesec`` / ``samba-tool ntacl`` wrote.

Trust fields follow MS-ADTS 6.1.6.7 (trustDirection, trustType, trustAttributes). Note the
published S.DS.P PowerShell module maps USES_RC4_ENCRYPTION to 0x40 (that bit is
TREAT_AS_EXTERNAL); here it is 0x80 as in MS-ADTS and the Windows SDK constants.
https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dtyp/
https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-adts/
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


class WinsecError(ValueError):
    """Bytes or text that are not a valid SID / ACL / security descriptor."""


# --- SIDs --------------------------------------------------------------------------------------


def sid_from_bytes(data: bytes, offset: int = 0) -> tuple[str, int]:
    """Decode the binary SID at ``offset``; return (string form, length in bytes)."""
    if len(data) - offset < 8:
        raise WinsecError(f"SID at offset {offset} is truncated")
    revision, count = data[offset], data[offset + 1]
    if revision != 1:
        raise WinsecError(f"SID revision {revision} is not 1")
    if count > 15:
        raise WinsecError(f"SID has {count} sub-authorities (at most 15)")
    size = 8 + 4 * count
    if len(data) - offset < size:
        raise WinsecError(f"SID at offset {offset} is truncated")
    authority = int.from_bytes(data[offset + 2 : offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, offset + 8)
    auth_text = str(authority) if authority < 2**32 else f"0x{authority:012X}"
    return "S-1-" + auth_text + "".join(f"-{s}" for s in subs), size


def sid_to_str(data: bytes) -> str:
    """Binary SID (exactly one, nothing after it) to ``S-1-...``."""
    text, size = sid_from_bytes(bytes(data))
    if size != len(data):
        raise WinsecError(f"{len(data) - size} trailing bytes after the SID")
    return text


# --- ACEs / ACLs / security descriptors ---------------------------------------------------------

ACE_TYPES = {
    0x00: "allow",
    0x01: "deny",
    0x02: "audit",
    0x03: "alarm",
    0x05: "allow_object",
    0x06: "deny_object",
    0x07: "audit_object",
    0x08: "alarm_object",
    0x09: "allow_callback",
    0x0A: "deny_callback",
    0x0B: "allow_callback_object",
    0x0C: "deny_callback_object",
    0x0D: "audit_callback",
    0x0E: "alarm_callback",
    0x0F: "audit_callback_object",
    0x10: "alarm_callback_object",
    0x11: "mandatory_label",
    0x12: "resource_attribute",
    0x13: "scoped_policy_id",
}
_OBJECT_TYPES = {0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0F, 0x10}


@dataclass(frozen=True)
class Ace:
    type_code: int
    flags: int
    mask: int
    sid: str

    @property
    def kind(self) -> str:
        return ACE_TYPES.get(self.type_code, f"type_{self.type_code:#x}")

    def fact(self) -> dict:
        """The facts-schema form ``{sid, type, mask, flags}`` (allow/deny ACEs only)."""
        if self.type_code not in (0x00, 0x01):
            raise WinsecError(f"ACE type {self.kind} has no allow/deny fact form")
        return {
            "sid": self.sid,
            "type": "allow" if self.type_code == 0 else "deny",
            "mask": self.mask,
            "flags": self.flags,
        }


@dataclass(frozen=True)
class SecurityDescriptor:
    control: int
    owner: str | None
    group: str | None
    dacl: list[Ace] | None  # None: no DACL present (everyone has full access)
    sacl: list[Ace] | None


SE_DACL_PRESENT = 0x0004
SE_SACL_PRESENT = 0x0010
SE_SELF_RELATIVE = 0x8000


def parse_acl(data: bytes, offset: int = 0) -> list[Ace]:
    """Decode the ACL at ``offset`` into its ACEs, in order."""
    if len(data) - offset < 8:
        raise WinsecError(f"ACL at offset {offset} is truncated")
    revision, _sbz1, size, count, _sbz2 = struct.unpack_from("<BBHHH", data, offset)
    if revision not in (2, 3, 4):  # winnt.h ACL_REVISION2..4; smbcacls writes 3
        raise WinsecError(f"ACL revision {revision} is not 2, 3 or 4")
    if size < 8 or offset + size > len(data):
        raise WinsecError(f"ACL size {size} runs past the data")
    end = offset + size
    pos = offset + 8
    aces: list[Ace] = []
    for i in range(count):
        if end - pos < 4:
            raise WinsecError(f"ACE {i} header runs past the ACL")
        type_code, flags, ace_size = struct.unpack_from("<BBH", data, pos)
        if ace_size < 8 or pos + ace_size > end:
            raise WinsecError(f"ACE {i} size {ace_size} is invalid")
        body = data[pos : pos + ace_size]
        if type_code in (0x12,):  # resource attribute: SID then attribute blob, no access mask meaning
            mask = struct.unpack_from("<I", body, 4)[0]
            sid_off = 8
        elif type_code in ACE_TYPES:
            mask = struct.unpack_from("<I", body, 4)[0]
            sid_off = 8
            if type_code in _OBJECT_TYPES:
                if ace_size < 12:
                    raise WinsecError(f"object ACE {i} is truncated")
                obj_flags = struct.unpack_from("<I", body, 8)[0]
                sid_off = 12 + (16 if obj_flags & 1 else 0) + (16 if obj_flags & 2 else 0)
        else:
            raise WinsecError(f"ACE {i} has unknown type {type_code:#x}")
        sid, _n = sid_from_bytes(body, sid_off)
        aces.append(Ace(type_code, flags, mask, sid))
        pos += ace_size
    return aces


def parse_security_descriptor(data: bytes) -> SecurityDescriptor:
    """Decode a self-relative SECURITY_DESCRIPTOR."""
    data = bytes(data)
    if len(data) < 20:
        raise WinsecError(f"security descriptor is {len(data)} bytes (at least 20)")
    revision, _sbz1, control, o_owner, o_group, o_sacl, o_dacl = struct.unpack_from("<BBHIIII", data, 0)
    if revision != 1:
        raise WinsecError(f"security descriptor revision {revision} is not 1")
    if not control & SE_SELF_RELATIVE:
        raise WinsecError("security descriptor is not self-relative")

    def _sid(off: int) -> str | None:
        if off == 0:
            return None
        if off < 20:
            raise WinsecError(f"SID offset {off} overlaps the header")
        return sid_from_bytes(data, off)[0]

    def _acl(off: int, present: bool) -> list[Ace] | None:
        if not present:
            return None
        if off == 0:
            return None  # present flag with a NULL ACL: no DACL, same as absent
        if off < 20:
            raise WinsecError(f"ACL offset {off} overlaps the header")
        return parse_acl(data, off)

    return SecurityDescriptor(
        control=control,
        owner=_sid(o_owner),
        group=_sid(o_group),
        dacl=_acl(o_dacl, bool(control & SE_DACL_PRESENT)),
        sacl=_acl(o_sacl, bool(control & SE_SACL_PRESENT)),
    )


def dacl_facts(sd_bytes: bytes) -> tuple[list[dict] | None, list[str]]:
    """The DACL as fact ACEs, plus notes for ACEs that cannot be represented.

    Returns ``(None, notes)`` for a NULL DACL (no access restriction at all).
    Conditional (callback) deny ACEs are kept as deny: an audit must not assume the condition is
    false. Conditional allow ACEs and object ACEs are left out with a note.
    """
    sd = parse_security_descriptor(sd_bytes)
    notes: list[str] = []
    if sd.dacl is None:
        return None, ["the security descriptor has no DACL (NULL DACL grants everyone full access)"]
    out = []
    for ace in sd.dacl:
        if ace.type_code in (0x00, 0x01):
            out.append(ace.fact())
        elif ace.type_code == 0x0A:
            out.append({"sid": ace.sid, "type": "deny", "mask": ace.mask, "flags": ace.flags})
            notes.append(f"conditional deny ACE for {ace.sid} recorded as an unconditional deny")
        else:
            notes.append(f"{ace.kind} ACE for {ace.sid} (mask {ace.mask:#x}) left out: not an allow/deny ACE")
    return out, notes


# --- trusts (MS-ADTS 6.1.6.7.12 / .15 / .9) ------------------------------------------------------

TRUST_DIRECTIONS = {0: "disabled", 1: "inbound", 2: "outbound", 3: "bidirectional"}
TRUST_TYPES = {1: "downlevel", 2: "uplevel", 3: "mit", 4: "dce", 5: "aad"}
TRUST_ATTRIBUTES = {
    0x00000001: "NON_TRANSITIVE",
    0x00000002: "UPLEVEL_ONLY",
    0x00000004: "QUARANTINED_DOMAIN",  # SID filtering
    0x00000008: "FOREST_TRANSITIVE",
    0x00000010: "CROSS_ORGANIZATION",  # selective authentication
    0x00000020: "WITHIN_FOREST",
    0x00000040: "TREAT_AS_EXTERNAL",
    0x00000080: "USES_RC4_ENCRYPTION",
    0x00000200: "CROSS_ORGANIZATION_NO_TGT_DELEGATION",
    0x00000400: "PIM_TRUST",  # only seen in S.DS.P: unverified
    0x00000800: "CROSS_ORGANIZATION_ENABLE_TGT_DELEGATION",
    0x00001000: "DISABLE_AUTH_TARGET_VALIDATION",  # defined in MS-ADTS; name unverified
}


def trust_direction(value: int | None) -> str:
    if value is None or value not in TRUST_DIRECTIONS:
        raise WinsecError(f"unknown trustDirection {value!r}")
    return TRUST_DIRECTIONS[value]


def trust_type(value: int | None) -> str | None:
    if value is None:
        return None
    return TRUST_TYPES.get(value, "unknown")


def trust_attribute_flags(value: int | None) -> list[str] | None:
    """Named flags (the TRUST_ATTRIBUTE_* names without the prefix, as the OHP-022 rule and
    Microsoft write them), in bit order; unnamed bits as ``BIT_0x...``."""
    if value is None:
        return None
    value &= 0xFFFFFFFF
    names = [name for bit, name in TRUST_ATTRIBUTES.items() if value & bit]
    names += [f"BIT_{1 << i:#x}" for i in range(32) if value & (1 << i) and (1 << i) not in TRUST_ATTRIBUTES]
    return names
