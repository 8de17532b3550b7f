"""The policy cache (engine/policy_cache.py): a warm entry gives exactly what computing gives; an
edited policy, a stale, truncated, corrupted or tampered entry and an unusable cache folder are
never a wrong answer (the values are computed again)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from offhost_audit import audit
from offhost_audit.engine import embedded, policy_cache
from offhost_audit.engine.metadata import read_metadata
from offhost_audit.store import waivers


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Each test starts with an empty cache folder of its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def _cache_files() -> list[Path]:
    return sorted(policy_cache.cache_dir().glob("regorus-*.json"))


def _truth(root: Path) -> tuple:
    """What the sources give without any cache: METADATA parsed, profiles queried."""
    c = embedded.compile_policies(root)
    derived = embedded._derive(root, c.engine, c.sources)
    assert derived[0] == read_metadata(c.sources)
    return derived


def _values(c: embedded.CompiledPolicies) -> tuple:
    return c.metadata, c.profiles, c.default_profile


def test_the_cache_folder_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert policy_cache.cache_dir() == tmp_path / "offhost-audit" / "policies"


def test_a_warm_entry_gives_what_computing_gives(mini_policies, monkeypatch):
    cold = embedded.compile_policies(mini_policies)
    [entry] = _cache_files()
    calls = []
    monkeypatch.setattr(embedded, "_derive", lambda *a: calls.append(a))  # a warm run computes nothing
    warm = embedded.compile_policies(mini_policies)
    assert calls == []
    assert _values(warm) == _values(cold)
    assert [list(m) for m in warm.metadata.values()] == [list(m) for m in cold.metadata.values()]  # field by field
    monkeypatch.undo()
    assert _values(warm) == _truth(mini_policies)
    assert entry.exists()


def test_the_shipped_policies_round_trip():
    cold = embedded.compile_policies()
    warm = embedded.compile_policies()
    assert _values(warm) == _values(cold) == _truth(embedded.policies_dir())
    assert len(warm.metadata) >= 15


def test_an_edited_policy_file_is_noticed(mini_policies):
    first = embedded.compile_policies(mini_policies)
    assert first.metadata["OHP-001"].title == "Demo - proxy OS build"
    rule = mini_policies / "general" / "demo" / "demo.rego"
    text = rule.read_text(encoding="utf-8")
    st = rule.stat()
    rule.write_text(text.replace("title: Demo - proxy OS build", "title: Demo - proxy OS buil0"), encoding="utf-8")
    os.utime(rule, ns=(st.st_atime_ns, st.st_mtime_ns))  # same time, and the same size: the content decides
    assert rule.stat().st_size == st.st_size
    edited = embedded.compile_policies(mini_policies)
    assert edited.metadata["OHP-001"].title == "Demo - proxy OS buil0"
    assert _values(edited) == _truth(mini_policies)


def test_a_new_policy_file_is_noticed(mini_policies, add_rule):
    embedded.compile_policies(mini_policies)
    source = (mini_policies / "general" / "demo" / "demo.rego").read_text(encoding="utf-8")
    add_rule(mini_policies, "general", "demo2", source.replace("OHP-001", "OHP-002").replace(".demo\n", ".demo2\n"))
    again = embedded.compile_policies(mini_policies)
    assert set(again.metadata) == {"OHP-001", "OHP-002"}


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b.replace(b"Demo - proxy OS build", b"Demo - proxy OS bui1d"),  # a changed byte: the digest
        lambda b: b"",  # empty
        lambda b: b"\x00\xff not json\n{}",  # garbage
        lambda b: b.split(b"\n", 1)[1],  # no header
    ],
    ids=["truncated", "changed", "empty", "garbage", "no-header"],
)
def test_a_damaged_entry_is_never_used(mini_policies, damage):
    embedded.compile_policies(mini_policies)
    [entry] = _cache_files()
    entry.write_bytes(damage(entry.read_bytes()))
    again = embedded.compile_policies(mini_policies)
    assert _values(again) == _truth(mini_policies)
    assert again.metadata["OHP-001"].title == "Demo - proxy OS build"
    assert json.loads(entry.read_text(encoding="utf-8").split("\n", 1)[0])["format"] == policy_cache.FORMAT


def test_a_consistent_but_stale_entry_is_never_used(mini_policies):
    """An entry with a valid digest written for other sources (another key) is ignored."""
    embedded.compile_policies(mini_policies)
    [entry] = _cache_files()
    header, body = entry.read_text(encoding="utf-8").split("\n", 1)
    body = body.replace("Demo - proxy OS build", "Stale title")
    head = json.loads(header)
    head["digest"] = hashlib.sha256(body.encode()).hexdigest()
    entry.write_text(json.dumps(head) + "\n" + body, encoding="utf-8")
    assert embedded.compile_policies(mini_policies).metadata["OHP-001"].title == "Stale title"  # the key matched
    head["key"] = "0" * 64  # what another set of sources would have
    entry.write_text(json.dumps(head) + "\n" + body, encoding="utf-8")
    assert embedded.compile_policies(mini_policies).metadata["OHP-001"].title == "Demo - proxy OS build"


def test_the_key_covers_content_engine_and_version(mini_policies, monkeypatch):
    sources = embedded.compile_policies(mini_policies).sources
    k = policy_cache.key(sources, "regorus:1:2")
    assert k == policy_cache.key(list(reversed(sources)), "regorus:1:2")  # the order read does not matter
    assert k != policy_cache.key(sources, "regorus:1:3")
    assert k != policy_cache.key(sources[1:], "regorus:1:2")
    moved = [s._replace(rel="x/" + s.rel) if i == 0 else s for i, s in enumerate(sources)]
    assert k != policy_cache.key(moved, "regorus:1:2")
    monkeypatch.setattr(policy_cache, "__version__", "9.9.9")
    assert k != policy_cache.key(sources, "regorus:1:2")


def test_an_unusable_cache_folder_is_no_cache(mini_policies, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setattr(policy_cache, "cache_dir", lambda: blocker / "offhost-audit" / "policies")
    assert _values(embedded.compile_policies(mini_policies)) == _truth(mini_policies)
    assert _values(embedded.compile_policies(mini_policies)) == _truth(mini_policies)


def test_values_that_json_would_change_are_not_cached(mini_policies):
    rule = mini_policies / "general" / "demo" / "demo.rego"
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("#     description: demo page", "#     description: 2026-01-01"), encoding="utf-8")
    c = embedded.compile_policies(mini_policies)
    when = c.metadata["OHP-001"].related[0]["description"]
    assert str(when) == "2026-01-01" and not isinstance(when, str)  # YAML made it a date
    assert _cache_files() == []
    assert embedded.compile_policies(mini_policies).metadata == c.metadata


def test_a_broken_metadata_block_is_an_error_every_time(mini_policies):
    from offhost_audit.errors import PolicyError

    rule = mini_policies / "general" / "demo" / "demo.rego"
    rule.write_text(rule.read_text(encoding="utf-8").replace("# title: Demo", "# title: [Demo"), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(PolicyError, match="METADATA block is not valid YAML"):
            embedded.compile_policies(mini_policies)
    assert _cache_files() == []


def test_the_file_names_come_from_the_working_directory_not_the_cache(mini_policies, tmp_path, monkeypatch):
    """RuleMeta.file is the source's display name (relative to the working directory)."""
    first = embedded.compile_policies(mini_policies)
    monkeypatch.chdir(mini_policies.parent)
    again = embedded.compile_policies(mini_policies)
    assert again.metadata["OHP-001"].file == "policies/general/demo/demo.rego"
    assert first.metadata["OHP-001"].file != again.metadata["OHP-001"].file
    assert _values(again) == _truth(mini_policies)


