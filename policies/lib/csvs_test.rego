package offhost.lib.csvs_test

import rego.v1

import data.offhost.lib.csvs

# --- Shared by the tests of the CSV rules: a proxy that serves no cluster -------------------
# no_cluster_cases(base): patches of a CSV rule's base estate (PROXY01, no assignment, serving
# cluster HVCL01 of hosts HV01 and HV02) in which a proxy serves no cluster, each with the one
# proxy-level finding that proxy must get (policies/lib/csvs.rego, no_cluster_findings).
no_cluster_cases(base) := [
	_na(json.patch(base, [_host_only_assignment]), "PROXY01", "its assignment names no cluster"),
	# the assignment decides even when the cluster list was not collected
	_na(json.patch(base, [_host_only_assignment, {"op": "remove", "path": "/clusters"}]), "PROXY01", "its assignment names no cluster"),
	_na(json.patch(base, [{"op": "replace", "path": "/clusters", "value": []}]), "PROXY01", "the facts list no cluster"),
	_unknown(json.patch(base, [{"op": "remove", "path": "/clusters"}])),
	_unknown(json.patch(base, [{"op": "replace", "path": "/clusters", "value": null}])),
	# only the proxy that serves no cluster gets it; PROXY01 (now unassigned) keeps its findings
	_na(json.patch(base, [
		{"op": "add", "path": "/hosts/-", "value": {"name": "PROXY02", "roles": ["proxy"]}},
		{"op": "add", "path": "/assignments", "value": [{"proxy": "PROXY02", "sources": [{"kind": "host", "name": "HV02"}]}]},
	]), "PROXY02", "its assignment names no cluster"),
]

_host_only_assignment := {"op": "add", "path": "/assignments", "value": [{
	"proxy": "proxy01.corp.example",
	"sources": [{"kind": "host", "name": "HV01"}],
}]}

_na(inp, p, why) := {
	"input": inp, "proxy": p, "status": "not_applicable", "missing": [],
	"message": sprintf("%s serves no Hyper-V cluster (%s), so no CSV: this rule concerns off-host backup from CSV storage only", [p, why]),
}

_unknown(inp) := {
	"input": inp, "proxy": "PROXY01", "status": "unknown", "missing": ["clusters"],
	"message": "cannot decide: fact(s) not collected: clusters (PROXY01 has no assignment, so it serves every Hyper-V cluster, and the cluster list is missing)",
}

# no_cluster_case_holds(c, fs, base_fs, rule_id, severity): the rule's findings fs on c.input
# hold exactly one proxy-level finding, the expected one for c.proxy, and the other proxies keep
# the findings they have on the base estate (base_fs).
no_cluster_case_holds(c, fs, base_fs, rule_id, severity) if {
	proxy_level := [f | some f in fs; f.subject.kind == "proxy"]
	count(proxy_level) == 1
	f := proxy_level[0]
	f.subject == {"kind": "proxy", "name": c.proxy, "proxy": c.proxy}
	[f.rule_id, f.status, f.severity, f.message, f.missing] == [rule_id, c.status, severity, c.message, c.missing]
	{g | some g in fs; g.subject.proxy != c.proxy} == {g | some g in base_fs; g.subject.proxy != c.proxy}
}

# The library's functions on their own, for one rule id.
test_no_cluster_findings_is_empty_while_every_proxy_serves_a_cluster if {
	fs := csvs.no_cluster_findings("OHP-010") with input as {"hosts": [{"name": "P1", "roles": ["proxy"]}], "clusters": [{"name": "C1"}]}
	fs == set()
}

test_frame_findings_name_the_cluster_whose_csv_list_is_missing if {
	fs := csvs.frame_findings("OHP-012") with input as {"hosts": [{"name": "P1", "roles": ["proxy"]}], "clusters": [{"name": "c1.corp.example", "csvs": null}]}
	count(fs) == 1
	some f in fs
	[f.status, f.subject.name, f.missing] == ["unknown", "P1 -> C1/*", ["clusters[C1].csvs"]]
}
