package offhost.general.source_registered_test

import rego.v1

import data.offhost.general.source_registered as rule

# PROXY01 serves cluster HVCL01 and host HV03; PROXY02 has no assignment (serves every Hyper-V host).
_input := {
	"schema_version": 1,
	"vbr": {"managed_servers": [{"name": "hvcl01.corp.example", "type": "cluster"}, {"name": "HV03", "type": "host"}]},
	"assignments": [{"proxy": "PROXY01", "sources": [{"kind": "cluster", "name": "HVCL01"}, {"kind": "host", "name": "hv03.corp.example"}]}],
	"hosts": [
		{"name": "PROXY01", "roles": ["proxy"]},
		{"name": "PROXY02", "roles": ["proxy"]},
		{"name": "HV01", "roles": ["hyperv_host"], "cluster": {"member": true, "name": "HVCL01"}},
		{"name": "HV02", "roles": ["hyperv_host"], "cluster": null},
		{"name": "HV03", "roles": ["hyperv_host"], "cluster": {"member": false}},
		{"name": "HV04", "roles": ["hyperv_host"], "cluster": {"member": false, "name": null}},
	],
	"clusters": [{"name": "HVCL01", "nodes": ["HV01", "hv02.corp.example"]}],
}

_statuses(inp) := {[f.subject.name, f.status] | some f in fs} if {
	fs := rule.findings with input as inp
}

_by_name(inp) := {f.subject.name: f | some f in fs} if {
	fs := rule.findings with input as inp
}

test_statuses_for_assigned_and_unassigned_proxies if {
	_statuses(_input) == {
		["PROXY01 -> HVCL01", "pass"],
		["PROXY01 -> HV03", "pass"],
		["PROXY02 -> HV01", "pass"],
		["PROXY02 -> HV02", "pass"],
		["PROXY02 -> HV03", "pass"],
		["PROXY02 -> HV04", "fail"],
	}
}

test_cluster_source_uses_cluster_subject if {
	f := _by_name(_input)["PROXY01 -> HVCL01"]
	f.subject == {"kind": "proxy_cluster", "name": "PROXY01 -> HVCL01", "proxy": "PROXY01", "cluster": "HVCL01"}
	f.rule_id == "OHP-005"
	f.message == "cluster HVCL01 is registered on the backup server"
	f.evidence == [{"path": "vbr.managed_servers[HVCL01]", "value": [{"name": "hvcl01.corp.example", "type": "cluster"}]}]
}

test_large_backup_server_is_quoted_not_copied if {
	many := [{"name": sprintf("HVX%02d", [i]), "type": "host"} | some i in numbers.range(1, 25)]
	inp := json.patch(_input, [{"op": "replace", "path": "/vbr/managed_servers", "value": many}])
	f := _by_name(inp)["PROXY01 -> HVCL01"]
	f.status == "fail"
	contains(f.message, "... (25 in all)")
	ev := [e | some e in f.evidence; e.path == "vbr.managed_servers"][0]
	count(ev.value) == 11
	ev.value[10] == "... (25 in all)"
}

test_host_source_registered_by_name if {
	f := _by_name(_input)["PROXY01 -> HV03"]
	f.subject == {"kind": "proxy_host", "name": "PROXY01 -> HV03", "proxy": "PROXY01", "host": "HV03"}
	f.status == "pass"
}

test_host_registered_through_cluster_nodes_or_own_cluster_name if {
	fs := _by_name(_input)
	contains(fs["PROXY02 -> HV02"].message, "through its cluster HVCL01")
	{"path": "clusters[HVCL01].nodes", "value": "HVCL01"} in fs["PROXY02 -> HV02"].evidence
	inp := json.patch(_input, [{"op": "replace", "path": "/clusters", "value": null}])
	g := _by_name(inp)["PROXY02 -> HV01"]
	g.status == "pass"
	{"path": "hosts[HV01].cluster.name", "value": "HVCL01"} in g.evidence
}

test_fail_lists_registered_servers if {
	f := _by_name(_input)["PROXY02 -> HV04"]
	f.severity == "medium"
	f.message == "host HV04, served by proxy PROXY02, is not a managed server on the backup server (registered: HV03 (host), hvcl01.corp.example (cluster))"
}

test_fail_unregistered_cluster_and_its_nodes if {
	inp := json.patch(_input, [{"op": "replace", "path": "/vbr/managed_servers", "value": [{"name": "SCVMM01", "type": "scvmm"}]}])
	fs := _by_name(inp)
	fs["PROXY01 -> HVCL01"].status == "fail"
	contains(fs["PROXY01 -> HVCL01"].message, "cluster HVCL01, served by proxy PROXY01, is not a managed server")
	contains(fs["PROXY01 -> HVCL01"].message, "SCVMM server(s) SCVMM01 are registered")
	fs["PROXY02 -> HV01"].status == "fail"
	contains(fs["PROXY02 -> HV01"].message, "nor is its cluster HVCL01")
	contains(fs["PROXY02 -> HV01"].message, "SCVMM server(s) SCVMM01 are registered")
}

test_fail_with_empty_managed_server_list if {
	inp := json.patch(_input, [{"op": "replace", "path": "/vbr/managed_servers", "value": []}])
	f := _by_name(inp)["PROXY01 -> HV03"]
	f.status == "fail"
	contains(f.message, "(registered: none)")
}

test_unknown_when_backup_server_not_queried if {
	inp := json.patch(_input, [{"op": "replace", "path": "/vbr/managed_servers", "value": null}])
	every f in _by_name(inp) {
		f.status == "unknown"
		f.missing == ["vbr.managed_servers"]
		contains(f.message, "backup server was not queried")
	}
	count(_by_name(object.remove(_input, ["vbr"]))) == 6
	every f in _by_name(object.remove(_input, ["vbr"])) {
		f.status == "unknown"
	}
}

test_unknown_when_host_cluster_membership_not_collected if {
	inp := json.patch(_input, [
		{"op": "replace", "path": "/clusters", "value": []},
		{"op": "replace", "path": "/hosts/3/name", "value": "HV05"},
	])
	f := _by_name(inp)["PROXY02 -> HV05"]
	f.status == "unknown"
	f.missing == ["hosts[HV05].cluster"]
	contains(f.message, "cluster membership is unknown")
}

test_assigned_host_missing_from_hosts_without_registered_cluster_fails if {
	inp := json.patch(_input, [
		{"op": "replace", "path": "/assignments/0/sources/1/name", "value": "HV07"},
		{"op": "replace", "path": "/vbr/managed_servers/0/type", "value": "host"},
	])
	f := _by_name(inp)["PROXY01 -> HV07"]
	f.status == "fail"
}

test_host_registered_under_its_own_dns_host_name if {
	inp := json.patch(_input, [
		{"op": "add", "path": "/hosts/4/dns_host_name", "value": "hyperv-03.corp.example"},
		{"op": "replace", "path": "/vbr/managed_servers/1/name", "value": "hyperv-03.corp.example"},
	])
	_by_name(inp)["PROXY01 -> HV03"].status == "pass"
	_by_name(json.patch(_input, [{"op": "replace", "path": "/vbr/managed_servers/1/name", "value": "hyperv-03.corp.example"}]))["PROXY01 -> HV03"].status == "fail"
}
