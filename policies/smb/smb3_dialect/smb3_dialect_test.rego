package offhost.smb.smb3_dialect_test

import rego.v1

import data.offhost.smb.lib_test.estate
import data.offhost.smb.lib_test.no_share_case_holds
import data.offhost.smb.lib_test.no_share_cases
import data.offhost.smb.lib_test.patched
import data.offhost.smb.smb3_dialect as rule

_hv1_vms := "HV01 -> \\\\FS01\\VMS"

_hv2_vms := "HV02 -> \\\\FS01\\VMS"

_hv2_vms2 := "HV02 -> \\\\FS01\\VMS2"

_statuses(fs) := {[f.subject.name, f.status] | some f in fs}

_finding(fs, name) := [f | some f in fs; f.subject.name == name][0]

test_smb311_on_every_host_share if {
	fs := rule.findings with input as estate
	_statuses(fs) == {[_hv1_vms, "pass"], [_hv2_vms, "pass"], [_hv2_vms2, "pass"]}
	every f in fs {
		f.subject.kind == "host_share"
	}
}

test_connection_matched_across_fqdn_and_case if {
	# HV02's connection is to fs01.res.example\vms
	f := _finding(rule.findings, _hv2_vms) with input as estate
	contains(f.message, "SMB 3.1.1 (from HV02's SMB connection)")
	f.evidence == [{"path": "hosts[HV02].smb_connections[0].dialect", "value": "3.1.1"}]
}

test_smb2_connection_fails if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/hosts/1/smb_connections/0/dialect", "value": "2.1"},
	])
	f := _finding(fs, _hv1_vms)
	f.status == "fail"
	f.severity == "high"
	contains(f.message, "over SMB 2.1")
}

test_fallback_to_share_dialect if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/hosts/1/smb_connections", "value": []},
		{"op": "replace", "path": "/shares/0/dialect", "value": "3.0.2"},
	])
	f := _finding(fs, _hv1_vms)
	f.status == "pass"
	contains(f.message, "the dialect the collector negotiated with the share")
	f.evidence == [{"path": "shares[\\\\FS01\\VMS].dialect", "value": "3.0.2"}]
}

test_fallback_share_dialect_smb1_fails if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/hosts/1/smb_connections", "value": null},
		{"op": "replace", "path": "/shares/0/dialect", "value": "1.0"},
	])
	_finding(fs, _hv1_vms).status == "fail"
}

test_unknown_without_any_dialect if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/hosts/1/smb_connections", "value": null},
		{"op": "replace", "path": "/shares/0/dialect", "value": null},
	])
	f := _finding(fs, _hv1_vms)
	f.status == "unknown"
	f.missing == ["hosts[HV01].smb_connections", "shares[\\\\FS01\\VMS].dialect"]
}

test_unknown_names_the_connection_and_missing_share if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/hosts/2/smb_connections", "value": []},
		{"op": "remove", "path": "/shares/1"},
	])
	f := _finding(fs, _hv2_vms2)
	f.status == "unknown"
	f.missing == ["hosts[HV02].smb_connections[\\\\FS01\\VMS2].dialect", "shares[\\\\FS01\\VMS2]"]
}

test_not_applicable_when_no_proxy_serves_the_host if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/assignments/0/sources", "value": [{"kind": "host", "name": "HV01"}]},
	])
	_statuses(fs) == {[_hv1_vms, "pass"], [_hv2_vms, "not_applicable"], [_hv2_vms2, "not_applicable"]}
}

# vms null: which shares a served host uses is not known: one unknown per served Hyper-V host.
test_unknown_per_served_host_without_vm_inventory if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/vms", "value": null}])
	count(fs) > 0
	every f in fs {
		f.status == "unknown"
		f.subject.share == "*"
		f.missing == ["vms"]
	}
}

test_dialect_spellings if {
	every d in ["3.0", "3.00", "3.0.2", "3.02", "3.1.1", "3.x", "SMB 3.1.1", "3"] {
		rule._is_smb3(d)
	}
	every d in ["2.0.2", "2.1", "1.0", "NT LM 0.12", "30", ""] {
		not rule._is_smb3(d)
	}
}

# --- A proxy that needs no SMB share: one finding with the proxy as subject ---------------
# (the cases are shared by the smb rules: policies/smb/lib/smb_estate_test.rego)

test_a_proxy_that_needs_no_share_gets_one_proxy_level_finding if {
	every c in no_share_cases {
		fs := rule.findings with input as c.input
		no_share_case_holds(c, fs, "OHP-023", "high")
	}
}
