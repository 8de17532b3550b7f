"""vssadmin text: localized labels, stray characters."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from offhost_audit.collectors.textparsers import parse_vssadmin
from offhost_audit.lab.render import vssadmin_text

relaxed = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
TYPE_NAMES = {1: "system", 2: "software", 3: "hardware", 4: "unknown"}
provider_names = (
    st.text(
        alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters=" .-()"), min_size=1, max_size=40
    )
    .map(str.strip)
    .filter(bool)
)


@relaxed
@given(
    st.lists(
        st.tuples(
            st.uuids(), provider_names, st.integers(1, 4), st.from_regex(r"\d{1,2}(\.\d{1,4}){0,3}", fullmatch=True)
        ),
        unique_by=lambda t: t[0],
        max_size=5,
    ),
    st.sampled_from(["en", "de"]),
    st.sampled_from(["", "`", ">", " `"]),
)
def test_vssadmin_any_language_with_stray_characters(providers, lang, junk):
    plist = [{"id": str(u), "name": n, "type": t, "version": v} for u, n, t, v in providers]
    text = vssadmin_text(plist, lang).replace("\r\n   ", f"{junk}\r\n   ")
    out = parse_vssadmin(text)
    assert [(p["id"], p["name"], p["type"], p["version"]) for p in out] == [
        (str(u), n, TYPE_NAMES[t], v) for u, n, t, v in providers
    ]


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
        ("3f900f90-00e9-440e-873a-96ca5eb079e5", "software", "1.0.0.0"),
    ]


def test_vssadmin_unknown_language_keeps_ids_and_names():
    text = (
        "Nom du fournisseur : « Pure Storage VSS Hardware Provider »\n   Type : Matériel\n"
        "   Identificateur : {781c006a-5829-4a25-81e3-d5e43bd005ab}\n   Version : 6.2.0\n"
    )
    (p,) = parse_vssadmin(text)
    assert p["id"] == "781c006a-5829-4a25-81e3-d5e43bd005ab" and p["name"] == "Pure Storage VSS Hardware Provider"
    assert p["type"] == "hardware" and p["version"] == "6.2.0"
