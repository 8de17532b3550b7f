"""Property tests: PowerShell 5.1 JSON quirks (shapes, dates, noise, truncation, CLIXML, names)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings, strategies as st

from offhost_audit.collectors import psjson as pj
from offhost_audit.lab.render import pipeline, ps_json
from offhost_audit.lab.responder import encode_clixml

# a busy 2-CPU CI box must not fail on generation speed
relaxed = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
objects = st.dictionaries(
    st.sampled_from(["Name", "Status", "Path", "Size"]),
    st.one_of(st.integers(0, 2**53), st.text(max_size=20), st.booleans()),
    min_size=1,
)


@relaxed
@given(st.lists(objects, max_size=5))
def test_pipeline_shapes_come_back_as_the_same_list(items):
    text = ps_json(pipeline(items))
    assert pj.as_list(pj.loads(text)) == items
    if not items:
        assert text == "" and pj.loads(text) is None


@relaxed
@given(objects, st.sampled_from(["PS.Computer01", None]))
def test_cim_noise_is_stripped(obj, computer):
    noisy = {
        **obj,
        "CimClass": "ROOT/cimv2:Win32_Service",
        "CimInstanceProperties": "Name = x",
        "CimSystemProperties": "Microsoft.Management.Infrastructure.CimSystemProperties",
        "PSComputerName": computer,
    }
    assert pj.strip_noise(noisy) == obj and pj.obj([noisy]) == obj


@relaxed
@given(st.integers(-2_000_000_000_000, 8_000_000_000_000))
def test_ms_dates_in_both_wrappings(ms):
    expected = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)
    raw = json.loads(ps_json({"d": f"/Date({ms})/"}))["d"]
    assert pj.date(raw) == expected
    assert pj.date({"value": raw, "DisplayHint": 2, "DateTime": "Thursday, June 4, 2020"}) == expected


@relaxed
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)), st.integers(-720, 840))
def test_dmtf_dates(dt, offset):
    sign = "+" if offset >= 0 else "-"
    text = dt.strftime("%Y%m%d%H%M%S.%f") + f"{sign}{abs(offset):03d}"
    parsed = pj.date(text)
    assert parsed.replace(tzinfo=None) == dt and parsed.utcoffset() == timedelta(minutes=offset)


@relaxed
@given(st.text(max_size=30))
def test_dates_never_raise(text):
    pj.date(text)


def test_depth_truncation_is_not_an_object():
    truncated = "Microsoft.FailoverClusters.PowerShell.ClusterDiskPartitionInfo"
    assert pj.obj(truncated) is None


@relaxed
@given(st.sampled_from([1, 2, 4, 7, 99]), st.sampled_from(["Running", "running", "Stopped", "Paused", "Weird"]))
def test_enums_as_integers_or_names(n, name):
    mapping = {1: "stopped", 4: "running", 7: "paused"}
    assert pj.enum(n, mapping, default="unknown") == mapping.get(n, "unknown")
    assert pj.enum(name, mapping, default="unknown") == {
        "running": "running",
        "stopped": "stopped",
        "paused": "paused",
    }.get(name.lower(), "unknown")


@relaxed
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80).filter(str.strip))
def test_clixml_round_trip(message):
    assert pj.decode_clixml(encode_clixml(message)) == message.strip()


def test_clixml_ignores_progress_records():
    text = (
        '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN>'
        '<MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV></PR></MS></Obj>'
        '<S S="Error">Get-Disk : Access is denied._x000D__x000A_</S></Objs>'
    )
    assert pj.decode_clixml(text) == "Get-Disk : Access is denied."


def test_clixml_several_documents_warnings_and_a_cut():
    ns = 'xmlns="http://schemas.microsoft.com/powershell/2004/04"'
    text = (
        f'#< CLIXML\r\n<Objs Version="1.1.0.1" {ns}><S S="Warning">low disk_x000A_</S></Objs>'
        f'#< CLIXML\r\n<Objs Version="1.1.0.1" {ns}><S S="verbose">chatter</S><S S="Error">a &amp; b_x000A_</S>'
        '<S S="Error">cut he'
    )
    assert pj.decode_clixml(text) == "low disk\na & b"
    assert pj.decode_clixml("plain text\n") == "plain text"


@relaxed
@given(
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,14}", fullmatch=True),
    st.sampled_from(["", ".corp.example", ".A.B"]),
    st.sampled_from(["", "CORP\\"]),
    st.sampled_from(["", "$"]),
)
def test_netbios_normalisation(name, suffix, prefix, dollar):
    assert (
        pj.netbios(f"{prefix}{name}{suffix}{dollar}" if not suffix or not dollar else f"{prefix}{name}{dollar}")
        == name.upper()
    )


@relaxed
@given(st.uuids(), st.sampled_from(["{%s}", "%s", "  {%s}` "]), st.booleans())
def test_guid_normalisation(u, fmt, upper):
    s = fmt % (str(u).upper() if upper else str(u))
    assert pj.guid(s) == str(u)
