# METADATA
# title: Off-host proxy is not a node of the CSV cluster
# description: |
#   For every proxy and every cluster it serves: when the cluster has Cluster Shared Volumes,
#   the proxy must not be one of the cluster's nodes. Membership is decided from the cluster's
#   node list and from the proxy's own cluster fact, with names compared in NetBIOS form
#   (FQDN and case do not matter). A cluster without CSVs is not_applicable; unknown when the
#   CSV list is not collected, or when neither the node list nor the proxy's membership is known.
#   A proxy that serves no cluster gets one proxy-level finding: not_applicable when its
#   assignment names no cluster or the cluster list was collected, unknown (clusters) when it has
#   no assignment and the cluster list was not collected.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (requirements for CSV storage)
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup.html
#     description: Off-Host Backup (transportable shadow copies)
#   - ref: https://msdn.microsoft.com/en-us/library/aa384600.aspx
#     description: Required Behaviors for Shadow Copy Providers (cluster service and hardware shadow copies)
# custom:
#   id: OHP-010
#   remediation: |
#     Give the off-host proxy role to a server outside the Hyper-V cluster that sees the same
#     SAN LUNs: add it in the Veeam console (Backup Infrastructure > Backup Proxies > Add Hyper-V
#     off-host proxy), point the jobs at it, then remove the proxy <proxy> (Backup Proxies >
#     <proxy> > Remove). Do not evict <proxy> from <cluster> to fix this: it runs production VMs.
package offhost.csv.not_cluster_node

import rego.v1

import data.offhost.lib.csvs
import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-010"

findings contains f if {
	some p in data.offhost.lib.facts.proxies
	some c in data.offhost.lib.facts.served_clusters[p]
	f := _finding(p, c)
}

# A proxy that serves no cluster: one finding for the proxy itself (policies/lib/csvs.rego).
findings contains f if some f in csvs.no_cluster_findings(_rule)

_finding(p, c) := result.unknown(_rule, _subject(p, c), [facts.cluster_path(c, "csvs")]) if {
	not facts.has(data.offhost.lib.facts.clusters_by_name, [c, "csvs"])
} else := result.not_applicable(
	_rule, _subject(p, c),
	sprintf("cluster %s has no Cluster Shared Volumes (csvs is empty): the rule only concerns CSV storage", [c]),
) if {
	count(data.offhost.lib.facts.clusters_by_name[c].csvs) == 0
} else := result.fail(_rule, _subject(p, c), _fail_message(p, c), _evidence(p, c)) if {
	_is_node(p, c)
} else := result.pass(_rule, _subject(p, c), _pass_message(p, c), _evidence(p, c)) if {
	_not_node(p, c)
} else := result.unknown(_rule, _subject(p, c), _missing(p, c))

_subject(p, c) := result.proxy_cluster_subject(p, c)

_nodes(c) := object.get(data.offhost.lib.facts.clusters_by_name, [c, "nodes"], null)

_membership(p) := object.get(data.offhost.lib.facts.hosts_by_name, [p, "cluster"], null)

_node_names(c) := {facts.host_key(n) | some n in facts.seq(_nodes(c))}

# The proxy is a node: listed among the cluster's nodes, or its own fact says so.
_is_node(p, c) if p in _node_names(c)

_is_node(p, c) if _member_of(p) == c

# The cluster name the proxy says it belongs to (normalised); undefined when not a member or unknown.
_member_of(p) := facts.norm(m.name) if {
	m := _membership(p)
	m.member == true
	is_string(m.name)
}

# Not a node: the node list is known and does not name the proxy, or (list unknown) the proxy's
# own fact says it is in no cluster or in another one. Only reached when _is_node is false.
_not_node(p, c) if _nodes(c) != null

_not_node(p, c) if _membership(p).member == false

_not_node(p, c) if {
	_member_of(p) != c
}

_missing(p, c) := [facts.cluster_path(c, "nodes"), facts.host_path(p, "cluster.name")] if {
	_membership(p).member == true
} else := [facts.cluster_path(c, "nodes"), facts.host_path(p, "cluster")]

_membership_text(p) := "not collected" if {
	_membership(p) == null
} else := "not a member of any cluster" if {
	_membership(p).member == false
} else := sprintf("member of cluster %v", [_membership(p).name])

_nodes_text(c) := "not collected" if {
	_nodes(c) == null
} else := concat(", ", _nodes(c))

_csv_names(c) := [object.get(v, "name", "?") | some v in data.offhost.lib.facts.clusters_by_name[c].csvs]

_fail_message(p, c) := sprintf(
	"%s is a node of Hyper-V cluster %s (cluster nodes: %s; the proxy's own cluster fact: %s). The cluster has CSVs (%s): with the off-host proxy on one of its nodes the cluster fails during VM data processing, because a transportable snapshot of a CSV must be imported on a host outside the cluster.",
	[p, c, _nodes_text(c), _membership_text(p), concat(", ", _csv_names(c))],
)

_pass_message(p, c) := sprintf(
	"%s is not a node of Hyper-V cluster %s (cluster nodes: %s; the proxy's own cluster fact: %s), so snapshots of its CSVs (%s) can be imported on the proxy.",
	[p, c, _nodes_text(c), _membership_text(p), concat(", ", _csv_names(c))],
)

_evidence(p, c) := [
	{"path": facts.cluster_path(c, "nodes"), "value": _nodes(c)},
	{"path": facts.host_path(p, "cluster"), "value": _membership(p)},
	{"path": facts.cluster_path(c, "csvs[].name"), "value": _csv_names(c)},
]
