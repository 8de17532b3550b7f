package offhost.jobs.listed_proxy_test

import rego.v1

import data.offhost.jobs.lib_test.by_name
import data.offhost.jobs.lib_test.estate
import data.offhost.jobs.lib_test.patched
import data.offhost.jobs.lib_test.statuses
import data.offhost.jobs.listed_proxy as rule

test_a_listed_proxy_that_works_passes if {
	fs := rule.findings with input as estate
	statuses(fs) == {["Pinned -> PROXY02", "pass"]} # automatic selection lists nothing
	f := by_name(fs)["Pinned -> PROXY02"]
	f.severity == "high"
	f.subject == {"kind": "job_proxy", "name": "Pinned -> PROXY02", "job": "Pinned", "candidate": "PROXY02"}
}

test_a_listed_proxy_vbr_cannot_use_fails if {
	every c in [
		["/vbr/proxies/1/disabled", true, "disabled in VBR"],
		["/vbr/proxies/1/online", false, "offline in VBR"],
		["/vbr/proxies/1/out_of_date", true, "out of date"],
		["/vbr/proxies/1/name", "PROXY09", "not an off-host proxy on the backup server"],
	] {
		fs := rule.findings with input as patched([{"op": "replace", "path": c[0], "value": c[1]}])
		f := by_name(fs)["Pinned -> PROXY02"]
		f.status == "fail"
		contains(f.message, c[2])
	}
}

test_a_state_not_read_is_unknown_but_a_known_problem_still_fails if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/proxies/1/online", "value": null}])
	by_name(fs)["Pinned -> PROXY02"].missing == ["vbr.proxies[PROXY02].online"]
	gs := rule.findings with input as patched([
		{"op": "replace", "path": "/vbr/proxies/1/online", "value": null},
		{"op": "replace", "path": "/vbr/proxies/1/disabled", "value": true},
	])
	by_name(gs)["Pinned -> PROXY02"].status == "fail"
	hs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/proxies", "value": null}])
	by_name(hs)["Pinned -> PROXY02"].missing == ["vbr.proxies"]
}

test_a_selection_not_read_is_one_unknown_for_the_job if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/jobs/1/proxies/names", "value": null}])
	statuses(fs) == {["Pinned -> *", "unknown"]}
	gs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/jobs/1/proxies", "value": null}])
	by_name(gs)["Pinned -> *"].missing == ["vbr.jobs[Pinned].proxies"]
}

test_on_host_jobs_are_not_judged if {
	fs := rule.findings with input as patched([{"op": "replace", "path": "/vbr/jobs/1/mode", "value": "on_host"}])
	count(fs) == 0
}
