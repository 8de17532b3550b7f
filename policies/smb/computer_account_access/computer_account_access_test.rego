package offhost.smb.computer_account_access_test

import rego.v1

import data.offhost.smb.computer_account_access as rule
import data.offhost.smb.lib_test.corp
import data.offhost.smb.lib_test.estate
import data.offhost.smb.lib_test.no_share_case_holds
import data.offhost.smb.lib_test.no_share_cases
import data.offhost.smb.lib_test.patched

_vms := "PROXY01 -> \\\\FS01\\VMS"

_vms2 := "PROXY01 -> \\\\FS01\\VMS2"

_statuses(fs) := {[f.subject.name, f.status] | some f in fs}

_finding(fs, name) := [f | some f in fs; f.subject.name == name][0]

_paths(f) := {e.path | some e in f.evidence}

test_group_read_passes_and_ntfs_deny_fails if {
	fs := rule.findings with input as estate
	_statuses(fs) == {[_vms, "pass"], [_vms2, "fail"]}
}

test_read_through_group_on_both_levels if {
	f := _finding(rule.findings, _vms) with input as estate
	contains(f.message, "has effective read on \\\\FS01\\VMS")
	contains(f.message, "v9.5")
	"shares[\\\\FS01\\VMS].share_acl[2]" in _paths(f)
	"shares[\\\\FS01\\VMS].ntfs_acl[4]" in _paths(f)
}

test_share_allows_but_ntfs_denies if {
	f := _finding(rule.findings, _vms2) with input as estate
	f.status == "fail"
	f.severity == "high"
	contains(f.message, "share level: full control via allow S-1-1-0 (Everyone)")
	contains(f.message, "NTFS level: no read (mask 32), read removed by deny")
	{"path": "shares[\\\\FS01\\VMS2].ntfs_acl[0]", "value": estate.shares[1].ntfs_acl[0]} in f.evidence
}

test_ntfs_allows_but_share_denies if {
	deny := {"sid": sprintf("%s-1121", [corp]), "type": "deny", "mask": 2032127}
	fs := rule.findings with input as patched([
		{"op": "remove", "path": "/shares/1/ntfs_acl/0"},
		{"op": "add", "path": "/shares/1/share_acl/0", "value": deny},
	])
	f := _finding(fs, _vms2)
	f.status == "fail"
	contains(f.message, "share level: none, read removed by deny")
	contains(f.message, "NTFS level: read via allow S-1-5-11")
	"shares[\\\\FS01\\VMS2].share_acl[0]" in _paths(f)
}

test_read_through_authenticated_users_in_logon_sids if {
	facts := patched([{"op": "remove", "path": "/shares/1/ntfs_acl/0"}])
	f := _finding(rule.findings, _vms2) with input as facts
	f.status == "pass"
	contains(f.message, "allow S-1-5-11 (NT AUTHORITY\\Authenticated Users)")
	g := _finding(rule.findings, _vms2) with input as json.patch(facts, [
		{"op": "replace", "path": "/computer_accounts/0/logon_sids", "value": ["S-1-1-0"]},
	])
	g.status == "fail"
	contains(g.message, "no ACE gives the account or its groups read")
}

test_full_control_in_words if {
	full := {"sid": sprintf("%s-1105", [corp]), "type": "allow", "mask": 268435456, "flags": 3}
	f := _finding(rule.findings, _vms) with input as patched([
		{"op": "add", "path": "/shares/0/share_acl/-", "value": full},
		{"op": "add", "path": "/shares/0/ntfs_acl/-", "value": full},
	])
	f.status == "pass"
	contains(f.message, "has effective full control")
}

test_inherit_only_ace_does_not_grant_on_the_root if {
	f := _finding(rule.findings, _vms) with input as patched([
		{"op": "replace", "path": "/shares/0/ntfs_acl/4/flags", "value": 11},
	])
	f.status == "fail"
	contains(f.message, "NTFS level: none")
}

test_generic_read_ace_grants_read if {
	f := _finding(rule.findings, _vms) with input as patched([
		{"op": "replace", "path": "/shares/0/ntfs_acl/4/mask", "value": 2147483648},
	])
	f.status == "pass"
}

test_unknown_when_ntfs_acl_missing if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/shares/1/ntfs_acl", "value": null}])
	_statuses(fs) == {[_vms, "pass"], [_vms2, "unknown"]}
	_finding(fs, _vms2).missing == ["shares[\\\\FS01\\VMS2].ntfs_acl"]
}

test_unknown_when_token_groups_or_logon_sids_missing if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/computer_accounts/0/token_groups", "value": null},
		{"op": "remove", "path": "/computer_accounts/0/logon_sids"},
	])
	_statuses(fs) == {[_vms, "unknown"], [_vms2, "unknown"]}
	_finding(fs, _vms).missing == [
		"computer_accounts[PROXY01].token_groups",
		"computer_accounts[PROXY01].logon_sids",
	]
}

test_unknown_when_account_or_share_missing if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/computer_accounts/0/name", "value": "OTHER01"},
		{"op": "remove", "path": "/shares/1"},
	])
	_finding(fs, _vms).missing == ["computer_accounts[PROXY01]"]
	_finding(fs, _vms2).missing == ["shares[\\\\FS01\\VMS2]"]
}

test_account_name_with_dollar_and_lower_case if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/computer_accounts/0/name", "value": "proxy01$"},
	])
	_statuses(fs) == {[_vms, "pass"], [_vms2, "fail"]}
}

