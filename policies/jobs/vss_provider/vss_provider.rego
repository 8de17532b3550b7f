# METADATA
# title: VBR uses a hardware VSS provider for the host's volumes
# description: |
#   Stage 2, for every Hyper-V host an off-host job covers (a host it lists, a VM's host, the
#   nodes of a cluster it lists) and every host the backup server reported volume settings for:
#   off-host processing of CSV needs transportable hardware snapshots, so VBR's volume setting
#   must name a hardware VSS provider (fail, medium, when it names Microsoft's software provider).
#   VBR's fail-over to the software provider when the hardware one fails is on by default, and
#   then the backup silently stops being off-host (fail, low). Unknown when the setting was not
#   readable (REST reads standalone hosts only, with the Administrator role). A host that no
#   off-host job covers is not applicable when the jobs and their sources were read.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/hv_server_volumes.html
#     description: Managing Volumes (VSS provider and fail-over to the software provider)
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup.html
#     description: Off-Host Backup (transportable shadow copies)
# custom:
#   id: OHP-042
#   remediation: |
#     In the Veeam console, Backup Infrastructure > Managed Servers > <host> > Manage Volumes:
#     select the storage vendor's hardware VSS provider for the CSV volumes, and clear "Fail over
#     to Microsoft Software VSS provider" where a silent on-host backup is worse than a failed one.
package offhost.jobs.vss_provider

import rego.v1

import data.offhost.jobs.lib
import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-042"

# The hosts the off-host jobs cover are known: the jobs were read, and the sources of each one that may
# process off-host (a job whose sources were not read might cover any host).
_jobs_known if {
	is_array(object.get(input, ["vbr", "jobs"], null))
	every j in data.offhost.jobs.lib.active_jobs {
		is_array(object.get(j, "sources", null))
	}
}

_settings := {facts.host_key(h.name): h | some h in facts.seq(object.get(input, ["vbr", "hyperv_hosts"], null))}

_covered contains h if {
	some j in data.offhost.jobs.lib.active_jobs
	some s in facts.seq(object.get(j, "sources", null))
	some h in lib.source_hosts(s)
}

_hosts := {h | some h, _ in _settings} | _covered

findings contains _decide(h) if some h in _hosts

_path(h, field) := sprintf("vbr.hyperv_hosts[%s].%s", [h, field])

_evidence(h) := [{"path": sprintf("vbr.hyperv_hosts[%s]", [h]), "value": object.get(_settings, h, null)}]

_decide(h) := result.not_applicable(
	_rule, result.host_subject(h),
	sprintf("no off-host job covers host %s: VBR's VSS provider there does not decide an off-host backup", [h]),
) if {
	_jobs_known
	not h in _covered
} else := result.unknown(_rule, result.host_subject(h), [_path(h, "vss_provider")]) if {
	object.get(_settings, [h, "vss_provider"], null) == null
} else := result.fail(
	_rule, result.host_subject(h),
	sprintf("VBR uses Microsoft's software VSS provider for the volumes of host %s: its snapshots cannot be transported to an off-host proxy, so off-host processing of its CSV volumes is impossible", [h]),
	_evidence(h),
) if {
	_settings[h].vss_provider == "software"
} else := result.unknown(_rule, result.host_subject(h), [_path(h, "failover_to_software")]) if {
	object.get(_settings, [h, "failover_to_software"], null) == null
} else := result.fail_as(
	_rule, "failover", result.host_subject(h),
	sprintf("VBR fails over to Microsoft's software VSS provider on host %s when the hardware provider fails (on by default): such a snapshot cannot be transported, so the job silently processes the host on-host instead of off-host", [h]),
	_evidence(h),
) if {
	_settings[h].failover_to_software == true
} else := result.pass(
	_rule, result.host_subject(h),
	sprintf("VBR uses a hardware VSS provider for the volumes of host %s and does not fail over to the software provider", [h]),
	_evidence(h),
)
