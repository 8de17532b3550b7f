# METADATA
# title: The frame shared by the CSV rules
# description: |
#   What every rule over a proxy's CSVs does besides judging one CSV: it walks the CSVs of the
#   clusters each proxy serves (served_csvs), gives a served cluster whose CSV list was not
#   collected one unknown for all of its CSVs, and gives a proxy that serves no cluster one
#   proxy-level finding (frame_findings). This package emits no findings of its own.
package offhost.lib.csvs

import rego.v1

import data.offhost.lib.facts
import data.offhost.lib.result

# served_csvs[proxy]: [cluster, csv] for every CSV of every cluster the proxy serves, in the
# order of each cluster's CSV list (clusters whose CSV list was not collected add nothing here).
served_csvs := {p: [[c, v] |
	some c in data.offhost.lib.facts.served_clusters[p]
	some v in facts.seq(object.get(data.offhost.lib.facts.clusters_by_name, [c, "csvs"], null))
] |
	some p in data.offhost.lib.facts.proxies
}

# frame_findings(rule_id): the findings of a per-CSV rule that judge no single CSV: one unknown
# (subject "PROXY -> CLUSTER/*") per served cluster whose CSV list was not collected, and
# no_cluster_findings.
frame_findings(rule_id) := {result.unknown(rule_id, result.proxy_csv_subject(p, c, "*"), [facts.cluster_path(c, "csvs")]) |
	some p in data.offhost.lib.facts.proxies
	some c in data.offhost.lib.facts.served_clusters[p]
	not facts.has(data.offhost.lib.facts.clusters_by_name, [c, "csvs"])
} | no_cluster_findings(rule_id)

# no_cluster_findings(rule_id): a proxy that serves no cluster has no CSV to back up from: one
# finding for the proxy itself. Not applicable when its assignment decides (it names no cluster)
# or when the cluster list was collected (possibly empty); unknown when it serves every cluster
# and that list was not collected.
no_cluster_findings(rule_id) := {no_cluster_finding(rule_id, p) |
	some p in data.offhost.lib.facts.proxies
	count(data.offhost.lib.facts.served_clusters[p]) == 0
}

no_cluster_finding(rule_id, p) := result.unknown_because(
	rule_id, result.proxy_subject(p), ["clusters"],
	sprintf("%s has no assignment, so it serves every Hyper-V cluster, and the cluster list is missing", [p]),
) if {
	not p in data.offhost.lib.facts.assigned_proxies
	object.get(input, "clusters", null) == null
} else := result.not_applicable(
	rule_id, result.proxy_subject(p),
	sprintf("%s serves no Hyper-V cluster (%s), so no CSV: this rule concerns off-host backup from CSV storage only", [p, _no_cluster_reason(p)]),
)

_no_cluster_reason(p) := "its assignment names no cluster" if {
	p in data.offhost.lib.facts.assigned_proxies
} else := "the facts list no cluster"
