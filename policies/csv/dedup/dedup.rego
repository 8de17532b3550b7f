# METADATA
# title: Data Deduplication on the proxy for deduplicated CSVs
# description: |
#   For every proxy and every CSV of every cluster it serves: when the CSV has Data
#   Deduplication enabled, the proxy must have the Data Deduplication feature, and (under the
#   profile veeam-2025-08, clause dedup_version_parity) the proxy's Windows build must equal
#   the build of every node of that cluster. A CSV without deduplication is not_applicable;
#   unknown when the CSV list, the CSV's dedup state, the proxy's feature or (with the parity
#   clause) a build or the node list was not collected.
#   A proxy that serves no cluster gets one proxy-level finding: not_applicable when its
#   assignment names no cluster or the cluster list was collected, unknown (clusters) when it has
#   no assignment and the cluster list was not collected.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#     description: Off-Host Backup Proxy (CSV with Data Deduplication)
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup.html
#     description: Off-Host Backup (how the proxy mounts the CSV snapshot)
# custom:
#   id: OHP-012
#   remediation: |
#     On the proxy, install the Data Deduplication feature: Install-WindowsFeature
#     -Name FS-Data-Deduplication (Server Manager > Add Roles and Features > File and Storage
#     Services > Data Deduplication). Under the veeam-2025-08 guidance also run the same Windows
#     Server release on the proxy as on the cluster nodes (compare (Get-CimInstance
#     Win32_OperatingSystem).BuildNumber on each), upgrading the proxy or choosing another one.
package offhost.csv.dedup

import rego.v1

import data.offhost.lib.csvs
import data.offhost.lib.facts
import data.offhost.lib.profile
import data.offhost.lib.result

_rule := "OHP-012"

# One unknown per served cluster whose CSV list is missing, one finding per proxy serving no
# cluster (policies/lib/csvs.rego), then one finding per CSV.
findings contains f if some f in csvs.frame_findings(_rule)

findings contains f if {
	some p, pairs in data.offhost.lib.csvs.served_csvs
	some [c, csv] in pairs
	f := _finding(p, c, csv)
}

_finding(p, c, csv) := result.unknown(_rule, _subject(p, c, csv), [_csv_path(c, csv)]) if {
	object.get(csv, "dedup_enabled", null) == null
} else := result.not_applicable(
	_rule, _subject(p, c, csv),
	sprintf("CSV %s of cluster %s does not have Data Deduplication enabled (dedup_enabled false)", [csv.name, c]),
) if {
	csv.dedup_enabled == false
} else := result.fail(_rule, _subject(p, c, csv), _fail_message(p, c, csv), _evidence(p, c, csv)) if {
	count(_problems(p, c)) > 0
} else := result.unknown(_rule, _subject(p, c, csv), _missing(p, c)) if {
	count(_missing(p, c)) > 0
} else := result.pass(_rule, _subject(p, c, csv), _pass_message(p, c, csv), _evidence(p, c, csv))

_subject(p, c, csv) := result.proxy_csv_subject(p, c, csv.name)

_csv_path(c, csv) := facts.cluster_path(c, sprintf("csvs[%s].dedup_enabled", [csv.name]))

_dedup(p) := object.get(data.offhost.lib.facts.hosts_by_name, [p, "features", "dedup"], null)

_build(host) := object.get(data.offhost.lib.facts.hosts_by_name, [host, "os", "build"], null)

_nodes(c) := object.get(data.offhost.lib.facts.clusters_by_name, [c, "nodes"], null)

_node_keys(c) := [facts.host_key(n) | some n in facts.seq(_nodes(c))]

_parity if profile.clause("dedup_version_parity")

# What is wrong, as sentences; a known problem fails even when other facts are missing.
_problems(p, c) := array.concat(_feature_problem(p), _parity_problems(p, c))

_feature_problem(p) := [sprintf("the Data Deduplication feature is not installed on %s (features.dedup false)", [p])] if {
	_dedup(p) == false
} else := []

_parity_problems(p, c) := [sprintf(
	"%s runs build %v (%s) but node %s runs build %v (%s), and profile %s requires proxy and host versions to coincide",
	[p, _build(p), _release(_build(p)), n, _build(n), _release(_build(n)), data.offhost.lib.profile.name],
) |
	_parity
	_build(p) != null
	some n in _node_keys(c)
	_build(n) != null
	_build(n) != _build(p)
]

_missing(p, c) := [path |
	some [path, value] in array.concat([[facts.host_path(p, "features.dedup"), _dedup(p)]], _parity_facts(p, c))
	value == null
]

# The facts the parity clause needs: the proxy's build, the node list, every node's build.
_parity_facts(p, c) := array.concat(
	[[facts.host_path(p, "os.build"), _build(p)], [facts.cluster_path(c, "nodes"), _nodes(c)]],
	[[facts.host_path(n, "os.build"), _build(n)] | some n in _node_keys(c)],
) if {
	_parity
} else := []

_release(build) := object.get(data.offhost.data.profiles.windows_server_releases, sprintf("%v", [build]), "unknown release")

_node_builds_text(c) := concat(", ", [sprintf("%s build %v", [n, _build(n)]) | some n in _node_keys(c)])

_fail_message(p, c, csv) := sprintf(
	"CSV %s of cluster %s has Data Deduplication enabled, but %s. Off-host backup of VMs on a deduplicated CSV fails without this.",
	[csv.name, c, concat("; and ", _problems(p, c))],
)

_pass_message(p, c, csv) := sprintf(
	"CSV %s of cluster %s has Data Deduplication enabled; %s has the Data Deduplication feature and runs build %v (%s), the same as every node (%s), as profile %s requires.",
	[csv.name, c, p, _build(p), _release(_build(p)), _node_builds_text(c), data.offhost.lib.profile.name],
) if {
	_parity
} else := sprintf(
	"CSV %s of cluster %s has Data Deduplication enabled and %s has the Data Deduplication feature; profile %s does not require matching Windows versions.",
	[csv.name, c, p, data.offhost.lib.profile.name],
)

_evidence(p, c, csv) := array.concat(
	[
		{"path": _csv_path(c, csv), "value": csv.dedup_enabled},
		{"path": facts.host_path(p, "features.dedup"), "value": _dedup(p)},
		{"path": facts.host_path(p, "os.build"), "value": _build(p)},
	],
	[{"path": facts.host_path(n, "os.build"), "value": _build(n)} | _parity; some n in _node_keys(c)],
)
