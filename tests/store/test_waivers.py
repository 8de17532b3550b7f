"""Waivers: load with file:line:field errors, apply with expiry, unmatched, lint, append."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from offhost_audit.errors import InputError
from offhost_audit.store import waivers

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)

GOOD = """\
# accepted risks, reviewed monthly
max_lifetime_days: 400
waivers:
  - id: W-001
    rule_id: OHP-010
    subject: "PROXY01 -> HVCL0*"
    justification: cluster HVCL02 is being decommissioned
    owner: ops
    approved_by: ciso
    created: 2026-11-01
    expires: 2027-01-31
    ticket: CHG-42
  - id: W-002        # lapsed yesterday
    rule_id: OHP-011
    subject: "PROXY01 -> HVCL01/Cluster Disk 2"
    justification: old
    created: 2026-10-01
    expires: 2026-12-01
  - id: W-003
    rule_id: OHP-020
    subject: nothing-matches-this
    justification: stale
    created: 2026-10-01
    expires: 2027-03-01
"""


def _write(tmp_path, text, name="waivers.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_apply_waives_keeps_real_status_and_expired_fails_again(tmp_path, problems):
    _, found = problems
    wf = waivers.load(_write(tmp_path, GOOD))
    assert [w.id for w in wf.waivers] == ["W-001", "W-002", "W-003"]
    res = waivers.apply(found, wf, now=NOW)
    by_rule = {}
    for f in res.findings:
        by_rule.setdefault(f["rule_id"], []).append(f)
    waived = [f for f in by_rule["OHP-010"] if f["status"] == "waived"]
    assert waived and all(
        f["waiver"]["id"] == "W-001" and f["waiver"]["status"] == "fail" and f["waiver"]["state"] == "active"
        for f in waived
    )
    lapsed = [f for f in by_rule["OHP-011"] if f.get("waiver")]
    assert lapsed and lapsed[0]["status"] == "fail" and lapsed[0]["waiver"]["state"] == "expired"
    assert "W-002" in lapsed[0]["waiver"]["note"] and "expired" in lapsed[0]["waiver"]["note"]
    assert [w.id for w in res.expired] == ["W-002"]
    assert [w.id for w in res.unmatched] == ["W-003"]
    assert res.applied == {"W-001": len(waived)}
    assert not any(f.get("waiver") for f in found)  # the input is not changed


def test_date_means_midnight_utc(tmp_path, problems):
    _, found = problems
    wf = waivers.load(_write(tmp_path, GOOD))
    w2 = wf.waivers[1]
    assert w2.expires_at == datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
    assert not w2.expired(datetime(2026, 11, 30, 23, 59, 59, tzinfo=timezone.utc))
    assert w2.expired(datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc))


def test_unparseable_date_counts_as_expired_and_is_reported(tmp_path, problems):
    _, found = problems
    p = _write(tmp_path, GOOD.replace("expires: 2027-01-31", "expires: 2027-02-31"))
    wf = waivers.load(p)
    assert wf.waivers[0].expires_at is None
    assert any(f"{p}:11: waivers[0].expires: unparseable date" in x for x in wf.problems)
    res = waivers.apply(found, wf, now=NOW)
    assert not any(f["status"] == "waived" for f in res.findings)
    assert "W-001" in [w.id for w in res.expired]


def test_lifetime_cap(tmp_path):
    p = _write(tmp_path, GOOD.replace("max_lifetime_days: 400", "max_lifetime_days: 30"))
    wf = waivers.load(p)
    assert wf.waivers[0].expires_at == datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert any("max_lifetime_days=30" in x for x in wf.problems)


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (
            lambda t: t.replace("    justification: stale\n", ""),
            ":19: waivers[2].justification: required field missing",
        ),
        (lambda t: t.replace("ticket: CHG-42", "tikcet: CHG-42"), ":12: waivers[0].tikcet: unknown field"),
        (lambda t: t.replace("rule_id: OHP-020", "rule_id: 20"), ":20: waivers[2].rule_id: expected a rule id"),
        (
            lambda t: t.replace("id: W-003", "id: W-001"),
            ":19: waivers[2].id: duplicate waiver id 'W-001' (first at line 4)",
        ),
        (
            lambda t: t.replace("    owner: ops\n", "    statuses: [pass]\n"),
            ":8: waivers[0].statuses: expected a list of",
        ),
        (lambda t: t + "  - just a string\n", ":25: waivers[3]: expected a mapping"),
        (lambda t: "waivers: 5\n", ":1: waivers: expected a list"),
        (lambda t: "waivers: [\n", ":2: not valid YAML"),
    ],
)
def test_bad_entries_name_file_line_field(tmp_path, edit, where):
    p = _write(tmp_path, edit(GOOD))
    with pytest.raises(InputError) as e:
        waivers.load(p)
    assert f"{p}{where}" in str(e.value)
    assert e.value.exit_code == 2


def test_alias_bomb_is_refused(tmp_path):
    levels = ["&l0 [" + ",".join(["x"] * 10) + "]"]
    levels += [f"&l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 7)]
    p = _write(tmp_path, "max_lifetime_days: [" + ", ".join(levels) + "]\nwaivers: []\n")
    with pytest.raises(InputError, match="expands to more than .* values through YAML aliases"):
        waivers.load(p)  # 10^7 nodes if expanded: refused after a bounded walk


def test_deep_nesting_is_refused(tmp_path):
    p = _write(tmp_path, "waivers: " + "[" * 20000 + "]" * 20000 + "\n")
    with pytest.raises(InputError, match="nested more than"):
        waivers.load(p)


def test_lint(tmp_path):
    p = _write(tmp_path, GOOD.replace("expires: 2027-03-01", "expires: someday"))
    result = waivers.lint(p, now=NOW)
    texts = [x.text for x in result.problems]
    assert any(":18: waivers[1].expires: waiver W-002 expired 2026-12-01" in x for x in texts)
    assert any("waivers[2].expires: unparseable date 'someday'" in x for x in texts)
    assert result.exit_code == 1 and result.count == 3
    empty = waivers.lint(_write(tmp_path, "waivers: []\n", "empty.yaml"), now=NOW)
    assert empty.problems == [] and empty.exit_code == 0


def test_append_keeps_comments_and_validates(tmp_path):
    p = _write(tmp_path, GOOD)
    w = waivers.new_waiver(
        id="W-004",
        rule_id="OHP-012",
        subject="PROXY01 -> HVCL01/Cluster Disk 1",
        justification="vendor case 123 <script>",
        expires="2027-01-15",
        owner="me",
        created="2026-11-30",
    )
    waivers.append(p, w)
    text = p.read_text()
    assert text.startswith(GOOD)  # everything that was there, comments included
    wf = waivers.load(p)
    assert [x.id for x in wf.waivers] == ["W-001", "W-002", "W-003", "W-004"]
    assert wf.waivers[-1].justification == "vendor case 123 <script>"
    with pytest.raises(InputError, match="already exists"):
        waivers.append(p, w)


def test_append_creates_the_file(tmp_path):
    p = tmp_path / "new" / "waivers.yaml"
    waivers.append(
        p, waivers.new_waiver(id="W-1", rule_id="OHP-001", subject="*", justification="j", expires="2027-01-01")
    )
    assert [w.id for w in waivers.load(p).waivers] == ["W-1"]


def test_append_when_the_list_is_not_last(tmp_path):
    p = _write(
        tmp_path,
        "waivers:\n  - {id: A, rule_id: OHP-001, subject: x, justification: j, created: 2026-11-01,"
        " expires: 2027-01-01}\nmax_lifetime_days: 100\n",
    )
    waivers.append(
        p,
        waivers.new_waiver(
            id="B", rule_id="OHP-002", subject="y", justification="j", created="2026-11-01", expires="2027-01-01"
        ),
    )
    wf = waivers.load(p)
    assert [w.id for w in wf.waivers] == ["A", "B"] and wf.max_lifetime_days == 100


def test_an_active_waiver_wins_over_an_expired_one_for_the_same_finding(tmp_path, problems):
    _, found = problems
    text = GOOD.replace('subject: "PROXY01 -> HVCL01/Cluster Disk 2"', 'subject: "PROXY01 -> HVCL0*"').replace(
        "rule_id: OHP-011", "rule_id: OHP-010"
    )  # W-002 (expired) now matches what W-001 (active) matches
    text = text.replace(
        "  - id: W-001",
        "  - id: W-000\n    rule_id: OHP-010\n    subject: '*'\n"
        "    justification: old\n    created: 2019-12-01\n    expires: 2020-01-01\n  - id: W-001",
    )
    res = waivers.apply(found, waivers.loads(text, source="w.yaml"), now=NOW)
    hit = [f for f in res.findings if f["rule_id"] == "OHP-010" and f.get("waiver")]
    assert hit and all(f["status"] == "waived" and f["waiver"]["id"] == "W-001" for f in hit)


# --- every problem at once, bounded values, unsafe characters -----------------------------------------

BAD_MANY = """\
max_lifetime_days: 30
waivers:
  - id: W-1
    rule_id: OHP-10
    subject: a
    justification: j
    created: 2026-11-01
    expires: 2026-12-01
  - id: W-2
    rule_id: OHP-010
    subject: b
    justification: j
    expires: 2026-12-01
  - id: W-3
    rule_id: OHP-010
    subject: c
    justification: j
    created: 2026-11-01
    expires: 9999-12-31
  - id: W-4
    rule_id: OHP-010
    subject: d
    justification: j
    created: 2026-11-01
    expires: 2026-12-01
    scope: everything
