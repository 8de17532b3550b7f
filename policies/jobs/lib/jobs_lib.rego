# METADATA
# title: Job helpers shared by the job rules (stage 2)
# description: |
#   The input of stage 2 (offhost_audit/findings/jobs.py): `vbr` (jobs, proxies, hyperv_hosts),
#   `hosts` and `clusters` (names and memberships only) and `pairs`, the stage-1 verdict of each
#   proxy x source pair. Which jobs process off-host, which hosts and clusters they cover, each
#   proxy's state in VBR, and the pair verdict that applies to a job's source (a VM counts as its
#   host; a host that has no pair of its own counts as its cluster). This package emits no findings.
package offhost.jobs.lib

import rego.v1

import data.offhost.lib.facts

jobs := [j | some j in facts.seq(object.get(input, ["vbr", "jobs"], null)); is_object(j)]

# active_jobs: the jobs that may process off-host: mode off_host, or not read (never on_host),
# and not disabled (enabled null counts: the setting was not read).
active_jobs := [j |
	some j in data.offhost.jobs.lib.jobs
	object.get(j, "mode", null) != "on_host"
	object.get(j, "enabled", null) != false
]

job_path(j, field) := sprintf("vbr.jobs[%s].%s", [j.name, field])

proxies_known if is_array(object.get(input, ["vbr", "proxies"], null))

vbr_proxies := {facts.norm(p.name): p | some p in facts.seq(object.get(input, ["vbr", "proxies"], null))}

# A proxy state field, the value that stops VBR from using the proxy, and what that means.
_state_fields := [
	["disabled", true, "disabled in VBR"],
	["online", false, "offline in VBR"],
	["out_of_date", true, "its Veeam components are out of date"],
]

# state_blocks(p): why VBR cannot use proxy p (normalised name), [] when nothing known stops it.
state_blocks(p) := ["not an off-host proxy on the backup server"] if {
	data.offhost.jobs.lib.proxies_known
	not data.offhost.jobs.lib.vbr_proxies[p]
} else := [x[2] | some x in _state_fields; object.get(data.offhost.jobs.lib.vbr_proxies, [p, x[0]], null) == x[1]]

# state_missing(p): the fact paths of p's state that were not read.
state_missing(p) := ["vbr.proxies"] if {
	not data.offhost.jobs.lib.proxies_known
} else := [] if {
	not data.offhost.jobs.lib.vbr_proxies[p]
} else := [sprintf("vbr.proxies[%s].%s", [p, x[0]]) |
	some x in _state_fields
	object.get(data.offhost.jobs.lib.vbr_proxies, [p, x[0]], null) == null
]

# Cluster memberships from either source of truth: [cluster, host], normalised.
_memberships contains [facts.norm(c.name), facts.host_key(n)] if {
	some c in facts.seq(object.get(input, "clusters", null))
	some n in facts.seq(object.get(c, "nodes", null))
}

_memberships contains [facts.norm(m.name), facts.norm(h.name)] if {
	some h in facts.seq(object.get(input, "hosts", null))
	m := object.get(h, "cluster", null)
	is_object(m)
	m.member == true
	is_string(m.name)
}

clusters_of[h] contains c if {
	some x in data.offhost.jobs.lib._memberships
	c := x[0]
	h := x[1]
}

nodes_of[c] contains h if {
	some x in data.offhost.jobs.lib._memberships
	c := x[0]
	h := x[1]
}

_cluster_names := {facts.norm(c.name) | some c in facts.seq(object.get(input, "clusters", null))}

# is_cluster(n): a VM's "host" may name its cluster (REST gives the cluster for a clustered VM).
is_cluster(n) if facts.norm(n) in data.offhost.jobs.lib._cluster_names

# source_name(s): the source's display name, normalised; a VM's is the VM's own name.
source_name(s) := facts.norm(s.name) if s.kind == "cluster" else := facts.host_key(s.name) if s.kind == "host" else := s.name

# columns(s): the stage-1 pair columns that stand for a job source, in order of preference:
# [kind, normalised name]. A VM stands for its host (or the cluster it names); a host for itself,
# then its clusters. [] when a VM's host was not read.
columns(s) := [["cluster", facts.norm(s.name)]] if {
	s.kind == "cluster"
} else := _host_columns(object.get(s, "host", null)) if {
	s.kind == "vm"
} else := _host_columns(s.name)

_host_columns(h) := [] if {
	not is_string(h)
} else := [["cluster", facts.norm(h)]] if {
	is_cluster(h)
} else := array.concat([["host", facts.host_key(h)]], [["cluster", c] | some c in _clusters_of(facts.host_key(h))])

_clusters_of(h) := sort({x | some x in data.offhost.jobs.lib.clusters_of[h]})

# The clusters and hosts a source covers (for OHP-042 and OHP-043).
source_clusters(s) := {c[1] | some c in columns(s); c[0] == "cluster"}

source_hosts(s) := {c[1] | some c in columns(s); c[0] == "host"} | {h |
	some c in source_clusters(s)
	some h in data.offhost.jobs.lib.nodes_of[c]
}

pairs := {[facts.norm(v.proxy), v.kind, facts.norm(v.source)]: v | some v in facts.seq(object.get(input, "pairs", null))}

# verdict(p, s): the stage-1 verdict of proxy p for job source s, or null when stage 1 judged no
# such pair (the proxy's assignments do not cover the source).
verdict(p, s) := verdict_at(p, columns(s))

# verdict_at(p, cols): the same for the source's columns (computed once per source).
verdict_at(p, cols) := found[0] if {
	found := [v | some c in cols; v := data.offhost.jobs.lib.pairs[[p, c[0], c[1]]]]
	count(found) > 0
} else := null

# proxy_state[p]: {blocks, missing} of every proxy a job may name, computed once.
proxy_state := {p: {"blocks": state_blocks(p), "missing": state_missing(p)} | some p in _named_proxies}

_named_proxies := data.offhost.jobs.lib.enabled_proxies | {facts.norm(n) |
	some j in data.offhost.jobs.lib.jobs
	some n in facts.seq(object.get(j, ["proxies", "names"], null))
}

# enabled_proxies: what automatic selection chooses from: every off-host proxy VBR has that is not
# disabled (disabled not read counts: the candidate is then undecided).
enabled_proxies := {facts.norm(p.name) |
	some p in facts.seq(object.get(input, ["vbr", "proxies"], null))
	object.get(p, "disabled", null) != true
}

# good_at[[kind, name]]: the proxies VBR can use (state known and clean) whose stage-1 verdict for
# that pair column is ready (with or without warnings). Built once: a job over a source first
# looks for a good candidate here, and judges every candidate only when there is none.
good_at[col] contains p if {
	some v in facts.seq(object.get(input, "pairs", null))
	v.state in {"ready", "ready_with_warnings"}
	col := [v.kind, facts.norm(v.source)]
	p := facts.norm(v.proxy)
	count(state_blocks(p)) == 0
	count(state_missing(p)) == 0
}
