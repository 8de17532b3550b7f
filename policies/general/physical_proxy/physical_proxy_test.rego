package offhost.general.physical_proxy_test

import rego.v1

import data.offhost.general.physical_proxy as rule

_input(hardware, hyperv) := {
	"schema_version": 1,
	"hosts": [
		{"name": "PROXY01", "roles": ["proxy"], "hardware": hardware, "features": {"hyperv": hyperv}},
		{"name": "HV01", "roles": ["hyperv_host"], "hardware": {"manufacturer": "Microsoft Corporation", "model": "Virtual Machine"}},
	],
}

_dell := {"manufacturer": "Dell Inc.", "model": "PowerEdge R750", "is_virtual": null, "hypervisor_present": true}

_hyperv_vm := {"manufacturer": "Microsoft Corporation", "model": "Virtual Machine", "hypervisor_present": true}

_run(hardware, hyperv) := f if {
	fs := rule.findings with input as _input(hardware, hyperv)
	count(fs) == 1
	some f in fs
}

test_physical_hyperv_host_with_hypervisor_present_passes if {
	f := _run(_dell, true)
	f.status == "pass"
	f.rule_id == "OHP-003"
	f.subject.name == "PROXY01"
	contains(f.message, "physical machine")
	contains(f.message, "manufacturer 'Dell Inc.', model 'PowerEdge R750' matches no known virtual platform")
	{"path": "hosts[PROXY01].hardware.model", "value": "PowerEdge R750"} in f.evidence
}

test_physical_microsoft_surface_is_not_a_vm if {
	f := _run({"manufacturer": "Microsoft Corporation", "model": "Surface Pro 9"}, true)
	f.status == "pass"
}

test_hyperv_vm_with_role_fails_medium if {
	f := _run(_hyperv_vm, true)
	f.status == "fail"
	f.severity == "medium"
	contains(f.message, "matches Hyper-V")
	contains(f.message, "evaluation and tests only, not for production")
	{"path": "hosts[PROXY01].features.hyperv", "value": true} in f.evidence
}

test_vm_without_hyperv_fails_high_nested_virtualization if {
	f := _run({"manufacturer": "VMware, Inc.", "model": "VMware7,1"}, false)
	f.status == "fail"
	f.severity == "high"
	contains(f.message, "matches VMware")
	contains(f.message, "nested virtualization")
}

test_vm_with_hyperv_unknown_fails_medium_and_says_so if {
	f := _run(_hyperv_vm, null)
	f.status == "fail"
	f.severity == "medium"
	contains(f.message, "Hyper-V role is unknown")
}

test_vm_is_info_under_2026_profile if {
	fs := rule.findings with input as _input(_hyperv_vm, false) with data.offhost.options.profile as "veeam-2026-02"
	{[f.status, f.severity] | some f in fs} == {["fail", "info"]}
}

test_patterns_are_case_insensitive_and_cover_common_platforms if {
	cases := [
		[{"manufacturer": "QEMU", "model": "Standard PC (Q35 + ICH9, 2009)"}, "QEMU/KVM"],
		[{"manufacturer": "Xen", "model": "HVM domU"}, "Xen"],
		[{"manufacturer": "innotek GmbH", "model": "VIRTUALBOX"}, "VirtualBox"],
		[{"manufacturer": "Amazon EC2", "model": "m5.large"}, "Amazon EC2"],
		[{"manufacturer": "Google", "model": "Google Compute Engine"}, "Google Compute Engine"],
		[{"manufacturer": "Nutanix", "model": "AHV"}, "Nutanix AHV"],
		[{"manufacturer": "Parallels Software International Inc.", "model": "Parallels Virtual Platform"}, "Parallels"],
		[{"manufacturer": "Red Hat", "model": "KVM"}, "KVM"],
	]
	every c in cases {
		f := _run(c[0], true)
		f.status == "fail"
		contains(f.message, c[1])
	}
}

test_physical_nutanix_node_is_not_a_vm if {
	f := _run({"manufacturer": "Nutanix", "model": "NX-3060-G7"}, true)
	f.status == "pass"
}

test_is_virtual_override_wins_over_patterns if {
	f := _run(object.union(_hyperv_vm, {"is_virtual": false}), true)
	f.status == "pass"
	f.message == "PROXY01 is a physical machine (hardware.is_virtual is false, an explicit override)"
	f.evidence == [{"path": "hosts[PROXY01].hardware.is_virtual", "value": false}]
	g := _run(object.union(_dell, {"is_virtual": true}), false)
	g.status == "fail"
	g.severity == "high"
	contains(g.message, "hardware.is_virtual is true, an explicit override")
}

test_a_match_on_one_field_decides_when_the_other_is_missing if {
	f := _run({"manufacturer": "QEMU"}, true)
	f.status == "fail"
	contains(f.message, "model not collected")
}

test_unknown_when_model_missing_and_nothing_matches if {
	f := _run({"manufacturer": "Dell Inc.", "hypervisor_present": true}, true)
	f.status == "unknown"
	f.missing == ["hosts[PROXY01].hardware.is_virtual", "hosts[PROXY01].hardware.model"]
}

test_unknown_when_hardware_not_collected if {
	f := _run(null, true)
	f.status == "unknown"
	f.missing == ["hosts[PROXY01].hardware.is_virtual", "hosts[PROXY01].hardware.manufacturer", "hosts[PROXY01].hardware.model"]
}
