# Tests of the helpers in offhost.smb.lib (test data: smb_estate_test.rego).
package offhost.smb.lib_test

import rego.v1

import data.offhost.smb.lib

test_unc_key_normalises_case_and_fqdn if {
	lib.unc_key("\\\\fs01.res.example\\vms\\VM01\\VM01.vhdx") == "\\\\FS01\\VMS"
	lib.unc_key("\\\\FS01\\Vms") == "\\\\FS01\\VMS"
	not lib.unc_key("\\\\FS01")
}

test_unc_server if lib.unc_server("\\\\FS01\\VMS") == "FS01"

test_generic_rights_are_mapped if {
	lib.map_generic(lib.generic_all) == 2032127
	lib.map_generic(lib.generic_read) == 1179785
	lib.map_generic(lib.generic_write) == 1179926
	lib.map_generic(lib.generic_execute) == 1179808
	# GENERIC_READ | GENERIC_EXECUTE plus a specific bit
	lib.map_generic(2684354560 + 2) == bits.or(bits.or(1179785, 1179808), 2)
	lib.map_generic(1179817) == 1179817
}

test_rights_in_words if {
	lib.rights_words(2032127) == "full control"
	lib.rights_words(1179817) == "read"
	lib.rights_words(0) == "none"
	lib.rights_words(32) == "no read (mask 32)"
}

test_deny_beats_allow if {
	acl := [
		{"sid": "S-1-5-11", "type": "allow", "mask": 2032127},
		{"sid": "S-1-5-21-1-2-3-500", "type": "deny", "mask": lib.generic_read},
	]
	level := lib.evaluate(acl, {"S-1-5-11", "S-1-5-21-1-2-3-500"})
	level.read == false
	level.granted == 2032127 - 1179785
	[x.index | some x in level.deciding] == [1]
}

test_deny_without_read_bits_keeps_read if {
	acl := [
		{"sid": "S-1-5-11", "type": "allow", "mask": 1179817},
		{"sid": "S-1-5-11", "type": "deny", "mask": 2}, # FILE_WRITE_DATA only
	]
	level := lib.evaluate(acl, {"S-1-5-11"})
	level.read == true
	[x.index | some x in level.deciding] == [0]
}

test_inherit_only_ace_is_skipped if {
	acl := [{"sid": "S-1-5-11", "type": "allow", "mask": 2032127, "flags": 11}]
	level := lib.evaluate(acl, {"S-1-5-11"})
	level.granted == 0
	level.deciding == []
}

test_sid_compare_is_case_insensitive if {
	level := lib.evaluate([{"sid": "s-1-5-11", "type": "allow", "mask": 1179817}], lib.sids({
		"sid": "S-1-5-21-1-2-3-1105", "token_groups": [], "logon_sids": ["S-1-5-11"],
	}))
	level.read == true
}

test_needed_shares_follow_served_hosts if {
	lib.needed_shares == {"PROXY01": {"\\\\FS01\\VMS", "\\\\FS01\\VMS2"}} with input as estate
	# PROXY01 serves only HV01: VM01 uses \\FS01\VMS (through the FQDN, lower case)
	lib.needed_shares == {"PROXY01": {"\\\\FS01\\VMS"}} with input as patched([
		{"op": "replace", "path": "/assignments/0/sources", "value": [{"kind": "host", "name": "hv01"}]},
	])
}

test_needed_shares_without_vm_inventory_are_all_shares if {
	lib.needed_shares == {"PROXY01": {"\\\\FS01\\VMS", "\\\\FS01\\VMS2"}} with input as patched([
		{"op": "replace", "path": "/vms", "value": null},
	])
}

test_disk_share_from_path_when_share_is_null if {
	lib.smb_disk_key({"path": "\\\\fs01\\vms\\a.vhdx", "storage": "smb", "share": null}) == "\\\\FS01\\VMS"
	lib.smb_disk_key({"path": "\\\\fs01\\vms\\a.vhdx"}) == "\\\\FS01\\VMS"
	not lib.smb_disk_key({"path": "C:\\ClusterStorage\\Volume1\\a.vhdx", "storage": "csv"})
}

test_account_matched_by_domain_when_names_collide if {
	other := {"name": "PROXY01", "domain": "res.example", "sid": "S-1-5-21-9-9-9-1105", "token_groups": [], "logon_sids": []}
	facts := patched([{"op": "add", "path": "/computer_accounts/0", "value": other}])
	lib.account("PROXY01").domain == "corp.example" with input as facts
	lib.account_missing("PROXY01") == [] with input as facts
}

test_account_missing_paths if {
	lib.account_missing("PROXY01") == ["computer_accounts[PROXY01]"] with input as patched([
		{"op": "replace", "path": "/computer_accounts", "value": null},
	])
	lib.account_missing("PROXY01") == ["computer_accounts[PROXY01].token_groups"] with input as patched([
		{"op": "replace", "path": "/computer_accounts/0/token_groups", "value": null},
	])
}

test_null_ace_flags_count_as_none if {
	level := lib.evaluate([{"sid": "S-1-5-11", "type": "allow", "mask": 1179817, "flags": null}], {"S-1-5-11"})
	level.read == true
}

test_vm_host_and_unc_server_matched_by_the_computers_own_names if {
	# HV02 calls itself HYPERV-B; FS01 answers as FILER01 (filer01.res.example) in the NTLM challenge
	inp := patched([
		{"op": "add", "path": "/hosts/2/computer_name", "value": "HYPERV-B"},
		{"op": "add", "path": "/hosts/3/dns_host_name", "value": "filer01.res.example"},
		{"op": "replace", "path": "/vms/1/host", "value": "hyperv-b.corp.example"},
		{"op": "replace", "path": "/vms/1/disks/0/share", "value": "\\\\filer01.res.example\\VMS2"},
	])
	lib.needed_shares == {"PROXY01": {"\\\\FS01\\VMS", "\\\\FS01\\VMS2"}} with input as inp
}
