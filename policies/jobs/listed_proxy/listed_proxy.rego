# METADATA
# title: A proxy a job lists is a working off-host proxy in VBR
# description: |
#   Stage 2, for every job that may process off-host and lists its proxies (no automatic
#   selection), and every proxy it lists: the backup server knows it as an off-host proxy, and it
#   is not disabled, online, and its Veeam components are up to date. A known problem fails; a
#   state field that was not read (or the proxy list, or the job's selection) is unknown.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/backup_job_storage_hv.html
#     description: Backup Job (Hyper-V), Storage step (choosing off-host backup proxies)
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/assign_proxy.html
#     description: Assigning Backup Proxies
# custom:
#   id: OHP-041
#   remediation: |
#     In the Veeam console (Backup Infrastructure > Backup Proxies) enable <candidate>, bring its
#     server back online, or upgrade its components (Upgrade on the proxy's server); or edit job
#     <job>'s Storage step and list off-host proxies that exist and work.
package offhost.jobs.listed_proxy

import rego.v1

import data.offhost.jobs.lib
import data.offhost.lib.facts
import data.offhost.lib.result

_rule := "OHP-041"

_fixed(j) if object.get(j, ["proxies", "automatic"], null) == false

findings contains f if {
	some j in data.offhost.jobs.lib.active_jobs
	_fixed(j)
	some n in facts.seq(object.get(j, ["proxies", "names"], null))
	f := _decide(j, facts.norm(n))
}

# The selection was not read: one unknown for the job's listed proxies.
findings contains result.unknown(_rule, result.job_proxy_subject(j.name, "*"), [lib.job_path(j, "proxies")]) if {
	some j in data.offhost.jobs.lib.active_jobs
	not is_boolean(object.get(j, ["proxies", "automatic"], null))
}

findings contains result.unknown(_rule, result.job_proxy_subject(j.name, "*"), [lib.job_path(j, "proxies.names")]) if {
	some j in data.offhost.jobs.lib.active_jobs
	_fixed(j)
	not is_array(object.get(j, ["proxies", "names"], null))
}

_evidence(p) := [{"path": sprintf("vbr.proxies[%s]", [p]), "value": object.get(data.offhost.jobs.lib.vbr_proxies, p, null)}]

_decide(j, p) := result.fail(
	_rule, result.job_proxy_subject(j.name, p),
	sprintf("job %s lists proxy %s, which VBR cannot use: %s", [j.name, p, concat("; ", lib.state_blocks(p))]),
	_evidence(p),
) if {
	count(lib.state_blocks(p)) > 0
} else := result.unknown(_rule, result.job_proxy_subject(j.name, p), lib.state_missing(p)) if {
	count(lib.state_missing(p)) > 0
} else := result.pass(
	_rule, result.job_proxy_subject(j.name, p),
	sprintf("job %s lists proxy %s: an off-host proxy in VBR, enabled, online and up to date", [j.name, p]),
	_evidence(p),
)