"""


def test_load_names_every_invalid_entry_in_one_error(tmp_path):
    p = _write(tmp_path, BAD_MANY)
    with pytest.raises(InputError) as e:
        waivers.load(p)
    assert str(e.value).splitlines() == [
        f"{p}:4: waivers[0].rule_id: expected a rule id like OHP-010, not 'OHP-10'",
        f"{p}:9: waivers[1].created: required when the file sets max_lifetime_days (=30): the lifetime counts from it",
        f"{p}:19: waivers[2].expires: year 9999 is outside 2000-2199: give a real date",
        f"{p}:26: waivers[3].scope: expected broad, not 'everything'",
    ]
    assert e.value.exit_code == 2


def test_lint_lists_invalid_entries_and_date_problems_together(tmp_path):
    p = _write(
        tmp_path,
        BAD_MANY + "  - id: W-5\n    rule_id: OHP-010\n    subject: e\n    justification: j\n"
        "    created: 2026-01-01\n    expires: 2026-06-01\n",
    )
    result = waivers.lint(p, now=NOW)
    assert [(x.line, x.invalid) for x in result.problems] == [
        (4, True),
        (9, True),
        (19, True),
        (26, True),
        (32, False),
        (32, False),
    ]
    assert "more than max_lifetime_days=30 after created" in result.problems[4].text
    assert "waiver W-5 expired 2026-01-31" in result.problems[5].text
    assert result.exit_code == 2 and result.count == 1  # W-5 is the one valid waiver


@pytest.mark.parametrize(
    "expires", ["9999-12-31", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1999-12-31", "2200-01-01"]
)
def test_dates_outside_the_years_2000_to_2199_are_invalid(tmp_path, expires):
    p = _write(tmp_path, GOOD.replace("expires: 2027-01-31", f'expires: "{expires}"'))
    with pytest.raises(InputError, match=rf"^{p}:11: waivers\[0\].expires: year \d+ is outside 2000-2199"):
        waivers.load(p)


def test_created_outside_the_range_is_invalid(tmp_path):
    p = _write(tmp_path, GOOD.replace("created: 2026-11-01", "created: 0001-01-01"))
    with pytest.raises(InputError, match=rf"^{p}:10: waivers\[0\].created: year 1 is outside"):
        waivers.load(p)


@pytest.mark.parametrize("days", ["0", "-1", "3651", "99999999999999999999", "²", "1e3", "30.5", "[30]"])
def test_max_lifetime_days_is_a_whole_number_from_1_to_3650(tmp_path, days):
    p = _write(tmp_path, GOOD.replace("max_lifetime_days: 400", f"max_lifetime_days: {days}"))
    with pytest.raises(InputError, match=rf"^{p}:2: max_lifetime_days: expected a whole number of days from 1 to 3650"):
        waivers.load(p)


def test_max_lifetime_days_3650_is_accepted(tmp_path):
    assert (
        waivers.load(
            _write(tmp_path, GOOD.replace("max_lifetime_days: 400", "max_lifetime_days: 3650"))
        ).max_lifetime_days
        == 3650
    )


def test_a_configured_lifetime_caps_what_created_allows(tmp_path):
    text = (
        "max_lifetime_days: 30\nwaivers:\n  - {id: W, rule_id: OHP-010, subject: x, justification: j, "
        "created: 2026-11-01, expires: 2199-12-31}\n"
    )
    wf = waivers.loads(text, source="w.yaml")
    assert wf.waivers[0].expires_at == datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_without_a_configured_lifetime_created_stays_optional(tmp_path):
    wf = waivers.loads(
        "waivers:\n  - {id: W, rule_id: OHP-010, subject: x, justification: j, expires: 2027-01-01}\n", source="w.yaml"
    )
    assert wf.waivers[0].created is None and not wf.max_lifetime_set


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("id", r"W-\x1b[2J", "U+001B"),
        ("subject", r"PROXY01\u202e -> x", "U+202E"),
        ("owner", r"ops\x07", "U+0007"),
        ("ticket", r"CHG\n42", "U+000A"),
        ("justification", r"fine\x9b", "U+009B"),
    ],
)
def test_control_characters_in_a_field_are_refused_naming_it(tmp_path, field, value, code):
    entry = {
        "id": "W-1",
        "rule_id": "OHP-010",
        "subject": "x",
        "justification": "j",
        "expires": "2027-01-01",
        field: f'"{value}"',
    }  # a YAML escape: the file itself is plain text
    p = _write(
        tmp_path,
        "waivers:\n" + "".join(f"{'    ' if i else '  - '}{k}: {v}\n" for i, (k, v) in enumerate(entry.items())),
    )
    with pytest.raises(InputError) as e:
        waivers.load(p)
    assert f"waivers[0].{field}: contains the unprintable character {code}" in str(e.value)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", str(e.value))  # the message itself is clean


def test_a_justification_may_span_lines(tmp_path):
    p = _write(
        tmp_path,
        "waivers:\n  - id: W-1\n    rule_id: OHP-010\n    subject: x\n    justification: |\n"
        "      first line\n      second\tline\n    expires: 2027-01-01\n",
    )
    assert waivers.load(p).waivers[0].justification == "first line\nsecond\tline"


def test_a_lone_surrogate_is_a_clear_error_in_a_file_and_from_the_tui(tmp_path):
    p = _write(tmp_path, 'waivers:\n  - id: "W-\\ud800"\n')
    with pytest.raises(InputError, match=rf"^{p}:2: not valid YAML"):
        waivers.load(p)
    with pytest.raises(InputError, match=r"new waiver:\d+: not valid YAML"):
        waivers.new_waiver(id="W-1", rule_id="OHP-010", subject="x", justification="bad \ud800", expires="2027-01-01")
    with pytest.raises(InputError, match=r"^w.yaml:2: not valid YAML: lone surrogate U\+DC80"):
        waivers.loads("waivers:\n  - id: W-\udc80\n", source="w.yaml")


def test_rewriting_a_file_keeps_an_unset_lifetime_unset(tmp_path):
    p = _write(tmp_path, "{waivers: [{id: A, rule_id: OHP-001, subject: x, justification: j, expires: 2027-01-01}]}\n")
    waivers.append(
        p, waivers.new_waiver(id="B", rule_id="OHP-002", subject="y", justification="j", expires="2027-01-01")
    )
    wf = waivers.load(p)  # a flow-style list cannot be appended to: the file was rewritten whole
    assert [w.id for w in wf.waivers] == ["A", "B"] and not wf.max_lifetime_set


def test_a_run_with_many_stale_waivers_says_how_many_without_listing_each(tmp_path, capsys):
    from offhost_audit.cli import main

    entries = "".join(
        f"  - {{id: W-{i}, rule_id: OHP-010, subject: nobody-{i}, justification: j, expires: 2099-01-01}}\n"
        for i in range(30)
    )
    p = _write(tmp_path, "waivers:\n" + entries)
    facts = Path(__file__).resolve().parents[2] / "examples" / "facts" / "csv-cluster-problems.json"
    main(["evaluate", "-f", str(facts), "--no-history", "--waivers", str(p), "--format", "json"])
    err = capsys.readouterr().err.splitlines()
    assert len([line for line in err if line.endswith("matches no finding")]) == 20
    assert (
        "offhost-audit: warning: ... and 10 more waiver(s) matching no finding (the HTML report lists them all)" in err
    )


def test_an_unparseable_created_counts_as_expired_so_the_cap_cannot_be_dodged(tmp_path, problems):
    _, found = problems
    p = _write(tmp_path, GOOD.replace("created: 2026-11-01", "created: last week"))
    wf = waivers.load(p)
    assert wf.waivers[0].expires_at is None
    assert f"{p}:10: waivers[0].created: unparseable date 'last week': waiver W-001 counts as expired" in wf.problems
    assert "W-001" not in waivers.apply(found, wf, now=NOW).applied


@pytest.mark.parametrize(
    ("subject", "scope", "flagged"),
    [
        ("*", "", True),
        ("**", "", True),
        ("?*", "", True),
        ("[A-Z]*", "", True),
        ("[!x]?", "", True),
        ("PRX*", "", False),
        ("* -> HVCL01", "", False),
        ("[[]lab]*", "", False),
        ("exact name", "", False),
        ("*", "scope: broad", False),
    ],
)
def test_lint_flags_a_subject_without_a_literal_character_unless_scope_broad(tmp_path, subject, scope, flagged):
    p = _write(
        tmp_path,
        f"waivers:\n  - {{id: W, rule_id: OHP-010, subject: '{subject}', justification: j, "
        f"expires: 2099-01-01{', ' + scope if scope else ''}}}\n",
    )
    result = waivers.lint(p, now=NOW)
    assert [x.invalid for x in result.problems] == ([True] if flagged else [])
    if flagged:
        assert "matches any subject: name the subjects, or say `scope: broad`" in result.problems[0].text
