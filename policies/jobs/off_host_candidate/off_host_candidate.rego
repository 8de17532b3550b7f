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

findings contains f if {
	some j in data.offhost.jobs.lib.active_jobs
	some s in facts.seq(object.get(j, "sources", null))
	f := _decide(j, s)
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

_candidates(j) := sort([facts.norm(p.name) |
	some p in facts.seq(object.get(input, ["vbr", "proxies"], null))
	object.get(p, "disabled", null) != true
]) if {
	j.proxies.automatic == true
} else := sort({facts.norm(n) | some n in j.proxies.names})

# _judge(p, s): {name, blocks, missing}: what stops candidate p for source s, and what is
# undecided about it (missing facts, undecided stage-1 verdicts).
_judge(p, s) := {"name": p, "blocks": blocks, "missing": missing} if {
	v := lib.verdict(p, s)
	blocks := array.concat(lib.state_blocks(p), _verdict_blocks(v))
	missing := array.concat(lib.state_missing(p), _verdict_unknown(p, s, v))
}

_verdict_blocks(v) := [sprintf("blocked by %s", [concat(", ", v.blocking)])] if {
	v.state == "not_ready"
} else := []

_verdict_unknown(p, s, v) := [sprintf("verdict[%s -> %s] (stage 1 judged no such pair: not among the proxy's sources)", [p, _label(s)])] if {
	v == null
} else := [sprintf("verdict[%s -> %s] (undecided: %s)", [p, _label(s), concat(", ", v.unknown)])] if {
	v.state == "unknown"
} else := []

_good(c) if {
	count(c.blocks) == 0
	count(c.missing) == 0
}

_text(c) := sprintf("%s: %s", [c.name, concat("; ", c.blocks)]) if {
	count(c.blocks) > 0
} else := sprintf("%s: undecided (%s)", [c.name, concat("; ", c.missing)]) if {
	count(c.missing) > 0
} else := sprintf("%s: ready", [c.name])

_evidence(j, judged) := [
	{"path": lib.job_path(j, "proxies"), "value": object.get(j, "proxies", null)},
	{"path": lib.job_path(j, "failover_to_on_host"), "value": object.get(j, "failover_to_on_host", null)},
	{"path": "candidates", "value": judged},
]

_decide(j, s) := result.unknown(_rule, _subject(j, s), _selection_missing(j)) if {
	count(_selection_missing(j)) > 0
} else := _by_candidates(j, s, [_judge(p, s) | some p in _candidates(j)])

_by_candidates(j, s, judged) := result.pass(
	_rule, _subject(j, s),
	sprintf("job %s can process %s off-host through %s", [j.name, _label(s), concat(", ", good)]),
	_evidence(j, judged),
) if {
	good := [c.name | some c in judged; _good(c)]
	count(good) > 0
} else := result.unknown_because(
	_rule, _subject(j, s), sort({m | some u in judged; count(u.blocks) == 0; some m in u.missing}),
	sprintf("job %s, %s: no candidate proxy is known to be good (%s)", [j.name, _label(s), concat("; ", [_text(t) | some t in judged])]),
) if {
	some c in judged
	count(c.blocks) == 0
} else := result.unknown(_rule, _subject(j, s), [lib.job_path(j, "mode")]) if {
	object.get(j, "mode", null) == null
} else := _fail(j, s, judged)

_none_text(j, judged) := concat("; ", [_text(c) | some c in judged]) if {
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
