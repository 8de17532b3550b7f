package offhost.vm.disk_location_test

import rego.v1

import data.offhost.vm.disk_location as rule

estate := {
	"schema_version": 1,
	"hosts": [
		{"name": "PROXY01", "roles": ["proxy"]},
		{"name": "HV01", "roles": ["hyperv_host"]},
	],
	"vms": [
		{"name": "SQL01", "host": "HV01", "disks": [
			{"path": "C:\\ClusterStorage\\Volume1\\SQL01\\SQL01.vhdx", "storage": "csv", "format": "vhdx", "csv": "Cluster Disk 1"},
			{"path": "\\\\FS01\\VMS\\SQL01\\Logs.vhdx", "storage": "smb", "format": "vhdx", "share": "\\\\FS01\\VMS"},
		]},
		{"name": "WEB01", "host": "HV01", "disks": [
			{"path": "D:\\Hyper-V\\WEB01\\WEB01.vhdx", "storage": "local", "format": "vhdx"},
			{"path": "\\\\FS01\\VMS\\WEB01\\Data.vhdx", "storage": "smb", "format": "vhdx"},
		]},
	],
}

_statuses(fs) := {[f.subject.name, f.status] | some f in fs}

_finding(fs, name) := [f | some f in fs; f.subject.name == name][0]

test_shared_storage_passes_local_fails_as_info if {
	fs := rule.findings with input as estate
	_statuses(fs) == {["SQL01", "pass"], ["WEB01", "fail"]}
	every f in fs {
		f.severity == "info"
		f.rule_id == "OHP-031"
	}
}

test_pass_lists_every_disk if {
	f := _finding(rule.findings, "SQL01") with input as estate
	contains(f.message, "C:\\ClusterStorage\\Volume1\\SQL01\\SQL01.vhdx (csv)")
	contains(f.message, "\\\\FS01\\VMS\\SQL01\\Logs.vhdx (smb)")
	f.evidence[0] == {"path": "vms[SQL01].disks[0]", "value": {"path": estate.vms[0].disks[0].path, "location": "csv"}}
}

test_local_disk_falls_back_to_on_host if {
	f := _finding(rule.findings, "WEB01") with input as estate
	contains(f.message, "1 disk(s) on local storage")
	contains(f.message, "falls back to on-host mode")
	contains(f.message, "D:\\Hyper-V\\WEB01\\WEB01.vhdx (local)")
}

test_location_from_path_when_storage_missing if {
	rule.location({"path": "c:\\clusterstorage\\volume2\\a.vhdx", "storage": null}) == "csv"
	rule.location({"path": "\\\\fs01\\vms\\a.vhdx"}) == "smb"
	rule.location({"path": "E:\\VMs\\a.vhdx"}) == "local"
	rule.location({"path": "C:\\ClusterStorageX\\a.vhdx"}) == "local"
	rule.location({"path": "E:\\VMs\\a.vhdx", "storage": "smb"}) == "smb"
}

test_unknown_without_disks if {
	fs := rule.findings with input as json.patch(estate, [{"op": "replace", "path": "/vms/1/disks", "value": null}])
	_statuses(fs) == {["SQL01", "pass"], ["WEB01", "unknown"]}
	_finding(fs, "WEB01").missing == ["vms[WEB01].disks"]
}

test_not_applicable_without_virtual_disks if {
	fs := rule.findings with input as json.patch(estate, [{"op": "replace", "path": "/vms/1/disks", "value": []}])
	_finding(fs, "WEB01").status == "not_applicable"
}
