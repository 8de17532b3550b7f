package offhost.general.veeam_services_test

import rego.v1

import data.offhost.general.veeam_services as rule

_svc(name, status) := {"name": name, "display_name": "whatever the language says", "status": status, "start_type": "automatic"}

_all_running := [
	_svc("VeeamDeploySvc", "running"),
	_svc("VeeamTransportSvc", "running"),
	_svc("VeeamHvIntegrationSvc", "running"),
	_svc("VeeamFilesysVssSvc", "stopped"),
]

_input(services) := {
	"schema_version": 1,
	"vbr": {"proxies": [{"name": "proxy01.corp.example", "max_tasks": 4}]},
	"hosts": [
		{"name": "PROXY01", "roles": ["proxy"], "veeam_services": services},
		{"name": "HV01", "roles": ["hyperv_host"], "veeam_services": []},
	],
}

_run(inp) := f if {
	fs := rule.findings with input as inp
	count(fs) == 1
	some f in fs
}

test_pass_when_all_three_run if {
	f := _run(_input(_all_running))
	f.status == "pass"
	f.rule_id == "OHP-007"
	f.severity == "medium"
	f.subject.name == "PROXY01"
	f.evidence == [{"path": "hosts[PROXY01].veeam_services", "value": [
		{"name": "VeeamDeploySvc", "status": "running"},
		{"name": "VeeamTransportSvc", "status": "running"},
		{"name": "VeeamHvIntegrationSvc", "status": "running"},
	]}]
}

test_names_match_case_insensitively_and_old_installer_name_counts if {
	f := _run(_input([
		_svc("VEEAMDEPLOYMENTSERVICE", "running"),
		_svc("veeamtransportsvc", "running"),
		_svc("VeeamHVIntegrationSvc", "running"),
	]))
	f.status == "pass"
}

test_display_name_alone_does_not_count if {
	f := _run(_input([
		{"name": "SomethingElse", "display_name": "Veeam Installer Service", "status": "running"},
		_svc("VeeamTransportSvc", "running"),
		_svc("VeeamHvIntegrationSvc", "running"),
	]))
	f.status == "fail"
	f.message == "Veeam services on PROXY01: not installed: VeeamDeploySvc"
}

test_fail_names_missing_and_stopped_separately if {
	f := _run(_input([_svc("VeeamTransportSvc", "stopped"), _svc("VeeamDeploySvc", "running")]))
	f.status == "fail"
	f.message == "Veeam services on PROXY01: not installed: VeeamHvIntegrationSvc; installed but not running: VeeamTransportSvc (stopped)"
}

test_fail_when_none_installed if {
	f := _run(_input([]))
	f.status == "fail"
	contains(f.message, "not installed: VeeamDeploySvc, VeeamTransportSvc, VeeamHvIntegrationSvc")
	f.evidence == [{"path": "hosts[PROXY01].veeam_services", "value": []}]
}

test_unknown_when_services_not_collected if {
	f := _run(_input(null))
	f.status == "unknown"
	f.missing == ["hosts[PROXY01].veeam_services"]
	g := _run(object.union(_input(null), {"hosts": [{"name": "PROXY01", "roles": ["proxy"]}]}))
	g.status == "unknown"
}

test_not_applicable_before_role_assignment if {
	inp := object.union(_input([]), {"vbr": {"proxies": []}})
	f := _run(inp)
	f.status == "not_applicable"
	contains(f.message, "not assigned")
	g := _run(object.remove(_input([]), ["vbr"]))
	g.status == "not_applicable"
}

test_assignment_alone_makes_it_applicable if {
	inp := object.union(object.remove(_input([]), ["vbr"]), {"assignments": [{"proxy": "PROXY01", "sources": [{"kind": "host", "name": "HV01"}]}]})
	f := _run(inp)
	f.status == "fail"
}
