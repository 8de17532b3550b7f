package offhost.general.os_parity_test

import rego.v1

import data.offhost.general.os_parity as rule

_os(build, ubr) := {"build": build, "ubr": ubr, "product_type": "server", "is_64bit": true}

_host(name, roles, os) := {"name": name, "roles": roles, "os": os}

# PROXY01 serves cluster HVCL01 (HV01, HV02) and the standalone host HV03.
_input := {
	"schema_version": 1,
	"assignments": [{"proxy": "PROXY01", "sources": [{"kind": "cluster", "name": "hvcl01.corp.example"}, {"kind": "host", "name": "HV03"}]}],
	"hosts": [
		_host("PROXY01", ["proxy"], _os(20348, 2340)),
		_host("HV01", ["hyperv_host"], _os(20348, 2340)),
		_host("hv02.corp.example", ["hyperv_host"], _os(20348, 2113)),
		_host("HV03", ["hyperv_host"], _os(17763, 5458)),
		_host("HV09", ["hyperv_host"], _os(17763, 5458)),
	],
	"clusters": [{"name": "HVCL01", "nodes": ["HV01", "HV02"]}],
}

_by_host(fs) := {f.subject.host: f | some f in fs}

test_statuses_per_served_host if {
	fs := rule.findings with input as _input
	{[f.subject.name, f.status] | some f in fs} == {
		["PROXY01 -> HV01", "pass"],
		["PROXY01 -> HV02", "pass"],
		["PROXY01 -> HV03", "fail"],
	}
}

test_pass_same_build_same_ubr if {
	f := _by_host(rule.findings) with input as _input
	f.HV01.status == "pass"
	f.HV01.subject == {"kind": "proxy_host", "name": "PROXY01 -> HV01", "proxy": "PROXY01", "host": "HV01"}
	f.HV01.message == "proxy PROXY01 and host HV01 both run build 20348 (Windows Server 2022)"
	{"path": "hosts[HV01].os.build", "value": 20348} in f.HV01.evidence
}

test_pass_when_only_ubr_differs_says_so if {
	f := _by_host(rule.findings) with input as _input
	f.HV02.status == "pass"
	contains(f.HV02.message, "update revisions differ (proxy UBR 2340, host UBR 2113)")
}

test_fail_names_both_releases_high_by_default if {
	f := _by_host(rule.findings) with input as _input
	f.HV03.status == "fail"
	f.HV03.severity == "high"
	contains(f.HV03.message, "proxy PROXY01 runs build 20348 (Windows Server 2022)")
	contains(f.HV03.message, "host HV03 runs build 17763 (Windows Server 2019)")
}

test_fail_is_info_under_2026_profile if {
	f := _by_host(rule.findings) with input as _input
		with data.offhost.options.profile as "veeam-2026-02"
	f.HV03.status == "fail"
	f.HV03.severity == "info"
}

test_profile_from_facts_is_honoured if {
	f := _by_host(rule.findings) with input as object.union(_input, {"vbr": {"profile": "veeam-2026-02"}})
	f.HV03.severity == "info"
}

test_without_assignment_every_hyperv_host_is_compared if {
	fs := rule.findings with input as object.remove(_input, ["assignments"])
	{f.subject.host | some f in fs} == {"HV01", "HV02", "HV03", "HV09"}
}

test_unknown_release_named_by_build if {
	inp := json.patch(_input, [{"op": "replace", "path": "/hosts/3/os/build", "value": 25398}])
	f := _by_host(rule.findings) with input as inp
	contains(f.HV03.message, "build 25398 (unknown release)")
}

test_unknown_when_served_host_is_not_in_the_facts if {
	inp := json.patch(_input, [{"op": "replace", "path": "/assignments/0/sources/1/name", "value": "HV07"}])
	f := _by_host(rule.findings) with input as inp
	f.HV07.status == "unknown"
	f.HV07.missing == ["hosts[HV07]"]
}

test_unknown_when_host_build_missing if {
	inp := json.patch(_input, [{"op": "replace", "path": "/hosts/3/os", "value": null}])
	f := _by_host(rule.findings) with input as inp
	f.HV03.status == "unknown"
	f.HV03.missing == ["hosts[HV03].os.build"]
}

test_unknown_for_every_host_when_proxy_build_missing if {
	inp := json.patch(_input, [{"op": "remove", "path": "/hosts/0/os/build"}])
	fs := rule.findings with input as inp
	{[f.subject.host, f.status, concat(",", f.missing)] | some f in fs} == {
		["HV01", "unknown", "hosts[PROXY01].os.build"],
		["HV02", "unknown", "hosts[PROXY01].os.build"],
		["HV03", "unknown", "hosts[PROXY01].os.build"],
	}
}

test_not_applicable_when_proxy_serves_itself if {
	inp := json.patch(object.remove(_input, ["assignments"]), [{"op": "replace", "path": "/hosts/0/roles", "value": ["proxy", "hyperv_host"]}])
	f := _by_host(rule.findings) with input as inp
	f.PROXY01.status == "not_applicable"
	f.HV09.status == "fail"
}
