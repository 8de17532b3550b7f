"""vssadmin and nltest text: localized labels, stray characters, both Attr forms, the /trusted_domains alias."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from offhost_audit.collectors.textparsers import parse_nltest_trusts, parse_vssadmin
from offhost_audit.lab.render import vssadmin_text

relaxed = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
TYPE_NAMES = {1: "system", 2: "software", 3: "hardware", 4: "unknown"}
provider_names = st.text(alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters=" .-()"),
                         min_size=1, max_size=40).map(str.strip).filter(bool)


@relaxed
@given(st.lists(st.tuples(st.uuids(), provider_names, st.integers(1, 4), st.from_regex(r"\d{1,2}(\.\d{1,4}){0,3}", fullmatch=True)),
                unique_by=lambda t: t[0], max_size=5), st.sampled_from(["en", "de"]), st.sampled_from(["", "`", ">", " `"]))
def test_vssadmin_any_language_with_stray_characters(providers, lang, junk):
    plist = [{"id": str(u), "name": n, "type": t, "version": v} for u, n, t, v in providers]
    text = vssadmin_text(plist, lang).replace("\r\n   ", f"{junk}\r\n   ")
    out = parse_vssadmin(text)
    assert [(p["id"], p["name"], p["type"], p["version"]) for p in out] == [
        (str(u), n, TYPE_NAMES[t], v) for u, n, t, v in providers]


def test_vssadmin_real_paste_with_backticks():
    text = """vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool
(C) Copyright 2001-2013 Microsoft Corp.

Provider name: 'Microsoft Software Shadow Copy provider 1.0'
   Provider type: System`
   Provider Id: {b5946137-7b9f-4925-af80-51abd60b20d5}
   Version: 1.0.0.7>

Provider name: 'Hyper-V IC Software Shadow Copy Provider'
   Provider type: Software
   Provider Id: {3f900f90-00e9-440e-873a-96ca5eb079e5}
   Version: 1.0.0.0
"""
    out = parse_vssadmin(text)
    assert [(p["id"], p["type"], p["version"]) for p in out] == [
        ("b5946137-7b9f-4925-af80-51abd60b20d5", "system", "1.0.0.7"),
        ("3f900f90-00e9-440e-873a-96ca5eb079e5", "software", "1.0.0.0")]


def test_vssadmin_unknown_language_keeps_ids_and_names():
    text = "Nom du fournisseur : « Pure Storage VSS Hardware Provider »\n   Type : Matériel\n" \
           "   Identificateur : {781c006a-5829-4a25-81e3-d5e43bd005ab}\n   Version : 6.2.0\n"
    (p,) = parse_vssadmin(text)
    assert p["id"] == "781c006a-5829-4a25-81e3-d5e43bd005ab" and p["name"] == "Pure Storage VSS Hardware Provider"
    assert p["type"] == "hardware" and p["version"] == "6.2.0"


NLTEST = """List of domain trusts:
    0: CORP corp.example (NT 5) (Forest Tree Root) (Primary Domain) (Native)
       Dom Guid: 8d5f6a7e-1b2c-4d3e-9f00-112233445566
       Dom Sid: S-1-5-21-1004336348-1177238915-682003330
    1: CHILD child.corp.example (NT 5) (Forest: 0) (Direct Outbound) (Direct Inbound) ( Attr: withinforest )
    2: PARTNER partner.example (NT 5) (Direct Outbound) (Direct Inbound) ( Attr: foresttrans )
       Dom Sid: S-1-5-21-11-22-33
    3: OLD old.example (NT 5) (Direct Outbound) ( Attr: 0x8 )
    4: NT4DOM (NT 4) (Direct Inbound)
The command completed successfully
"""


def test_nltest_flags_and_both_attr_forms():
    t = {e["netbios"]: e for e in parse_nltest_trusts(NLTEST)}
    assert t["CORP"]["in_forest"] and "primary" in t["CORP"]["flags"] and t["CORP"]["domain_sid"].endswith("682003330")
    assert t["CORP"]["domain_guid"] == "8d5f6a7e-1b2c-4d3e-9f00-112233445566"
    assert t["CHILD"]["forest_index"] == 0 and t["CHILD"]["attributes"] == 0x20 and t["CHILD"]["direction"] == "bidirectional"
    assert t["PARTNER"]["attributes"] == 8 and t["PARTNER"]["attribute_flags"] == ["foresttrans"]
    assert t["OLD"]["attributes"] == 8 and t["OLD"]["attribute_flags"] == ["foresttrans"] and t["OLD"]["direction"] == "outbound"
    assert t["NT4DOM"]["dns_name"] is None and t["NT4DOM"]["direction"] == "inbound"


def test_nltest_trusted_domains_alias_and_failure():
    alias = NLTEST.replace("List of domain trusts:", "List of domain trusts:\r").replace("\n", "\r\n")
    assert [e["netbios"] for e in parse_nltest_trusts(alias)] == ["CORP", "CHILD", "PARTNER", "OLD", "NT4DOM"]
    assert parse_nltest_trusts("Getting domain trusts failed: Status = 1355 0x54b ERROR_NO_SUCH_DOMAIN") == []


@relaxed
@given(st.lists(st.tuples(st.from_regex(r"[A-Z][A-Z0-9]{1,12}", fullmatch=True), st.integers(0, 2047),
                          st.booleans(), st.booleans(), st.booleans()), max_size=6))
def test_nltest_generated(trusts):
    lines = ["List of domain trusts:"]
    for i, (name, attr, out, inb, hexform) in enumerate(trusts):
        flags = (" (Direct Outbound)" if out else "") + (" (Direct Inbound)" if inb else "")
        a = f" ( Attr: {attr:#x} )" if hexform else ""
        lines.append(f"    {i}: {name} {name.lower()}.example (NT 5){flags}{a}")
    lines.append("The command completed successfully")
    out_ = parse_nltest_trusts("\n".join(lines))
    assert len(out_) == len(trusts)
    for e, (name, attr, out, inb, hexform) in zip(out_, trusts):
        assert e["netbios"] == name and e["dns_name"] == f"{name.lower()}.example"
        assert e["attributes"] == (attr if hexform else None)
        assert e["direction"] == ("bidirectional" if out and inb else "outbound" if out else "inbound" if inb else None)