def test_no_waivers_summary_is_what_applying_no_waivers_gives():
    assert audit.no_waivers_summary() == waivers.apply([], None).summary(None)


# --- the cache is only a cache: what someone else could have written is never used -----------------


def _entry(mini_policies: Path) -> Path:
    """A warm entry for the mini policies, as this user wrote it."""
    embedded.compile_policies(mini_policies)
    [entry] = _cache_files()
    return entry


def _rewrite(entry: Path, edit) -> None:
    """Change the entry's values with a header that matches them (the right key, a fresh digest)."""
    header, body = entry.read_text(encoding="utf-8").split("\n", 1)
    doc = json.loads(body)
    edit(doc)
    body = json.dumps(doc)
    head = json.loads(header)
    head["digest"] = hashlib.sha256(body.encode()).hexdigest()
    entry.write_text(json.dumps(head) + "\n" + body, encoding="utf-8")


def _switch_default(doc: dict) -> None:
    doc["default_profile"] = "veeam-2026-02"  # a real profile: only who wrote the entry tells it apart


def _as_root() -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("chown to another user needs root: CI runs as root")
        pytest.skip("chown to another user needs root (CI runs as root)")


def test_the_cache_folder_is_created_private(mini_policies):
    embedded.compile_policies(mini_policies)
    assert policy_cache.cache_dir().stat().st_mode & 0o777 == 0o700
    assert _cache_files()[0].stat().st_mode & 0o777 == 0o600


