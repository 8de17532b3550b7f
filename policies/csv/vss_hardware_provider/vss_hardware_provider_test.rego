package offhost.csv.vss_hardware_provider_test

import rego.v1

import data.offhost.csv.vss_hardware_provider as rule

_ms := {"id": "b5946137-7b9f-4925-af80-51abd60b20d5", "name": "Microsoft Software Shadow Copy provider 1.0", "type": "system"}

_pure := {"id": "781c006a-5829-4a25-81e3-d5e43bd005ab", "name": "Pure Storage VSS Hardware Provider", "type": "hardware", "vendor": "Pure Storage"}

# The same provider as the proxy collector might report it: braces and upper case.
_pure_braced := object.union(_pure, {"id": "{781C006A-5829-4A25-81E3-D5E43BD005AB}"})

_veeam := {"id": "5d5ae1f1-0000-4e6e-9c0a-000000000001", "name": "Veeam VSS Hardware Provider", "type": "hardware", "vendor": null}

_hpe := {"id": "3f1f3f9a-1111-4b2b-8c8c-222222222222", "name": "HPE 3PAR VSS Provider", "type": "hardware", "vendor": "HPE"}

# hosts/0 PROXY01, hosts/1 HV01 (node), hosts/2 HV02 (node), hosts/3 HV03 (standalone).
_base := {
	"schema_version": 1,
	"hosts": [
		{"name": "PROXY01", "roles": ["proxy"], "vss_providers": [_ms, _pure_braced]},
		{"name": "HV01", "roles": ["hyperv_host"], "vss_providers": [_ms, _pure]},
		{"name": "HV02", "roles": ["hyperv_host"], "cluster": {"member": true, "name": "hvcl01.corp.example"}, "vss_providers": [_ms, _pure]},
		{"name": "HV03", "roles": ["hyperv_host"], "vss_providers": [_ms]},
	],
	"clusters": [{"name": "HVCL01", "nodes": ["hv01.corp.example"], "csvs": [{"name": "Cluster Disk 1"}]}],
	"vms": [{"name": "WEB01", "host": "HV03", "disks": [{"path": "D:\\VMs\\WEB01.vhdx", "storage": "local"}]}],
}

_statuses(fs) := {[f.subject.host, f.status] | some f in fs}

_on(fs, host) := f if {
	some f in fs
	f.subject.host == host
}

test_pass_with_shared_provider_and_na_for_host_without_csv if {
	fs := rule.findings with input as _base
	_statuses(fs) == {["HV01", "pass"], ["HV02", "pass"], ["HV03", "not_applicable"]}
	f := _on(fs, "HV01")
	f.severity == "high"
	f.subject.kind == "proxy_host"
	f.subject.name == "PROXY01 -> HV01"
	contains(f.message, "share the VSS hardware provider Pure Storage VSS Hardware Provider {781c006a-5829-4a25-81e3-d5e43bd005ab}")
	contains(f.message, "transportable shadow copies is the storage vendor's claim and is not verified")
	contains(_on(fs, "HV02").message, "node of cluster HVCL01")
	contains(_on(fs, "HV03").message, "HV03 has no CSV storage")
}

