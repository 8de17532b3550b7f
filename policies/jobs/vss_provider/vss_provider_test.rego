package offhost.jobs.vss_provider_test

import rego.v1

import data.offhost.jobs.lib_test.by_name
import data.offhost.jobs.lib_test.estate
import data.offhost.jobs.lib_test.patched
import data.offhost.jobs.lib_test.statuses
import data.offhost.jobs.vss_provider as rule

test_hardware_provider_without_failover_passes_on_every_covered_host if {
	fs := rule.findings with input as estate
	statuses(fs) == {["HV01", "pass"], ["HV02", "pass"], ["HV03", "pass"]}
	by_name(fs).HV03.subject == {"kind": "host", "name": "HV03", "host": "HV03"}
}

test_software_provider_fails_medium if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/hyperv_hosts/2/vss_provider", "value": "software"}])
	f := by_name(fs).HV03
	[f.status, f.severity] == ["fail", "medium"]
	contains(f.message, "software VSS provider")
}

test_failover_to_software_fails_low_and_says_why if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/hyperv_hosts/0/failover_to_software", "value": true}])
	f := by_name(fs).HV01
	[f.status, f.severity] == ["fail", "low"]
	contains(f.message, "silently processes the host on-host")
}

test_settings_not_readable_are_unknown if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/vbr/hyperv_hosts/0/vss_provider", "value": null},
		{"op": "replace", "path": "/vbr/hyperv_hosts/1/failover_to_software", "value": null},
		{"op": "remove", "path": "/vbr/hyperv_hosts/2"},
	])
	by_name(fs).HV01.missing == ["vbr.hyperv_hosts[HV01].vss_provider"]
	by_name(fs).HV02.missing == ["vbr.hyperv_hosts[HV02].failover_to_software"]
	by_name(fs).HV03.missing == ["vbr.hyperv_hosts[HV03].vss_provider"]
	gs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/hyperv_hosts", "value": null}])
	statuses(gs) == {["HV01", "unknown"], ["HV02", "unknown"], ["HV03", "unknown"]}
}

test_a_host_no_off_host_job_covers_is_not_applicable if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/vbr/jobs/0/mode", "value": "on_host"},
		{"op": "replace", "path": "/vbr/hyperv_hosts/0/vss_provider", "value": "software"},
	])
	statuses(fs) == {["HV01", "not_applicable"], ["HV02", "not_applicable"], ["HV03", "pass"]}
}

test_a_job_whose_sources_were_not_read_leaves_no_host_not_applicable if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/vbr/jobs/0/mode", "value": "on_host"},
		{"op": "replace", "path": "/vbr/jobs/1/sources", "value": null},
	])
	statuses(fs) == {["HV01", "pass"], ["HV02", "pass"], ["HV03", "pass"]}
}

test_without_jobs_every_reported_host_is_judged if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/vbr/jobs", "value": null},
		{"op": "replace", "path": "/vbr/hyperv_hosts/1/vss_provider", "value": "software"},
	])
	statuses(fs) == {["HV01", "pass"], ["HV02", "fail"], ["HV03", "pass"]}
}
