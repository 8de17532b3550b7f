"""offhost_audit.collectors.winsec: round trips and fuzzing with hypothesis, cross-checked against impacket's
parser. (The check against Samba's own tools is in test_smb_shares.py: the collector's decoded ACE
lists equal `sharesec --view` and `samba-tool ntacl get`.)"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings, strategies as st
from sd_build import build_security_descriptor, sid_to_bytes

from offhost_audit.collectors import winsec
from offhost_audit.collectors.winsec import Ace, WinsecError

sid_parts = st.tuples(st.integers(0, 2**48 - 1), st.lists(st.integers(0, 2**32 - 1), max_size=15))


def _sid_text(parts) -> str:
    auth, subs = parts
    return "S-1-" + (str(auth) if auth < 2**32 else f"0x{auth:012X}") + "".join(f"-{s}" for s in subs)


sids = sid_parts.map(_sid_text)
aces = st.builds(
    Ace, type_code=st.sampled_from([0, 1]), flags=st.integers(0, 255), mask=st.integers(0, 2**32 - 1), sid=sids
)


@settings(deadline=None)  # no timing asserts: CI machines are slow
@given(sid_parts)
def test_sid_text_bytes_round_trip(parts):
    text = _sid_text(parts)
    raw = sid_to_bytes(text)
    assert len(raw) == 8 + 4 * len(parts[1])
    assert winsec.sid_to_str(raw) == text
    assert sid_to_bytes(winsec.sid_to_str(raw)) == raw


def test_known_sids():
    # bytes as Samba's LDAP server returned them for a domain SID and a well-known SID
    raw = bytes.fromhex("010400000000000515000000a385558c35876d32abc1a51b")
    assert winsec.sid_to_str(raw) == "S-1-5-21-2354415011-846038837-463847851"
    assert winsec.sid_to_str(bytes.fromhex("01010000000000050b000000")) == "S-1-5-11"
    assert sid_to_bytes("S-1-1-0") == bytes.fromhex("010100000000000100000000")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "S-1",
        "S-2-5-11",
        "S-1-5-x",
        "S-1-5-4294967296",
        "s-1-5-11 junk",
        "S-1-0x1000000000000-1",
        "S-1-5" + "-1" * 16,
    ],
)
def test_bad_sid_text_raises_typed_error(bad):
    with pytest.raises(WinsecError):
        sid_to_bytes(bad)


@settings(deadline=None)  # no timing asserts: CI machines are slow
@given(st.binary(max_size=80))
def test_random_sid_bytes_never_crash(data):
    try:
        winsec.sid_to_str(data)
    except WinsecError:
        pass


@settings(deadline=None)  # no timing asserts: CI machines are slow
@given(owner=st.none() | sids, group=st.none() | sids, dacl=st.none() | st.lists(aces, max_size=12))
def test_security_descriptor_round_trip(owner, group, dacl):
    raw = build_security_descriptor(owner, group, dacl)
    sd = winsec.parse_security_descriptor(raw)
    assert (sd.owner, sd.group, sd.dacl) == (owner, group, dacl)
    facts, notes = winsec.dacl_facts(raw)
    if dacl is None:
        assert facts is None and "NULL DACL" in notes[0]
    else:
        assert (facts, notes) == ([a.fact() for a in dacl], [])


@settings(max_examples=60, deadline=None)
@given(owner=sids, dacl=st.lists(aces, min_size=1, max_size=8))
def test_agrees_with_impacket(owner, dacl):
    from impacket.ldap.ldaptypes import SR_SECURITY_DESCRIPTOR

    raw = build_security_descriptor(owner, "S-1-5-32-544", dacl)
    theirs = SR_SECURITY_DESCRIPTOR(data=raw)
    assert theirs["OwnerSid"].getData() == sid_to_bytes(owner)
    got = [
        (a["AceType"], a["AceFlags"], a["Ace"]["Mask"]["Mask"], a["Ace"]["Sid"].getData()) for a in theirs["Dacl"].aces
    ]
    ours = [(a.type_code, a.flags, a.mask, sid_to_bytes(a.sid)) for a in winsec.parse_security_descriptor(raw).dacl]
    assert got == ours
    # impacket's formatCanonical prints only the low byte of the identifier authority: compare
    # the text form for authorities below 256 (all real-world SIDs: S-1-0..S-1-18)
    small = [a.sid for a in dacl if int(a.sid.split("-")[2], 0) < 256]
    assert small == [
        a["Ace"]["Sid"].formatCanonical()
        for a in theirs["Dacl"].aces
        if a["Ace"]["Sid"]["IdentifierAuthority"]["Value"][:5] == b"\0" * 5
    ]


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_winsec_error(data):
    try:
        winsec.parse_security_descriptor(data)
    except WinsecError:
        pass


@settings(max_examples=500, deadline=None)
@given(
    dacl=st.lists(aces, min_size=1, max_size=4),
    flips=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_corrupted_descriptors_raise_only_winsec_error(dacl, flips):
    raw = bytearray(build_security_descriptor("S-1-5-18", None, dacl))
    for pos, value in flips:
        raw[pos % len(raw)] = value
    try:
        winsec.dacl_facts(bytes(raw))
    except WinsecError:
        pass


def test_acl_revision_3_as_smbcacls_writes_it():
    raw = bytearray(build_security_descriptor(None, None, [Ace(0, 3, 0x1F01FF, "S-1-5-32-544")]))
    raw[20] = 3  # the DACL starts right after the 20-byte header
    assert winsec.dacl_facts(bytes(raw))[0] == [{"sid": "S-1-5-32-544", "type": "allow", "mask": 0x1F01FF, "flags": 3}]


def test_null_dacl_and_unrepresentable_aces_are_noted():
    facts, notes = winsec.dacl_facts(build_security_descriptor("S-1-5-18", None, None))
    assert facts is None and "NULL DACL" in notes[0]
    raw = build_security_descriptor(None, None, [Ace(0x0A, 0, 1, "S-1-1-0"), Ace(0x09, 0, 1, "S-1-5-11")])
    facts, notes = winsec.dacl_facts(raw)
    assert facts == [{"sid": "S-1-1-0", "type": "deny", "mask": 1, "flags": 0}]
    assert len(notes) == 2 and "allow_callback" in notes[1]


def test_object_ace_sid_is_found_after_the_guids():
    sid = sid_to_bytes("S-1-5-11")
    body = struct.pack("<I", 1) + b"\x11" * 16 + sid  # ACE_OBJECT_TYPE_PRESENT, one GUID
    ace = struct.pack("<BBHI", 0x05, 0, 8 + len(body), 0x100) + body
    acl = struct.pack("<BBHHH", 4, 0, 8 + len(ace), 1, 0) + ace
    assert winsec.parse_acl(acl) == [Ace(0x05, 0, 0x100, "S-1-5-11")]


def test_trust_decoding():
    assert winsec.trust_direction(1) == "inbound" and winsec.trust_direction(2) == "outbound"
    assert winsec.trust_type(2) == "uplevel" and winsec.trust_type(9) == "unknown" and winsec.trust_type(None) is None
    assert winsec.trust_attribute_flags(0x40) == ["TREAT_AS_EXTERNAL"]  # not RC4 (the S.DS.P bug)
    assert winsec.trust_attribute_flags(0x80) == ["USES_RC4_ENCRYPTION"]
    assert winsec.trust_attribute_flags(0x14) == ["QUARANTINED_DOMAIN", "CROSS_ORGANIZATION"]
    assert winsec.trust_attribute_flags(0x400008) == ["FOREST_TRANSITIVE", "BIT_0x400000"]
    assert winsec.trust_attribute_flags(-2147483640) == ["FOREST_TRANSITIVE", "BIT_0x80000000"]  # signed LDAP int
    with pytest.raises(WinsecError):
        winsec.trust_direction(7)
