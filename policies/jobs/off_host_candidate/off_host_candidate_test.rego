package offhost.jobs.off_host_candidate_test

import rego.v1

import data.offhost.jobs.lib_test.by_name
import data.offhost.jobs.lib_test.estate
import data.offhost.jobs.lib_test.patched
import data.offhost.jobs.lib_test.statuses
import data.offhost.jobs.off_host_candidate as rule

_not_ready_010 := {"state": "not_ready", "blocking": ["OHP-010"]}

test_every_source_has_a_good_candidate if {
	fs := rule.findings with input as estate
	statuses(fs) == {
		["Nightly -> cluster HVCL01", "pass"], ["Nightly -> vm VM03", "pass"],
		["Pinned -> host HV03", "pass"],
	}
	f := by_name(fs)["Nightly -> cluster HVCL01"]
	f.severity == "high"
	f.subject == {"kind": "job_source", "name": "Nightly -> cluster HVCL01", "job": "Nightly", "source_kind": "cluster", "source": "HVCL01"}
	contains(f.message, "through PROXY01")
	contains(by_name(fs)["Nightly -> vm VM03"].message, "through PROXY01, PROXY02")
}

# The job's only working proxy is a cluster node: VBR falls back to on-host, silently.
test_fails_high_when_no_candidate_works_and_failover_is_on if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/pairs/0", "value": object.union(estate.pairs[0], _not_ready_010)}])
	f := by_name(fs)["Nightly -> cluster HVCL01"]
	f.status == "fail"
	f.severity == "high"
	contains(f.message, "PROXY01: blocked by OHP-010; PROXY02: blocked by OHP-010")
	contains(f.message, "runs on-host tonight, silently")
}

test_fails_critical_when_failover_is_off if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/pairs/0", "value": object.union(estate.pairs[0], _not_ready_010)},
		{"op": "replace", "path": "/vbr/jobs/0/failover_to_on_host", "value": false},
	])
	f := by_name(fs)["Nightly -> cluster HVCL01"]
	f.status == "fail"
	f.severity == "critical"
	contains(f.message, "the job fails")
}

test_fails_critical_when_failover_was_not_read if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/pairs/0", "value": object.union(estate.pairs[0], _not_ready_010)},
		{"op": "replace", "path": "/vbr/jobs/0/failover_to_on_host", "value": null},
	])
	f := by_name(fs)["Nightly -> cluster HVCL01"]
	[f.status, f.severity] == ["fail", "critical"]
	contains(f.message, "was not read")
}

test_a_disabled_pinned_proxy_fails_the_job if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/proxies/1/disabled", "value": true}])
	f := by_name(fs)["Pinned -> host HV03"]
	[f.status, f.severity] == ["fail", "critical"]
	contains(f.message, "PROXY02: disabled in VBR")
	# automatic selection leaves the disabled proxy out: VM03 still goes through PROXY01
	contains(by_name(fs)["Nightly -> vm VM03"].message, "through PROXY01")
	not contains(by_name(fs)["Nightly -> vm VM03"].message, "PROXY02")
}

test_offline_and_out_of_date_and_unknown_proxies_block if {
	every op in [
		{"op": "replace", "path": "/vbr/proxies/1/online", "value": false},
		{"op": "replace", "path": "/vbr/proxies/1/out_of_date", "value": true},
		{"op": "replace", "path": "/vbr/proxies/1/name", "value": "PROXY09"},
	] {
		fs := rule.findings with input as patched([op])
		by_name(fs)["Pinned -> host HV03"].status == "fail"
	}
	fs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/proxies/1/name", "value": "PROXY09"}])
	contains(by_name(fs)["Pinned -> host HV03"].message, "not an off-host proxy on the backup server")
}

test_unknown_when_no_candidate_is_known_good_and_one_is_undecided if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/pairs/0", "value": object.union(estate.pairs[0], {"state": "unknown", "unknown": ["OHP-013"]})},
		{"op": "replace", "path": "/vbr/jobs/0/sources", "value": [{"kind": "cluster", "name": "HVCL01"}]},
	])
	f := by_name(fs)["Nightly -> cluster HVCL01"]
	f.status == "unknown"
	f.missing == ["verdict[PROXY01 -> cluster HVCL01] (undecided: OHP-013)"]
	contains(f.message, "PROXY02: blocked by OHP-010")
}

