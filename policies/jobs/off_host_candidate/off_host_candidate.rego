# METADATA
# title: An off-host job has a working proxy for each of its sources
# description: |
#   Stage 2, for every job that may process off-host and every source it lists (a VM, a Hyper-V
#   host, a cluster): the candidate proxies are every off-host proxy VBR has that is not disabled
#   (automatic selection) or the ones the job lists. A candidate is good when VBR can use it
#   (known, enabled, online, up to date) and its stage-1 verdict for the source is ready or ready
#   with warnings. One good candidate passes. None: the job cannot process the source off-host;
#   with fail-over to on-host on (VBR's default) it runs on the production host without an error
#   (high), with it off the job fails (critical). Unknown when no candidate is known good and one
#   is undecided, or when the job's mode or proxy selection was not read. The message names each
#   candidate and what stops it.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/backup_job_storage_hv.html
#     description: Backup Job (Hyper-V), Storage step (backup proxy, fail-over to on-host mode)
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/assign_proxy.html
#     description: Assigning Backup Proxies (what happens when no off-host proxy is available)
# custom:
#   id: OHP-040
#   remediation: |
#     Fix what blocks each candidate proxy (the findings the message names), or give job <job>
#     another off-host proxy that can reach its sources: in the job's Storage step, Choose
#     (Backup proxy) > Off-host backup, then Automatic selection or a list of working proxies.
#     Until then, decide whether the fall-back to on-host is wanted: with "Failover to on-host
#     backup mode if no off-host proxies are available" on, the production host carries the load.
package offhost.jobs.off_host_candidate

import rego.v1

import data.offhost.jobs.lib
import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-040"

# A source with a good candidate passes on a lookup (good_at); only the sources without one judge
# every candidate, to name what stops each (benchmarks/bench_jobs.py).
findings contains f if {
	some j in data.offhost.jobs.lib.active_jobs
	some s in facts.seq(object.get(j, "sources", null))
	count(_selection_missing(j)) == 0
	good := _good(j, s)
	count(good) > 0
	f := _pass(j, s, good)
}

_to_judge contains [i, k] if {
	some i, j in data.offhost.jobs.lib.active_jobs
	some k, s in facts.seq(object.get(j, "sources", null))
	count(_selection_missing(j)) == 0
	count(_good(j, s)) == 0
}

findings contains f if {
	some x in _to_judge
	j := data.offhost.jobs.lib.active_jobs[x[0]]
	s := j.sources[x[1]]
	cols := lib.columns(s)
	f := _by_candidates(j, s, [_judge(p, s, cols) | some p in sort(_candidates(j))])
}

findings contains f if {
	some j in data.offhost.jobs.lib.active_jobs
	some s in facts.seq(object.get(j, "sources", null))
	count(_selection_missing(j)) > 0
	f := result.unknown(_rule, _subject(j, s), _selection_missing(j))
}

findings contains f if {
	some j in data.offhost.jobs.lib.active_jobs
	not is_array(object.get(j, "sources", null))
	f := result.unknown(_rule, result.job_source_subject(j.name, "*", "*"), [lib.job_path(j, "sources")])
}

_subject(j, s) := result.job_source_subject(j.name, s.kind, lib.source_name(s))

_label(s) := sprintf("%s %s", [s.kind, lib.source_name(s)])

# _selection_missing(j): the fact paths that leave the candidates unknown.
_selection_missing(j) := [lib.job_path(j, "proxies")] if {
	not is_boolean(object.get(j, ["proxies", "automatic"], null))
} else := ["vbr.proxies"] if {
	j.proxies.automatic == true
	not data.offhost.jobs.lib.proxies_known
} else := [lib.job_path(j, "proxies.names")] if {
	j.proxies.automatic == false
	not is_array(object.get(j, ["proxies", "names"], null))
} else := []

_candidates(j) := data.offhost.jobs.lib.enabled_proxies if {
	j.proxies.automatic == true
} else := {facts.norm(n) | some n in j.proxies.names}

# _good(j, s): the candidates that work for source s (looked up, not judged one by one).
_good(j, s) := sort({p |
	some c in lib.columns(s)
	some p in data.offhost.jobs.lib.good_at[c]
	p in _candidates(j)
	lib.verdict(p, s).state in {"ready", "ready_with_warnings"}
})

