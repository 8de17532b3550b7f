# METADATA
# title: Same VSS hardware provider on the proxy and the Hyper-V host
# description: |
#   For every proxy and every Hyper-V host it serves that has CSV storage (a node of a served
#   cluster with CSVs, or a host running a VM with a disk on a CSV): both must have a VSS
#   provider of type hardware from the storage vendor, and at least one such provider (same
#   provider id, GUID compared case-insensitively, braces ignored) must be on both. Veeam's own
#   "Veeam VSS Hardware Provider" (any name or vendor matching "veeam") does not count. Support
#   for transportable shadow copies is the vendor's claim and is not verified. Hosts without CSV
#   storage are not_applicable; unknown when a provider list (or the CSV list that decides
#   whether the host uses CSVs) was not collected.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (VSS hardware provider on the proxy and every host)
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/system_requirements_hv_proxy.html
#     description: Hyper-V Backup Proxy system requirements (transportable shadow copies)
#   - ref: https://learn.microsoft.com/en-us/previous-versions/windows/desktop/vsswmi/win32-shadowprovider
#     description: Win32_ShadowProvider (provider type 3 is hardware)
# custom:
#   id: OHP-013
#   remediation: |
#     Install the storage vendor's VSS hardware provider (part of the array's host or client
#     components, certified by Microsoft and supporting transportable shadow copies) on the
#     proxy and on every Hyper-V host of the cluster, the same provider on all of them, and
#     configure its array connection and credentials. Check on each machine with
#     `vssadmin list providers` or Get-CimInstance Win32_ShadowProvider (Type 3 = hardware).
#     Veeam's own VSS hardware provider does not replace the vendor's.
package offhost.csv.vss_hardware_provider

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-013"

# Performance: everything that depends on the whole estate is indexed once, in rules
# (_host_clusters, _csv_vms, _csv_evidence, _classified, _infos); the per-pair functions only look up and bind each value
# once, then pass it on (functions are re-evaluated on every call, rules are not). The lists
# that only failure messages need are computed in those messages.

findings contains f if {
	some p in data.offhost.lib.facts.proxies
	some h in data.offhost.lib.facts.served_hosts[p]
	f := _finding(p, h)
}

# A host the proxy may serve (node list and membership missing): unknown, not nothing.
findings contains result.maybe_served_finding(_rule, p, h, missing) if {
	some p, hosts in data.offhost.lib.facts.maybe_served
	some h, missing in hosts
}

_finding(p, h) := result.not_applicable(
	_rule, _subject(p, h),
	sprintf("%s is the proxy itself: a proxy on a cluster node is reported by OHP-010", [h]),
) if {
	h == p
} else := _decide(p, h, _csv_use(p, h))

# u: the host's CSV use as seen through the proxy p.
_decide(p, h, u) := _check(p, h, u, _host_info(p), _host_info(h)) if {
	count(u.clusters) + count(u.vms) > 0
} else := result.unknown(_rule, _subject(p, h), [facts.cluster_path(c, "csvs") | some c in unknown]) if {
	unknown := {c | some c in u.member; _csvs(c) == null}
	count(unknown) > 0
} else := result.not_applicable(
	_rule, _subject(p, h),
	sprintf("%s has no CSV storage: it is not a node of a served cluster with CSVs and runs no VM with a disk on a CSV", [h]),
)

# pi, hi: the provider facts of the proxy and of the host (see _info). A shared provider means
# both lists were collected and have hardware providers: no problem and nothing missing, so the
# pass is decided first; without one there is a problem or a missing list.
_check(p, h, u, pi, hi) := result.pass(_rule, _subject(p, h), _pass_message(p, h, u, pi, shared), _evidence(u, pi, hi)) if {
	shared := pi.ids & hi.ids
	count(shared) > 0
} else := result.fail(_rule, _subject(p, h), _fail_message(h, u, problems), _evidence(u, pi, hi)) if {
	problems := _problems(p, h, pi, hi)
	count(problems) > 0
} else := result.unknown(_rule, _subject(p, h), [i.path | some i in [pi, hi]; i.providers == null])

_subject(p, h) := result.proxy_host_subject(p, h)

# ---- does the host use CSV storage? --------------------------------------------------------

_csvs(c) := object.get(data.offhost.lib.facts.clusters_by_name, [c, "csvs"], null)

# _host_clusters[h]: the clusters h is a node of, by the cluster's node list or by the host's
# own cluster fact (such a cluster need not be in the facts).
_host_clusters[h] contains c if {
	some c, nodes in data.offhost.lib.facts._cluster_nodes
	some h in nodes
}

_host_clusters[h] contains c if {
	some h, host in data.offhost.lib.facts.hosts_by_name
	m := object.get(host, "cluster", null)
	m.member == true
	is_string(m.name)
	c := facts.norm(m.name)
}

# _csv_vms[h]: the names of the VMs on host h with a disk on a CSV.
_csv_vms[h] contains vm.name if {
	some vm in facts.seq(object.get(input, "vms", null))
	h := facts.host_key(vm.host)
	some d in facts.seq(object.get(vm, "disks", null))
	object.get(d, "storage", null) == "csv"
}

# Per cluster with CSVs: the evidence entry that lists them.
_csv_evidence := {c: {"path": facts.cluster_path(c, "csvs[].name"), "value": [v.name | some v in csvs]} |
	some c, cl in data.offhost.lib.facts.clusters_by_name
	csvs := object.get(cl, "csvs", null)
	count(facts.seq(csvs)) > 0
}

