package offhost.vm.no_vhd_set_test

import rego.v1

import data.offhost.vm.no_vhd_set as rule

estate := {
	"schema_version": 1,
	"assignments": [{"proxy": "PROXY01", "sources": [{"kind": "host", "name": "HV01"}]}],
	"hosts": [
		{"name": "PROXY01", "roles": ["proxy"]},
		{"name": "HV01", "roles": ["hyperv_host"]},
		{"name": "HV02", "roles": ["hyperv_host"]},
	],
	"vms": [
		{"name": "VM01", "host": "hv01.corp.example", "disks": [
			{"path": "\\\\FS01\\VMS\\VM01\\VM01.vhdx", "storage": "smb", "format": "vhdx"},
		]},
		{"name": "VM03", "host": "HV01", "disks": [
			{"path": "\\\\FS01\\VMS\\VM03\\VM03.vhdx", "storage": "smb", "format": "vhdx"},
			{"path": "\\\\FS01\\VMS\\Shared\\Data.vhds", "storage": "smb", "format": "vhds"},
		]},
		{"name": "VM09", "host": "HV02", "disks": [
			{"path": "D:\\VMs\\VM09\\Cluster.vhds", "storage": "local", "format": "vhds"},
		]},
	],
}

_statuses(fs) := {[f.subject.name, f.status] | some f in fs}

_finding(fs, name) := [f | some f in fs; f.subject.name == name][0]

test_vhd_set_fails_plain_disks_pass_unserved_not_applicable if {
	fs := rule.findings with input as estate
	_statuses(fs) == {["VM01", "pass"], ["VM03", "fail"], ["VM09", "not_applicable"]}
	_finding(fs, "VM01").subject == {"kind": "vm", "name": "VM01", "vm": "VM01", "host": "HV01"}
}

test_fail_names_the_vhds_disk if {
	f := _finding(rule.findings, "VM03") with input as estate
	f.severity == "high"
	contains(f.message, "\\\\FS01\\VMS\\Shared\\Data.vhds")
	f.evidence == [{"path": "vms[VM03].disks[1]", "value": estate.vms[1].disks[1]}]
}

test_upper_case_extension_without_format if {
	disk := {"path": "C:\\ClusterStorage\\Volume1\\Shared\\DATA.VHDS", "storage": "csv", "format": null}
	f := _finding(rule.findings, "VM01") with input as json.patch(estate, [
		{"op": "add", "path": "/vms/0/disks/-", "value": disk},
	])
	f.status == "fail"
	contains(f.message, "DATA.VHDS")
}

test_format_vhds_decides_even_with_other_extension if {
	disk := {"path": "\\\\FS01\\VMS\\VM01\\odd-name", "format": "vhds"}
	f := _finding(rule.findings, "VM01") with input as json.patch(estate, [
		{"op": "replace", "path": "/vms/0/disks", "value": [disk]},
	])
	f.status == "fail"
}

test_unknown_when_disks_not_collected if {
	fs := rule.findings with input as json.patch(estate, [
		{"op": "replace", "path": "/vms/0/disks", "value": null},
		{"op": "remove", "path": "/vms/1/disks"},
	])
	_statuses(fs) == {["VM01", "unknown"], ["VM03", "unknown"], ["VM09", "not_applicable"]}
	_finding(fs, "VM01").missing == ["vms[VM01].disks"]
}

test_every_host_served_without_assignments if {
	fs := rule.findings with input as json.patch(estate, [{"op": "remove", "path": "/assignments"}])
	_finding(fs, "VM09").status == "fail"
}

# vms null: one finding per Hyper-V host for all of its VMs, unknown when a proxy serves it.
test_vms_not_collected_is_unknown_per_served_host if {
	fs := rule.findings with input as json.patch(estate, [{"op": "replace", "path": "/vms", "value": null}])
	_statuses(fs) == {["HV01/*", "unknown"], ["HV02/*", "not_applicable"]}
	some f in fs
	f.subject == {"kind": "vm", "name": "HV01/*", "vm": "*", "host": "HV01"}
	f.missing == ["vms"]
	contains(f.message, "the VMs on HV01 were not collected")
}

# The Hyper-V collector failed on HV01 (its VMs are absent from the list): unknown for HV01's VMs.
test_failed_hyperv_collection_is_unknown_for_the_hosts_vms if {
	doc := json.patch(estate, [
		{"op": "replace", "path": "/vms", "value": [estate.vms[2]]},
		{"op": "add", "path": "/collection", "value": [
			{"target": "hv01.corp.example", "collector": "winrm.hyperv", "status": "error", "error": "HTTP 500"},
			{"target": "HV02", "collector": "winrm.hyperv", "status": "ok"},
		]},
	])
	fs := rule.findings with input as doc
	_statuses(fs) == {["HV01/*", "unknown"], ["VM09", "not_applicable"]}
	some f in fs
	f.missing == ["vms[host=HV01]"]
}