def test_an_entry_of_this_user_that_no_one_else_can_write_is_used(mini_policies):
    """The control for the tests below: the same switched entry, kept private, is read."""
    entry = _entry(mini_policies)
    _rewrite(entry, _switch_default)
    assert embedded.compile_policies(mini_policies).default_profile == "veeam-2026-02"


@pytest.mark.parametrize(
    "exposure",
    [
        "entry-world-writable",
        "entry-group-writable",
        "folder-world-writable",
        "entry-owned-by-nobody",
        "folder-owned-by-nobody",
        "entry-a-symlink",
    ],
)
def test_an_entry_someone_else_could_have_written_is_ignored(mini_policies, tmp_path, exposure):
    import pwd

    entry = _entry(mini_policies)
    _rewrite(entry, _switch_default)
    nobody = pwd.getpwnam("nobody").pw_uid
    if exposure == "entry-world-writable":
        entry.chmod(0o666)
    elif exposure == "entry-group-writable":
        entry.chmod(0o620)
    elif exposure == "folder-world-writable":
        entry.parent.chmod(0o777)
    elif exposure == "entry-owned-by-nobody":
        _as_root()
        os.chown(entry, nobody, -1)
    elif exposure == "folder-owned-by-nobody":
        _as_root()
        os.chown(entry.parent, nobody, -1)
    else:  # a link to a file elsewhere (this user's, private): the name itself may have been swapped
        elsewhere = tmp_path / "planted.json"
        entry.rename(elsewhere)
        entry.symlink_to(elsewhere)
    planted = (tmp_path / "planted.json").read_bytes() if exposure == "entry-a-symlink" else None
    again = embedded.compile_policies(mini_policies)
    assert again.default_profile == "veeam-2025-08"
    assert _values(again) == _truth(mini_policies)
    if exposure.startswith("folder"):  # nothing is written into a folder others may write
        assert json.loads(entry.read_text(encoding="utf-8").split("\n", 1)[1])["default_profile"] == "veeam-2026-02"
    if exposure == "entry-a-symlink":  # the link was replaced by a new entry, not written through
        assert (tmp_path / "planted.json").read_bytes() == planted
        assert not entry.is_symlink()


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(default_profile="no-such-profile"),
        lambda d: d.update(profiles={}),
        lambda d: d["profiles"]["veeam-2025-08"]["severity"].update({"OHP-001": "catastrophic"}),
        lambda d: d["metadata"][0][1].update(severity="catastrophic"),
        lambda d: d["metadata"][0][1].update(doc_url="javascript:alert(document.domain)"),
        lambda d: d["metadata"][0][1].update(doc_url="https://example.invalid/\x1b]8;;evil\x07"),
        lambda d: d["metadata"][0][1]["related"].append({"ref": "data:text/html,<script>alert(1)</script>"}),
        lambda d: d["metadata"][0][1].update(related="not a list"),
    ],
    ids=[
        "default-not-a-profile",
        "no-profiles",
        "profile-severity",
        "rule-severity",
        "javascript-link",
        "control-in-link",
        "data-link",
        "related-not-a-list",
    ],
)
def test_a_tampered_entry_with_a_valid_header_is_never_used(mini_policies, edit):
    entry = _entry(mini_policies)
    _rewrite(entry, edit)
    again = embedded.compile_policies(mini_policies)
    assert _values(again) == _truth(mini_policies)
    assert again.metadata["OHP-001"].doc_url == "https://example.invalid/demo-doc"
    # and the entry was written again from the computed values
    assert json.loads(entry.read_text(encoding="utf-8").split("\n", 1)[1])["default_profile"] == "veeam-2025-08"


def test_a_fifo_in_place_of_the_entry_does_not_hold_the_run(mini_policies):
    import threading

    embedded.compile_policies(mini_policies)
    [entry] = _cache_files()
    entry.unlink()
    os.mkfifo(entry)
    done: list = []
    worker = threading.Thread(
        target=lambda: done.append(_values(embedded.compile_policies(mini_policies))), daemon=True
    )  # one engine per thread: compiled and used in the worker
    worker.start()
    worker.join(30)
    assert done, "compiling the policies hung on a FIFO in the cache folder"
    assert done[0] == _truth(mini_policies)


def test_an_entry_larger_than_the_limit_is_not_read(mini_policies, monkeypatch):
    entry = _entry(mini_policies)
    _rewrite(entry, _switch_default)
    monkeypatch.setattr(policy_cache, "MAX_ENTRY_BYTES", entry.stat().st_size - 1)
    assert embedded.compile_policies(mini_policies).default_profile == "veeam-2025-08"
