# METADATA
# title: Source Hyper-V host or cluster registered before the proxy
# description: |
#   For every off-host proxy and every source it serves (each host or cluster of its assignment;
#   every Hyper-V host when it has no assignment): the source is a managed server on the backup
#   server (vbr.managed_servers, from Get-VBRServer). A host also counts as registered when its
#   cluster (from clusters[].nodes or the host's cluster.name) is. Names compare in NetBIOS form.
#   Unknown when the backup server was not queried (vbr.managed_servers null or absent), or when a
#   host is not listed and its cluster membership was not collected while clusters are registered.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/add_hyperv_proxy.html
#     description: Adding Microsoft Hyper-V Off-Host Backup Proxies
# custom:
#   id: OHP-005
#   remediation: |
#     In the Veeam console, add the Hyper-V host or its failover cluster first (Backup
#     Infrastructure > Managed Servers > Add Server > Microsoft Hyper-V), or with PowerShell
#     `Add-VBRHvHost` / `Add-VBRHvCluster`; then assign (or re-assign) the off-host proxy role.
package offhost.general.source_registered

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-005"

_assignments := [a | some a in facts.seq(object.get(input, "assignments", null)); is_object(a)]

# _sources: [proxy, kind, name] for every source a proxy serves.
_sources contains [p, s.kind, facts.norm(s.name)] if {
	some a in _assignments
	p := facts.norm(a.proxy)
	p in data.offhost.lib.facts.proxies
	some s in a.sources
}

_sources contains [p, "host", hn] if {
	some p in data.offhost.lib.facts.proxies
	not p in data.offhost.lib.facts.assigned_proxies
	some hn in data.offhost.lib.facts.served_hosts[p]
}

findings contains _decide(s[0], s[1], s[2]) if some s in _sources

_subject(p, "host", n) := result.proxy_host_subject(p, n)

_subject(p, "cluster", n) := result.proxy_cluster_subject(p, n)

_queried if is_array(object.get(input, ["vbr", "managed_servers"], null))

_managed_list := facts.seq(object.get(input, ["vbr", "managed_servers"], null))

_managed := {facts.host_key(m.name) | some m in _managed_list}

# Messages and evidence quote at most _shown_max registered servers (a backup server can manage
# thousands): enough to see what is there, not a copy of the list in every finding.
_shown_max := 10

_managed_labels := sort([sprintf("%s (%s)", [m.name, m.type]) | some m in _managed_list])

_managed_names := concat(", ", _managed_labels) if {
	count(_managed_labels) <= _shown_max
} else := sprintf("%s, ... (%d in all)", [concat(", ", array.slice(_managed_labels, 0, _shown_max)), count(_managed_labels)])

_managed_sorted := sort([facts.host_key(m.name) | some m in _managed_list])

# Fail evidence: the registered names (the first _shown_max of them, then the count).
_managed_evidence := {"path": "vbr.managed_servers", "value": _managed_sorted} if {
	count(_managed_sorted) <= _shown_max
} else := {
	"path": "vbr.managed_servers",
	"value": array.concat(array.slice(_managed_sorted, 0, _shown_max), [sprintf("... (%d in all)", [count(_managed_sorted)])]),
}

# Pass evidence: the managed-server entry that matched.
_managed_entries[n] contains m if {
	some m in _managed_list
	n := facts.host_key(m.name)
}

_match_evidence(n) := {"path": sprintf("vbr.managed_servers[%s]", [n]), "value": sort([m | some m in _managed_entries[n]])}

_scvmm := [m.name | some m in _managed_list; m.type == "scvmm"]

# The clusters a host belongs to, by either source of truth, with the fact path that says so.
# _node_of[hn]: the clusters that list hn as a node, indexed once (a scan of every cluster per
# host is quadratic).
_node_of[hn] contains {"value": facts.norm(c.name), "path": facts.cluster_path(c.name, "nodes")} if {
	some c in facts.seq(object.get(input, "clusters", null))
	some node in facts.seq(object.get(c, "nodes", null))
	hn := facts.host_key(node)
}

# (regorus leaves a multi-value rule without any value undefined, OPA makes it empty.)
_listed_in(hn) := s if {
	s := _node_of[hn]
} else := set()

_host_clusters(hn) := _listed_in(hn) | {{"value": facts.norm(h.cluster.name), "path": facts.host_path(hn, "cluster.name")} |
	h := data.offhost.lib.facts.hosts_by_name[hn]
	is_string(h.cluster.name)
	h.cluster.member != false
}

_membership_known(hn, _) if is_object(data.offhost.lib.facts.hosts_by_name[hn].cluster)

_membership_known(_, hc) if count(hc) > 0

_clusters_registered if {
	some m in _managed_list
	m.type == "cluster"
}

_scvmm_note := sprintf("; SCVMM server(s) %s are registered: if the source is managed through SCVMM, register it directly", [concat(", ", _scvmm)]) if {
	count(_scvmm) > 0
} else := ""

_not_listed(p, kind, n) := sprintf("%s %s, served by proxy %s, is not a managed server on the backup server (registered: %s)", [
	kind, n, p, _or_none(_managed_names),
])

_or_none(s) := s if {
	s != ""
} else := "none"

_decide(p, kind, n) := result.unknown_because(
	_rule, _subject(p, kind, n), ["vbr.managed_servers"],
	"the backup server was not queried for its managed servers",
) if {
	not _queried
} else := result.pass(
	_rule, _subject(p, kind, n),
	sprintf("%s %s is registered on the backup server", [kind, n]),
	[_match_evidence(n)],
) if {
	n in _managed
} else := _host_via_cluster(p, n, _host_clusters(n)) if {
	kind == "host"
} else := result.fail(
	_rule, _subject(p, kind, n),
	sprintf("%s%s", [_not_listed(p, kind, n), _scvmm_note]),
	[_managed_evidence],
)

_cluster_evidence(hc) := sort([e | some e in hc])

# hc: the host's clusters (_host_clusters), computed once per host.
_host_via_cluster(p, hn, hc) := result.pass(
	_rule, _subject(p, "host", hn),
	sprintf("host %s is registered through its cluster %s", [hn, concat(", ", sort(registered))]),
	array.concat([_match_evidence(c) | some c in sort(registered)], _cluster_evidence(hc)),
) if {
	registered := {e.value | some e in hc; e.value in _managed}
	count(registered) > 0
} else := result.unknown_because(
	_rule, _subject(p, "host", hn), [facts.host_path(hn, "cluster")],
	sprintf("host %s is not registered by name; its cluster membership is unknown and clusters are registered", [hn]),
) if {
	not _membership_known(hn, hc)
	_clusters_registered
} else := result.fail(
	_rule, _subject(p, "host", hn),
	sprintf("%s%s%s", [_not_listed(p, "host", hn), _cluster_note(hc), _scvmm_note]),
	array.concat([_managed_evidence], _cluster_evidence(hc)),
)

_cluster_note(hc) := sprintf("; nor is its cluster %s", [concat(", ", sort({e.value | some e in hc}))]) if {
	count(hc) > 0
} else := ""
