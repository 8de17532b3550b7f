package offhost.smb.share_read_access_test

import rego.v1

import data.offhost.smb.lib_test.estate
import data.offhost.smb.lib_test.no_share_case_holds
import data.offhost.smb.lib_test.no_share_cases
import data.offhost.smb.lib_test.patched
import data.offhost.smb.share_read_access as rule

_vms := "PROXY01 -> \\\\FS01\\VMS"

_vms2 := "PROXY01 -> \\\\FS01\\VMS2"

_statuses(fs) := {[f.subject.name, f.status] | some f in fs}

_finding(fs, name) := [f | some f in fs; f.subject.name == name][0]

test_pass_for_every_needed_share if {
	fs := rule.findings with input as estate
	_statuses(fs) == {[_vms, "pass"], [_vms2, "pass"]}
	every f in fs {
		f.rule_id == "OHP-020"
		f.subject.kind == "proxy_share"
	}
}

test_read_through_group_in_token_groups if {
	f := _finding(rule.findings, _vms) with input as estate
	f.status == "pass"
	contains(f.message, "grant PROXY01$ read")
	contains(f.message, "HV-Backup-Readers")
	"shares[\\\\FS01\\VMS].share_acl[2]" in {e.path | some e in f.evidence}
}

test_fail_when_group_membership_is_gone if {
	fs := rule.findings with input as patched([{
		"op": "replace", "path": "/computer_accounts/0/token_groups",
		"value": ["S-1-5-21-1004336348-1177238915-682003330-515"],
	}])
	f := _finding(fs, _vms)
	f.status == "fail"
	f.severity == "high"
	contains(f.message, "effective share-level rights none")
	contains(f.message, "no ACE for the account or its groups")
}

test_read_through_everyone_in_logon_sids if {
	f := _finding(rule.findings, _vms2) with input as estate
	f.status == "pass"
	contains(f.message, "full control")
	contains(f.message, "S-1-1-0 (Everyone)")
}

test_fail_without_everyone_in_logon_sids if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/computer_accounts/0/logon_sids", "value": ["S-1-5-11", "S-1-5-2"]},
	])
	_statuses(fs) == {[_vms, "pass"], [_vms2, "fail"]}
}

test_deny_ace_beats_allow if {
	deny := {"sid": "S-1-5-2", "name": "NETWORK", "type": "deny", "mask": 2147483648, "flags": 0}
	fs := rule.findings with input as patched([{"op": "add", "path": "/shares/1/share_acl/-", "value": deny}])
	f := _finding(fs, _vms2)
	f.status == "fail"
	contains(f.message, "deny S-1-5-2 (NETWORK) mask 2147483648")
	{"path": "shares[\\\\FS01\\VMS2].share_acl[1]", "value": deny} in f.evidence
}

test_unknown_when_share_not_collected if {
	fs := rule.findings with input as patched([{"op": "remove", "path": "/shares/1"}])
	_statuses(fs) == {[_vms, "pass"], [_vms2, "unknown"]}
	_finding(fs, _vms2).missing == ["shares[\\\\FS01\\VMS2]"]
}

test_unknown_when_share_acl_and_token_groups_missing if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/shares/0/share_acl", "value": null},
		{"op": "replace", "path": "/computer_accounts/0/token_groups", "value": null},
	])
	f := _finding(fs, _vms)
	f.status == "unknown"
	f.missing == ["shares[\\\\FS01\\VMS].share_acl", "computer_accounts[PROXY01].token_groups"]
	_finding(fs, _vms2).status == "unknown"
}

test_unknown_when_account_missing if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/computer_accounts", "value": []}])
	_statuses(fs) == {[_vms, "unknown"], [_vms2, "unknown"]}
	_finding(fs, _vms).missing == ["computer_accounts[PROXY01]"]
}

test_only_shares_of_served_hosts if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/assignments/0/sources", "value": [{"kind": "host", "name": "HV01"}]},
	])
	_statuses(fs) == {[_vms, "pass"]}
}

test_all_shares_when_vm_inventory_missing if {
	fs := rule.findings with input as patched([{"op": "remove", "path": "/vms"}])
	_statuses(fs) == {[_vms, "pass"], [_vms2, "pass"]}
}

# Two accounts named PROXY01: the one in the proxy's domain (corp.example) decides, as in
# lib.account. (Before the lib's rules were referenced by full path, regorus's whole-package
# evaluation of the lib made this pair unknown.)
test_account_matched_by_domain_when_names_collide if {
	other := {
		"name": "PROXY01", "domain": "res.example", "sid": "S-1-5-21-9-9-9-1105",
		"token_groups": [], "logon_sids": [],
	}
	fs := rule.findings with input as patched([{"op": "add", "path": "/computer_accounts/0", "value": other}])
	_statuses(fs) == {[_vms, "pass"], [_vms2, "pass"]}
	f := _finding(fs, _vms)
	{"path": "computer_accounts[PROXY01].sid", "value": "S-1-5-21-1004336348-1177238915-682003330-1105"} in f.evidence
}

# --- A proxy that needs no SMB share: one finding with the proxy as subject ---------------
# (the cases are shared by the smb rules: policies/smb/lib/smb_estate_test.rego)

test_a_proxy_that_needs_no_share_gets_one_proxy_level_finding if {
	every c in no_share_cases {
		fs := rule.findings with input as c.input
		no_share_case_holds(c, fs, "OHP-020", "high")
	}
}

test_share_read_through_builtin_users if {
	users := {"sid": "S-1-5-32-545", "type": "allow", "mask": 1179817, "flags": 0}
	facts := patched([{"op": "replace", "path": "/shares/1/share_acl", "value": [users]}])
	f := [x | some x in rule.findings with input as facts; x.subject.name == "PROXY01 -> \\\\FS01\\VMS2"][0]
	f.status == "pass"
	contains(f.message, "through local group BUILTIN\\Users of FS01")
	g := [x | some x in rule.findings with input as json.patch(facts, [{"op": "replace", "path": "/hosts/3/local_groups", "value": null}]); x.subject.name == "PROXY01 -> \\\\FS01\\VMS2"][0]
	g.status == "unknown"
	g.missing == ["hosts[FS01].local_groups"]
}
