# METADATA
# title: Finding builders
# description: |
#   The one way every rule builds a finding. Title, remediation and doc link are joined on the
#   Python side from the rule's METADATA block (regorus has no rego.metadata.*), so a finding only
#   carries what the evaluation decided: rule id, status, severity, subject, message, evidence.
package offhost.lib.result

import rego.v1

import data.offhost.lib.profile

# The builders write the finding object inline and read severities by their full path: regorus
# charges several microseconds per function call, and an estate of 10,000 hosts has tens of
# thousands of findings.

# fail(rule_id, subject, message, evidence): severity from the active profile.
fail(rule_id, subject, message, evidence) := {
	"rule_id": rule_id, "status": "fail", "severity": data.offhost.lib.profile.settings.severity[rule_id],
	"subject": subject, "message": message, "evidence": evidence, "missing": [],
}

# fail_as(rule_id, variant, ...): severity of a named variant, e.g. "OHP-003.no_hyperv".
fail_as(rule_id, variant, subject, message, evidence) := {
	"rule_id": rule_id, "status": "fail", "severity": profile.severity(concat(".", [rule_id, variant])),
	"subject": subject, "message": message, "evidence": evidence, "missing": [],
}

pass(rule_id, subject, message, evidence) := {
	"rule_id": rule_id, "status": "pass", "severity": data.offhost.lib.profile.settings.severity[rule_id],
	"subject": subject, "message": message, "evidence": evidence, "missing": [],
}

# unknown(rule_id, subject, missing): `missing` lists the fact paths that could not be read.
unknown(rule_id, subject, missing) := {
	"rule_id": rule_id, "status": "unknown", "severity": data.offhost.lib.profile.settings.severity[rule_id],
	"subject": subject, "message": sprintf("cannot decide: fact(s) not collected: %s", [concat(", ", missing)]),
	"evidence": [{"path": p, "value": null} | some p in missing], "missing": missing,
}

# unknown_because(rule_id, subject, missing, why): like unknown, with a sentence saying why the
# facts are missing (e.g. "the backup server was not queried").
unknown_because(rule_id, subject, missing, why) := {
	"rule_id": rule_id, "status": "unknown", "severity": data.offhost.lib.profile.settings.severity[rule_id],
	"subject": subject,
	"message": sprintf("cannot decide: fact(s) not collected: %s (%s)", [concat(", ", missing), why]),
	"evidence": [{"path": p, "value": null} | some p in missing], "missing": missing,
}

not_applicable(rule_id, subject, reason) := {
	"rule_id": rule_id, "status": "not_applicable", "severity": data.offhost.lib.profile.settings.severity[rule_id],
	"subject": subject, "message": reason, "evidence": [], "missing": [],
}

# Three-valued logic, stated once. A rule that lacks some facts judges its subject twice: with
# every missing fact at its least favourable value (`lowest`: does the subject pass even then?)
# and at its most favourable (`highest`: could it pass at all?). When both answers agree, the
# missing facts cannot change the verdict and it stands; only when they differ is the subject
# unknown. undecided(lowest, highest, missing): the missing fact paths to report, or [] when the
# verdict is decided. Example: a deny ACE on a SID the account certainly holds refuses read
# whatever groups the unread facts would add (lowest and highest both false).
undecided(lowest, highest, missing) := [] if lowest == highest else := missing

# maybe_served_finding(rule_id, p, h, missing): the finding of a (proxy, host) rule for a host the
# proxy may serve (data.offhost.lib.facts.maybe_served): unknown, naming the missing facts.
maybe_served_finding(rule_id, p, h, missing) := unknown_because(
	rule_id, proxy_host_subject(p, h), missing,
	sprintf("whether %s serves %s is not known: the cluster's node list and the host's own membership are missing", [p, h]),
)

# Subjects. `name` is what a user reads in a table; the other keys relate the objects.
proxy_subject(proxy) := {"kind": "proxy", "name": proxy, "proxy": proxy}

proxy_host_subject(proxy, host) := {"kind": "proxy_host", "name": sprintf("%s -> %s", [proxy, host]), "proxy": proxy, "host": host}

proxy_cluster_subject(proxy, cluster) := {
	"kind": "proxy_cluster", "name": sprintf("%s -> %s", [proxy, cluster]),
	"proxy": proxy, "cluster": cluster,
}

proxy_csv_subject(proxy, cluster, csv) := {
	"kind": "proxy_csv", "name": sprintf("%s -> %s/%s", [proxy, cluster, csv]),
	"proxy": proxy, "cluster": cluster, "csv": csv,
}

proxy_share_subject(proxy, share) := {"kind": "proxy_share", "name": sprintf("%s -> %s", [proxy, share]), "proxy": proxy, "share": share}

proxy_server_subject(proxy, server) := {
	"kind": "proxy_server", "name": sprintf("%s -> %s", [proxy, server]),
	"proxy": proxy, "server": server,
}

host_share_subject(host, share) := {"kind": "host_share", "name": sprintf("%s -> %s", [host, share]), "host": host, "share": share}

vm_subject(vm, host) := {"kind": "vm", "name": vm, "vm": vm, "host": host}

# host_vms_subject(host): every VM of a host whose VM inventory was not collected ("HV1/*").
host_vms_subject(host) := {"kind": "vm", "name": sprintf("%s/*", [host]), "vm": "*", "host": host}

# Stage 2 subjects (policies/jobs/). They carry no `proxy` key: a job's finding is not one of a
# proxy's (findings/verdicts.py leaves job subjects out of the pair verdicts).
job_source_subject(job, kind, source) := {
	"kind": "job_source", "name": sprintf("%s -> %s %s", [job, kind, source]),
	"job": job, "source_kind": kind, "source": source,
}

job_proxy_subject(job, proxy) := {"kind": "job_proxy", "name": sprintf("%s -> %s", [job, proxy]), "job": job, "candidate": proxy}

host_subject(host) := {"kind": "host", "name": host, "host": host}

cluster_subject(cluster) := {"kind": "cluster", "name": cluster, "cluster": cluster}