test_host_with_vm_on_csv_is_checked if {
	inp := json.patch(_base, [{"op": "replace", "path": "/vms/0/disks/0/storage", "value": "csv"}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["HV01", "pass"], ["HV02", "pass"], ["HV03", "fail"]}
	msg := _on(fs, "HV03").message
	contains(msg, "VM WEB01 has a disk on a CSV")
	contains(msg, "HV03 has no VSS hardware provider from a storage vendor (providers: Microsoft Software Shadow Copy provider 1.0")
}

test_veeam_provider_does_not_count_on_proxy if {
	inp := json.patch(_base, [{"op": "replace", "path": "/hosts/0/vss_providers", "value": [_ms, _veeam]}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["HV01", "fail"], ["HV02", "fail"], ["HV03", "not_applicable"]}
	msg := _on(fs, "HV01").message
	contains(msg, "PROXY01 has no VSS hardware provider from a storage vendor")
	contains(msg, "Veeam's own hardware provider does not count; it has Veeam VSS Hardware Provider")
}

# Any name or vendor matching "veeam", in any case, is Veeam's.
test_veeam_by_vendor_or_other_spelling_does_not_count if {
	inp := json.patch(_base, [{"op": "replace", "path": "/hosts/1/vss_providers", "value": [
		object.union(_pure, {"vendor": "VEEAM Software"}),
		{"id": "aaaaaaaa-0000-0000-0000-000000000000", "name": "veeam agent hw provider", "type": "hardware"},
	]}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["HV01", "fail"], ["HV02", "pass"], ["HV03", "not_applicable"]}
	contains(_on(fs, "HV01").message, "it has Pure Storage VSS Hardware Provider {781c006a-5829-4a25-81e3-d5e43bd005ab}, veeam agent hw provider")
	contains(_on(fs, "HV01").message, "and no other provider")
}

test_fail_without_common_provider if {
	inp := json.patch(_base, [{"op": "replace", "path": "/hosts/1/vss_providers", "value": [_ms, _hpe]}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["HV01", "fail"], ["HV02", "pass"], ["HV03", "not_applicable"]}
	contains(_on(fs, "HV01").message, "no VSS hardware provider in common (PROXY01 has Pure Storage VSS Hardware Provider {781c006a-5829-4a25-81e3-d5e43bd005ab}; HV01 has HPE 3PAR VSS Provider")
}

test_pass_when_one_of_several_providers_is_shared if {
	inp := json.patch(_base, [
		{"op": "replace", "path": "/hosts/0/vss_providers", "value": [_hpe, {"id": "{781C006A-5829-4A25-81E3-D5E43BD005AB}", "name": null, "type": "hardware"}]},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {["HV01", "pass"], ["HV02", "pass"], ["HV03", "not_applicable"]}
	contains(_on(fs, "HV01").message, "(no name) {781c006a-5829-4a25-81e3-d5e43bd005ab}")
}

test_unknown_when_host_providers_not_collected if {
	inp := json.patch(_base, [{"op": "replace", "path": "/hosts/2/vss_providers", "value": null}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["HV01", "pass"], ["HV02", "unknown"], ["HV03", "not_applicable"]}
	_on(fs, "HV02").missing == ["hosts[HV02].vss_providers"]
}

test_unknown_when_both_sides_not_collected if {
	inp := json.patch(_base, [
		{"op": "remove", "path": "/hosts/0/vss_providers"},
		{"op": "replace", "path": "/hosts/1/vss_providers", "value": null},
	])
	fs := rule.findings with input as inp
	_on(fs, "HV01").status == "unknown"
	_on(fs, "HV01").missing == ["hosts[PROXY01].vss_providers", "hosts[HV01].vss_providers"]
}

# A side that is known to lack a hardware provider fails even when the other side is unknown.
test_known_missing_provider_fails_even_if_other_side_unknown if {
	inp := json.patch(_base, [
		{"op": "replace", "path": "/hosts/0/vss_providers", "value": []},
		{"op": "replace", "path": "/hosts/1/vss_providers", "value": null},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {["HV01", "fail"], ["HV02", "fail"], ["HV03", "not_applicable"]}
	contains(_on(fs, "HV01").message, "providers: no other provider")
}

test_unknown_when_cluster_csvs_not_collected if {
	inp := json.patch(_base, [{"op": "replace", "path": "/clusters/0/csvs", "value": null}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["HV01", "unknown"], ["HV02", "unknown"], ["HV03", "not_applicable"]}
	_on(fs, "HV01").missing == ["clusters[HVCL01].csvs"]
}

test_not_applicable_when_cluster_has_no_csvs if {
	inp := json.patch(_base, [{"op": "replace", "path": "/clusters/0/csvs", "value": []}])
	fs := rule.findings with input as inp
	_statuses(fs) == {["HV01", "not_applicable"], ["HV02", "not_applicable"], ["HV03", "not_applicable"]}
}

# With an assignment the proxy serves the cluster's nodes (and a proxy listed as a node is
# reported by OHP-010, not here). A host that is served but missing from the facts is unknown.
test_assigned_cluster_nodes_and_proxy_itself if {
	inp := json.patch(_base, [
		{"op": "replace", "path": "/clusters/0/nodes", "value": ["HV01", "proxy01.corp.example", "HV09"]},
		{"op": "add", "path": "/assignments", "value": [{"proxy": "PROXY01", "sources": [{"kind": "cluster", "name": "HVCL01"}]}]},
	])
	fs := rule.findings with input as inp
	_statuses(fs) == {["HV01", "pass"], ["PROXY01", "not_applicable"], ["HV09", "unknown"]}
	_on(fs, "HV09").missing == ["hosts[HV09].vss_providers"]
	contains(_on(fs, "PROXY01").message, "OHP-010")
}

test_no_findings_without_proxy if {
	inp := json.patch(_base, [{"op": "replace", "path": "/hosts/0/roles", "value": ["backup_server"]}])
	count(rule.findings) == 0 with input as inp
}

test_same_severity_under_both_profiles if {
	inp := json.patch(_base, [{"op": "replace", "path": "/hosts/1/vss_providers", "value": [_ms, _veeam]}])
	f := _on(rule.findings, "HV01") with input as inp with data.offhost.options.profile as "veeam-2026-02"
	f.status == "fail"
	f.severity == "high"
}