# The evidence names each candidate's stage-1 pair (the faces list its findings), an undecided
# source's too; null when stage 1 judged no such pair.
test_each_candidate_names_the_pair_whose_verdict_counted if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/pairs/0", "value": object.union(estate.pairs[0], _not_ready_010)}])
	judged := [x.value | some x in by_name(fs)["Nightly -> cluster HVCL01"].evidence; x.path == "candidates"][0]
	{[c.name, c.pair] | some c in judged} == {
		["PROXY01", {"proxy": "PROXY01", "kind": "cluster", "source": "HVCL01"}],
		["PROXY02", {"proxy": "PROXY02", "kind": "cluster", "source": "HVCL01"}],
	}
	gs := rule.findings with input as patched([{"op": "remove", "path": "/pairs/2"}])
	undecided := [x.value | some x in by_name(gs)["Pinned -> host HV03"].evidence; x.path == "candidates"][0]
	[c.pair | some c in undecided] == [null]
}

test_unknown_when_stage_1_judged_no_such_pair if {
	fs := rule.findings with input as patched([{"op": "remove", "path": "/pairs/2"}])
	f := by_name(fs)["Pinned -> host HV03"]
	f.status == "unknown"
	contains(f.message, "stage 1 judged no such pair")
}

test_unknown_when_the_proxy_state_was_not_read if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/proxies/1/online", "value": null}])
	f := by_name(fs)["Pinned -> host HV03"]
	f.status == "unknown"
	f.missing == ["vbr.proxies[PROXY02].online"]
}

test_unknown_when_the_selection_or_the_proxy_list_was_not_read if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/jobs/0/proxies", "value": null}])
	by_name(fs)["Nightly -> cluster HVCL01"].missing == ["vbr.jobs[Nightly].proxies"]
	gs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/proxies", "value": null}])
	by_name(gs)["Nightly -> cluster HVCL01"].missing == ["vbr.proxies"]
	by_name(gs)["Pinned -> host HV03"].missing == ["vbr.proxies"]
	hs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/jobs/1/proxies/names", "value": null}])
	by_name(hs)["Pinned -> host HV03"].missing == ["vbr.jobs[Pinned].proxies.names"]
}

test_unknown_for_the_job_when_its_sources_were_not_read if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/jobs/1/sources", "value": null}])
	by_name(fs)["Pinned -> * *"].status == "unknown"
}

test_on_host_and_disabled_jobs_are_not_judged if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/vbr/jobs/0/mode", "value": "on_host"},
		{"op": "replace", "path": "/vbr/jobs/1/enabled", "value": false},
	])
	count(fs) == 0
}

test_a_failing_job_whose_mode_was_not_read_is_unknown if {
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/vbr/proxies/1/disabled", "value": true},
		{"op": "replace", "path": "/vbr/jobs/1/mode", "value": null},
	])
	by_name(fs)["Pinned -> host HV03"].missing == ["vbr.jobs[Pinned].mode"]
}

test_fails_when_there_is_no_candidate_at_all if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/jobs/1/proxies/names", "value": []}])
	contains(by_name(fs)["Pinned -> host HV03"].message, "the job lists no proxy")
	gs := rule.findings with input as patched([
		{"op": "replace", "path": "/vbr/proxies/0/disabled", "value": true},
		{"op": "replace", "path": "/vbr/proxies/1/disabled", "value": true},
	])
	contains(by_name(gs)["Nightly -> cluster HVCL01"].message, "no enabled off-host proxy on the backup server")
}

test_a_vm_on_a_cluster_node_uses_the_cluster_pair if {
	fs := rule.findings with input as patched([{"op": "add", "path": "/vbr/jobs/0/sources/-", "value": {"kind": "vm", "name": "VM01", "host": "HV01"}}])
	f := by_name(fs)["Nightly -> vm VM01"]
	f.status == "pass"
	contains(f.message, "through PROXY01")
}

# Automatic selection over many proxies: the reason names ten, the missing list all of them.
test_a_long_candidate_list_is_cut_in_the_message if {
	many := [{"name": sprintf("PX%02d", [i]), "disabled": false, "online": true, "out_of_date": false} | some i in numbers.range(1, 12)]
	fs := rule.findings with input as patched([
		{"op": "replace", "path": "/vbr/proxies", "value": many},
		{"op": "replace", "path": "/vbr/jobs/0/sources", "value": [{"kind": "cluster", "name": "HVCL01"}]},
	])
	f := by_name(fs)["Nightly -> cluster HVCL01"]
	f.status == "unknown"
	contains(f.message, "PX10: undecided")
	not contains(f.message, "PX11: undecided")
	contains(f.message, "and 2 more")
	count(f.missing) == 12
}
