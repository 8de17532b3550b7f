package offhost.general.hyperv_role_test

import rego.v1

import data.offhost.general.hyperv_role as rule

_input(features) := {
	"schema_version": 1,
	"hosts": [
		{"name": "proxy01.corp.example", "roles": ["proxy"], "features": features},
		{"name": "HV01", "roles": ["hyperv_host"], "features": {"hyperv": false}},
	],
}

_run(features) := f if {
	fs := rule.findings with input as _input(features)
	count(fs) == 1
	some f in fs
}

test_pass_when_role_installed if {
	f := _run({"hyperv": true, "dedup": false})
	f.status == "pass"
	f.rule_id == "OHP-004"
	f.severity == "high"
	f.subject == {"kind": "proxy", "name": "PROXY01", "proxy": "PROXY01"}
	f.evidence == [{"path": "hosts[PROXY01].features.hyperv", "value": true}]
}

test_fail_when_role_missing if {
	f := _run({"hyperv": false})
	f.status == "fail"
	f.severity == "high"
	contains(f.message, "not installed on PROXY01")
	f.evidence == [{"path": "hosts[PROXY01].features.hyperv", "value": false}]
}

test_unknown_when_feature_state_null if {
	f := _run({"hyperv": null})
	f.status == "unknown"
	f.missing == ["hosts[PROXY01].features.hyperv"]
}

test_unknown_when_features_not_collected if {
	f := _run(null)
	f.status == "unknown"
	f.missing == ["hosts[PROXY01].features.hyperv"]
}

test_one_finding_per_proxy if {
	inp := object.union(_input({"hyperv": true}), {"hosts": [
		{"name": "PROXY01", "roles": ["proxy"], "features": {"hyperv": true}},
		{"name": "PROXY02", "roles": ["proxy"]},
		{"name": "HV01", "roles": ["hyperv_host"]},
	]})
	fs := rule.findings with input as inp
	{[f.subject.name, f.status] | some f in fs} == {["PROXY01", "pass"], ["PROXY02", "unknown"]}
}