# _judge(p, s, cols): {name, blocks, missing, pair}: what stops candidate p for source s (whose
# pair columns are cols), what is undecided about it (missing facts, undecided stage-1 verdicts),
# and the stage-1 pair whose verdict counted ({proxy, kind, source}, null when none): the faces
# list that pair's findings as what blocks the candidate (offhost_audit/findings/job_verdicts.py).
_judge(p, s, cols) := {"name": p, "blocks": blocks, "missing": missing, "pair": _pair(v)} if {
	st := data.offhost.jobs.lib.proxy_state[p]
	v := lib.verdict_at(p, cols)
	blocks := array.concat(st.blocks, _verdict_blocks(v))
	missing := array.concat(st.missing, _verdict_unknown(p, s, v))
}

_pair(v) := null if v == null else := {"proxy": v.proxy, "kind": v.kind, "source": v.source}

_verdict_blocks(v) := [sprintf("blocked by %s", [concat(", ", v.blocking)])] if {
	v.state == "not_ready"
} else := []

_verdict_unknown(p, s, v) := [sprintf("verdict[%s -> %s] (stage 1 judged no such pair: not among the proxy's sources)", [p, _label(s)])] if {
	v == null
} else := [sprintf("verdict[%s -> %s] (undecided: %s)", [p, _label(s), concat(", ", v.unknown)])] if {
	v.state == "unknown"
} else := []

_text(c) := sprintf("%s: %s", [c.name, concat("; ", c.blocks)]) if {
	count(c.blocks) > 0
} else := sprintf("%s: undecided (%s)", [c.name, concat("; ", c.missing)]) if {
	count(c.missing) > 0
} else := sprintf("%s: ready", [c.name])

_evidence(j, judged) := [
	{"path": lib.job_path(j, "proxies"), "value": object.get(j, "proxies", null)},
	{"path": lib.job_path(j, "failover_to_on_host"), "value": object.get(j, "failover_to_on_host", null)},
	{"path": "candidates", "value": judged},
	{"path": lib.job_path(j, "source"), "value": object.get(j, "source", null)},
]

_pass(j, s, good) := result.pass(
	_rule, _subject(j, s),
	sprintf("job %s can process %s off-host through %s", [j.name, _label(s), concat(", ", good)]),
	[
		{"path": lib.job_path(j, "proxies"), "value": object.get(j, "proxies", null)},
		{"path": "candidates[ready]", "value": good},
	],
)

_by_candidates(j, s, judged) := _with_candidates(result.unknown_because(
	_rule, _subject(j, s), sort({m | some u in judged; count(u.blocks) == 0; some m in u.missing}),
	sprintf("job %s, %s: no candidate proxy is known to be good (%s)", [j.name, _label(s), _list(judged)]),
), judged) if {
	some c in judged
	count(c.blocks) == 0
} else := result.unknown(_rule, _subject(j, s), [lib.job_path(j, "mode")]) if {
	object.get(j, "mode", null) == null
} else := _fail(j, s, judged)

# An undecided source's evidence lists the candidates too (the faces show what stops each).
_with_candidates(f, judged) := object.union(f, {"evidence": array.concat(f.evidence, [{"path": "candidates", "value": judged}])})

# Messages name at most _shown_max candidates (automatic selection may have hundreds); the
# evidence lists them all.
_shown_max := 10

_list(judged) := concat("; ", [_text(c) | some c in judged]) if {
	count(judged) <= _shown_max
} else := sprintf("%s; and %d more", [concat("; ", [_text(c) | some c in array.slice(judged, 0, _shown_max)]), count(judged) - _shown_max])

_none_text(j, judged) := _list(judged) if {
	count(judged) > 0
} else := "no enabled off-host proxy on the backup server" if {
	j.proxies.automatic == true
} else := "the job lists no proxy"

_fail(j, s, judged) := result.fail(
	_rule, _subject(j, s),
	sprintf("job %s cannot process %s off-host: no candidate proxy works (%s). Fail-over to on-host is on (VBR's default): the job runs on-host tonight, silently, on the production host, without an error.", [j.name, _label(s), _none_text(j, judged)]),
	_evidence(j, judged),
) if {
	j.failover_to_on_host == true
} else := result.fail_as(
	_rule, "failover_off", _subject(j, s),
	sprintf("job %s cannot process %s off-host: no candidate proxy works (%s). Fail-over to on-host is off: the job fails.", [j.name, _label(s), _none_text(j, judged)]),
	_evidence(j, judged),
) if {
	j.failover_to_on_host == false
} else := result.fail_as(
	_rule, "failover_off", _subject(j, s),
	sprintf("job %s cannot process %s off-host: no candidate proxy works (%s). Whether it fails over to on-host was not read: it either runs on the production host silently or fails.", [j.name, _label(s), _none_text(j, judged)]),
	_evidence(j, judged),
)