# member: the served clusters that h is a node of; clusters: those with CSVs; vms: h's VMs with a
# disk on a CSV. (Members whose CSV list was not collected only matter without CSV use: _decide.)
_csv_use(p, h) := {
	"clusters": {c | some c in member; _csv_evidence[c]},
	"member": member,
	"vms": _vms_on(h),
} if {
	served := data.offhost.lib.facts.served_clusters[p]
	member := {c | some c in _clusters_of(h); c in served}
}

# regorus leaves a multi-value rule without any value undefined (OPA: empty), so object.get on
# it would be undefined too (and so would a call taking it as an argument): look up like this.
_vms_on(h) := s if {
	s := _csv_vms[h]
} else := set()

_clusters_of(h) := s if {
	s := _host_clusters[h]
} else := set()

# ---- providers -----------------------------------------------------------------------------

_veeam(pr) if {
	some field in ["name", "vendor"]
	text := object.get(pr, field, null)
	is_string(text)
	regex.match(`(?i)veeam`, text)
}

# _info(host): the host's provider list (null when not collected) and, from it, the hardware
# providers that count (type hardware, not Veeam's own) with their ids.
_info(host) := {
	"path": path,
	"evidence": {"path": path, "value": prs},
	"providers": prs,
	"hardware": c.hardware,
	"ids": c.ids,
} if {
	prs := object.get(data.offhost.lib.facts.hosts_by_name, [host, "vss_providers"], null)
	path := sprintf("hosts[%s].vss_providers", [host]) # facts.host_path: host is normalised
	c := _classification(prs)
}

_classify(prs) := {"hardware": hardware, "ids": {_id(pr) | some pr in hardware}} if {
	hardware := [pr | some pr in facts.seq(prs); pr.type == "hardware"; not _veeam(pr)]
}

# Provider lists repeat from host to host (one storage vendor per cluster): each distinct list is
# classified once.
_lists := {prs |
	some n in data.offhost.lib.facts.proxies | data.offhost.lib.facts.hyperv_hosts
	prs := object.get(data.offhost.lib.facts.hosts_by_name, [n, "vss_providers"], null)
	prs != null
}

_classified := {prs: _classify(prs) | some prs in _lists}

_classification(prs) := c if {
	c := _classified[prs]
} else := _classify(prs)

# Once per proxy (a proxy serves many hosts); hosts on demand.
_infos := {p: _info(p) | some p in data.offhost.lib.facts.proxies}

_host_info(n) := i if {
	i := _infos[n]
} else := _info(n)

_id(pr) := lower(trim(pr.id, "{} "))

_problems(p, h, pi, hi) := array.concat(
	[sprintf("%s has no VSS hardware provider from a storage vendor (%s)", [host, _inventory(i.providers)]) |
		some [host, i] in [[p, pi], [h, hi]]
		i.providers != null
		count(i.hardware) == 0
	],
	[sprintf("%s and %s have no VSS hardware provider in common (%s has %s; %s has %s)", [
		p, h, p, _names(pi.hardware), h, _names(hi.hardware),
	]) |
		count(pi.hardware) > 0
		count(hi.hardware) > 0
		count(pi.ids & hi.ids) == 0
	],
)

_name(pr) := pr.name if {
	is_string(pr.name)
} else := "(no name)"

_names(prs) := concat(", ", [sprintf("%s {%s}", [_name(pr), _id(pr)]) | some pr in prs])

_inventory(prs) := sprintf(
	"Veeam's own hardware provider does not count; it has %s and %s",
	[_names(veeam), _other_text(prs)],
) if {
	veeam := [pr | some pr in prs; pr.type == "hardware"; _veeam(pr)]
	count(veeam) > 0
} else := sprintf("providers: %s", [_other_text(prs)])

_other_text(prs) := "no other provider" if {
	count(_others(prs)) == 0
} else := _names(_others(prs))

_others(prs) := [pr | some pr in prs; pr.type != "hardware"]

_csv_reason(u) := concat("; ", array.concat(
	[sprintf("node of cluster %s", [c]) | some c in u.clusters],
	[sprintf("VM %s has a disk on a CSV", [v]) | some v in u.vms],
))

_fail_message(h, u, problems) := sprintf(
	"%s uses CSV storage (%s) but %s. Off-host backup from a CSV needs the same vendor VSS hardware provider on the proxy and on every Hyper-V host; otherwise the snapshot cannot be transported and jobs fall back to on-host backup.",
	[h, _csv_reason(u), concat("; ", problems)],
)

_pass_message(p, h, u, pi, shared) := sprintf(
	"%s and %s (CSV storage: %s) share the VSS hardware provider %s. Whether it supports transportable shadow copies is the storage vendor's claim and is not verified by this audit.",
	[p, h, _csv_reason(u), _shared_names(p, pi, shared)],
)

# The names of the proxy's providers that are shared; when all of them are (the usual case),
# the text computed once per proxy.
_shared_names(p, pi, shared) := _proxy_names[p] if {
	count(pi.ids - shared) == 0
} else := _names([pr | some pr in pi.hardware; _id(pr) in shared])

_proxy_names := {p: _names(_host_info(p).hardware) | some p in data.offhost.lib.facts.proxies}

_evidence(u, pi, hi) := array.concat(
	[pi.evidence, hi.evidence],
	array.concat(
		[_csv_evidence[c] | some c in u.clusters],
		[{"path": sprintf("vms[%s].disks[].storage", [v]), "value": "csv"} | some v in u.vms],
	),
)