# --- A proxy that needs no SMB share: one finding with the proxy as subject ---------------
# (the cases are shared by the smb rules: policies/smb/lib/smb_estate_test.rego)

test_a_proxy_that_needs_no_share_gets_one_proxy_level_finding if {
	every c in no_share_cases {
		fs := rule.findings with input as c.input
		no_share_case_holds(c, fs, "OHP-021", "high")
	}
}

# Local groups of the file server (hosts[FS01].local_groups, read over SAMR).
_users_read := {"sid": "S-1-5-32-545", "type": "allow", "mask": 1179817, "flags": 3}

_users_only := patched([{"op": "replace", "path": "/shares/1/ntfs_acl", "value": [_users_read]}])

test_read_through_builtin_users_passes_with_the_group_in_the_evidence if {
	f := _finding(rule.findings, _vms2) with input as _users_only
	f.status == "pass"
	contains(f.message, "through local group BUILTIN\\Users of FS01, holding S-1-5-11")
	{"path": "hosts[FS01].local_groups.groups[0]", "value": _users_only.hosts[3].local_groups.groups[0]} in f.evidence
}

test_read_through_a_local_group_holding_the_proxys_domain_group if {
	local := {"sid": "S-1-5-21-9-9-9-1001", "name": "FS01\\VeeamReaders", "domain": "FS01", "members": [sprintf("%s-1120", [corp])]}
	facts := json.patch(_users_only, [
		{"op": "replace", "path": "/shares/1/ntfs_acl/0/sid", "value": local.sid},
		{"op": "add", "path": "/hosts/3/local_groups/groups/-", "value": local},
	])
	f := _finding(rule.findings, _vms2) with input as facts
	f.status == "pass"
	contains(f.message, "through local group FS01\\VeeamReaders of FS01")
	{"path": "hosts[FS01].local_groups.groups[1]", "value": local} in f.evidence
}

test_unknown_naming_local_groups_when_samr_was_denied if {
	f := _finding(rule.findings, _vms2) with input as json.patch(_users_only, [{"op": "replace", "path": "/hosts/3/local_groups", "value": null}])
	f.status == "unknown"
	f.missing == ["hosts[FS01].local_groups"]
}

test_unknown_when_local_groups_were_not_asked_about_the_accounts_sids if {
	f := _finding(rule.findings, _vms2) with input as json.patch(_users_only, [{"op": "replace", "path": "/hosts/3/local_groups/queried_sids", "value": ["S-1-5-11"]}])
	f.status == "unknown"
	f.missing == ["hosts[FS01].local_groups"]
}

# Without the file server's local groups (result.undecided): a verdict no group could change stands.
_no_groups := patched([{"op": "remove", "path": "/hosts/3/local_groups"}])

test_grant_without_deny_is_decided_without_local_groups if {
	f := _finding(rule.findings, _vms) with input as _no_groups
	f.status == "pass"
	contains(f.message, "the local groups of FS01 were not read (hosts[FS01].local_groups), but no group they could add changes this")
}

# VMS2's NTFS ACL denies read to HV-Deny (...-1121), a group in the account's tokenGroups: deny
# wins whatever local groups would add.
test_deny_on_a_sid_the_account_holds_decides_without_local_groups if {
	f := _finding(rule.findings, _vms2) with input as _no_groups
	f.status == "fail"
	f.missing == []
	contains(f.message, "read removed by deny S-1-5-21-1004336348-1177238915-682003330-1121")
	contains(f.message, "the local groups of FS01 were not read")
}

# A deny on a SID the account may hold only through an unread local group could refuse the grant.
test_grant_next_to_a_deny_a_local_group_could_bring_is_unknown if {
	deny := {"sid": "S-1-5-21-9-9-9-1001", "type": "deny", "mask": 1179785, "flags": 0}
	f := _finding(rule.findings, _vms) with input as json.patch(_no_groups, [{"op": "add", "path": "/shares/0/ntfs_acl/-", "value": deny}])
	f.status == "unknown"
	f.missing == ["hosts[FS01].local_groups"]
}

# A refusal for want of an allow is decided only when no unread local group could bring one.
test_refusal_an_allow_on_a_local_group_could_lift_is_unknown if {
	only_local := {"sid": "S-1-5-21-9-9-9-1001", "type": "allow", "mask": 1179817, "flags": 0}
	inp := json.patch(_no_groups, [{"op": "replace", "path": "/shares/0/ntfs_acl", "value": [only_local]}])
	f := _finding(rule.findings, _vms) with input as inp
	f.status == "unknown"
	inp2 := json.patch(_no_groups, [{"op": "replace", "path": "/shares/0/ntfs_acl", "value": []}])
	g := _finding(rule.findings, _vms) with input as inp2
	g.status == "fail"
}

# VMS2's NTFS level refuses read (a deny on a group the account holds): the share ACL, not
# collected, cannot change that.
test_a_refusing_level_decides_when_the_other_acl_is_missing if {
	f := _finding(rule.findings, _vms2) with input as patched([{"op": "replace", "path": "/shares/1/share_acl", "value": null}])
	f.status == "fail"
	f.missing == []
	contains(f.message, "NTFS level: no read (mask 32), read removed by deny S-1-5-21-1004336348-1177238915-682003330-1121")
	contains(f.message, "whatever shares[\\\\FS01\\VMS2].share_acl (not collected) would grant")
	some e in f.evidence
	e.path == "shares[\\\\FS01\\VMS2].ntfs_acl[0]"
}

