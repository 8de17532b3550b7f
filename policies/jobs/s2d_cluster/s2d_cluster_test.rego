package offhost.jobs.s2d_cluster_test

import rego.v1

import data.offhost.jobs.lib_test.by_name
import data.offhost.jobs.lib_test.estate
import data.offhost.jobs.lib_test.patched
import data.offhost.jobs.lib_test.statuses
import data.offhost.jobs.s2d_cluster as rule

test_a_cluster_without_s2d_passes if {
	fs := rule.findings with input as estate
	statuses(fs) == {["HVCL01", "pass"]}
	by_name(fs).HVCL01.subject == {"kind": "cluster", "name": "HVCL01", "cluster": "HVCL01"}
}

test_an_s2d_cluster_under_an_off_host_job_fails_medium if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/clusters/0/s2d_enabled", "value": true}])
	f := by_name(fs).HVCL01
	[f.status, f.severity] == ["fail", "medium"]
	contains(f.message, "job(s) Nightly process its VMs on the production hosts")
}

test_a_vm_on_a_node_brings_its_cluster_in if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/clusters/0/s2d_enabled", "value": true},
		{"op": "replace", "path": "/vbr/jobs/0/sources", "value": [{"kind": "vm", "name": "VM02", "host": "HV02"}]},
	])
	statuses(fs) == {["HVCL01", "fail"]}
}

test_s2d_not_collected_is_unknown if {
	fs := rule.findings with input as patched([{"op": "remove", "path": "/clusters/0/s2d_enabled"}])
	by_name(fs).HVCL01.missing == ["clusters[HVCL01].s2d_enabled"]
}

test_an_s2d_cluster_under_a_job_of_unread_mode_is_unknown if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/clusters/0/s2d_enabled", "value": true},
		{"op": "replace", "path": "/vbr/jobs/0/mode", "value": null},
	])
	by_name(fs).HVCL01.missing == ["vbr.jobs[Nightly].mode"]
}

test_a_cluster_no_off_host_job_covers_gets_no_finding if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/clusters/0/s2d_enabled", "value": true},
		{"op": "replace", "path": "/vbr/jobs/0/mode", "value": "on_host"},
	])
	count(fs) == 0
}
