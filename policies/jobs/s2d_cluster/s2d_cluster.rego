# METADATA
# title: No off-host job over a Storage Spaces Direct cluster
# description: |
#   Stage 2, for every cluster an off-host job covers (a cluster it lists, or a host or VM on one
#   of its nodes): VBR supports on-host processing only for Storage Spaces Direct, so the job
#   processes that cluster's VMs on-host whatever its proxies. Fails when the cluster has S2D
#   enabled, passes when it does not, unknown when s2d_enabled was not collected. When every job
#   that covers the cluster has a mode that was not read, an S2D cluster is unknown.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/backup_job_storage_hv.html
#     description: Backup Job (Hyper-V), Storage step (on-host and off-host processing)
#   - ref: https://bp.veeam.com/vbr/2_Design_Structures/D_hyperv/
#     description: Veeam best practice guide, Hyper-V (Storage Spaces Direct allows on-host mode only)
# custom:
#   id: OHP-043
#   remediation: |
#     Set the jobs that process cluster <cluster>'s VMs to on-host backup (job > Storage >
#     Choose > On-host backup) and size the cluster nodes for the backup load, so that the
#     reports no longer promise an off-host backup that cannot happen.
package offhost.jobs.s2d_cluster

import rego.v1

import data.offhost.jobs.lib
import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-043"

# _covering[cluster]: the names of the jobs that cover it.
_covering[c] contains j.name if {
	some j in data.offhost.jobs.lib.active_jobs
	some s in facts.seq(object.get(j, "sources", null))
	some c in lib.source_clusters(s)
}

findings contains _decide(c, sort(names)) if some c, names in _covering

_s2d(c) := object.get(data.offhost.lib.facts.clusters_by_name, [c, "s2d_enabled"], null)

_mode_known(names) if {
	some j in data.offhost.jobs.lib.active_jobs
	j.name in names
	j.mode == "off_host"
}

_evidence(c, names) := [
	{"path": facts.cluster_path(c, "s2d_enabled"), "value": _s2d(c)},
	{"path": "vbr.jobs[].name", "value": names},
]

_decide(c, names) := result.unknown(_rule, result.cluster_subject(c), [facts.cluster_path(c, "s2d_enabled")]) if {
	_s2d(c) == null
} else := result.fail(
	_rule, result.cluster_subject(c),
	sprintf("cluster %s has Storage Spaces Direct, which VBR processes on-host only: off-host job(s) %s process its VMs on the production hosts", [c, concat(", ", names)]),
	_evidence(c, names),
) if {
	_s2d(c) == true
	_mode_known(names)
} else := result.unknown(_rule, result.cluster_subject(c), [sprintf("vbr.jobs[%s].mode", [n]) | some n in names]) if {
	_s2d(c) == true
} else := result.pass(
	_rule, result.cluster_subject(c),
	sprintf("cluster %s does not use Storage Spaces Direct: off-host processing is possible for job(s) %s", [c, concat(", ", names)]),
	_evidence(c, names),
)
