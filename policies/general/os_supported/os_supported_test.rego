package offhost.general.os_supported_test

import rego.v1

import data.offhost.general.os_supported as rule

_os_2022 := {"build": 20348, "ubr": 2340, "caption": "Microsoft Windows Server 2022 Datacenter", "product_type": "server", "is_64bit": true}

_input(os, vbr_version) := {
	"schema_version": 1,
	"vbr": {"version": vbr_version},
	"hosts": [
		{"name": "proxy01.corp.example", "roles": ["proxy"], "os": os},
		{"name": "HV01", "roles": ["hyperv_host"], "os": _os_2022},
	],
}

_only(fs) := f if {
	count(fs) == 1
	some f in fs
}

_run(os, vbr_version) := f if {
	fs := rule.findings with input as _input(os, vbr_version)
	f := _only(fs)
}

test_pass_on_server_2022_under_vbr13 if {
	f := _run(_os_2022, "13.0.1.1071")
	f.status == "pass"
	f.rule_id == "OHP-001"
	f.severity == "high"
	f.subject == {"kind": "proxy", "name": "PROXY01", "proxy": "PROXY01"}
	contains(f.message, "build 20348 (Windows Server 2022)")
	contains(f.message, "VBR 13")
	{"path": "hosts[PROXY01].os.build", "value": 20348} in f.evidence
	{"path": "vbr.version", "value": "13.0.1.1071"} in f.evidence
}

test_only_proxies_are_judged if {
	fs := rule.findings with input as _input(_os_2022, "13.0")
	{f.subject.name | some f in fs} == {"PROXY01"}
}

test_caption_is_ignored_build_decides if {
	# A German caption saying "2012 R2" does not matter: the build says 2022.
	f := _run(object.union(_os_2022, {"caption": "Microsoft Windows Server 2012 R2 Standard (deutsch)"}), "13.0")
	f.status == "pass"
}

test_fail_on_2012r2_under_vbr13 if {
	f := _run(object.union(_os_2022, {"build": 9600}), "13.0.1.1071")
	f.status == "fail"
	f.severity == "high"
	startswith(f.message, "build 9600 (Windows Server 2012 R2), 64-bit, product type server: VBR 13 does not support this build")
	contains(f.message, "14393 (Windows Server 2016), 17763 (Windows Server 2019)")
}

test_2012r2_passes_under_vbr12 if {
	f := _run(object.union(_os_2022, {"build": 9600}), "12.3.1.1139")
	f.status == "pass"
	contains(f.message, "VBR 12")
}

test_fail_on_32bit_and_workstation_lists_every_problem if {
	f := _run(object.union(_os_2022, {"build": 19045, "is_64bit": false, "product_type": "workstation"}), "13.0")
	f.status == "fail"
	contains(f.message, "32-bit")
	contains(f.message, "client (workstation) edition")
	startswith(f.message, "build 19045 (not a known Windows Server LTSC build), 32-bit, product type workstation: ")
	contains(f.message, "does not support this build")
}

test_domain_controller_passes_with_a_warning if {
	f := _run(object.union(_os_2022, {"product_type": "domain_controller"}), "13.0")
	f.status == "pass"
	contains(f.message, "domain controller")
	contains(f.message, "advises against")
}

test_missing_vbr_version_assumes_default_major if {
	fs := rule.findings with input as object.remove(_input(_os_2022, "13.0"), ["vbr"])
	f := _only(fs)
	f.status == "pass"
	contains(f.message, "VBR 13 (assumed: vbr.version not collected)")
}

test_unknown_when_build_missing if {
	f := _run(object.remove(_os_2022, ["build"]), "13.0")
	f.status == "unknown"
	f.missing == ["hosts[PROXY01].os.build"]
	contains(f.message, "hosts[PROXY01].os.build")
}

test_unknown_names_every_missing_os_fact if {
	f := _run(null, "13.0")
	f.status == "unknown"
	f.missing == ["hosts[PROXY01].os.build", "hosts[PROXY01].os.is_64bit", "hosts[PROXY01].os.product_type"]
}

test_unknown_when_vbr_major_has_no_matrix_entry if {
	f := _run(_os_2022, "11.0.1.1261")
	f.status == "unknown"
	f.missing == ["vbr.version"]
}
