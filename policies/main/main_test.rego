package offhost.main_test

import rego.v1

import data.offhost.main

# A proxy with no facts beyond its role, one VM with a local disk: every area that has a subject
# here reports, and nothing is lost on the way through main.
_facts := {
	"schema_version": 1,
	"hosts": [
		{"name": "PROXY01", "roles": ["proxy"]},
		{"name": "HV01", "roles": ["hyperv_host"]},
	],
	"vms": [{"name": "VM01", "host": "HV01", "disks": [{"path": "D:\\VMs\\VM01.vhdx", "storage": "local"}]}],
}

test_findings_gathers_every_area if {
	rules := {f.rule_id | some f in main.findings} with input as _facts
	{"OHP-001", "OHP-004", "OHP-007", "OHP-030", "OHP-031"} & rules == {"OHP-001", "OHP-004", "OHP-007", "OHP-030", "OHP-031"}
}

test_missing_facts_are_unknown_never_pass if {
	fs := main.findings with input as _facts
	by_rule := {f.rule_id: f.status | some f in fs; f.subject.name == "PROXY01"}
	by_rule["OHP-001"] == "unknown"
	by_rule["OHP-004"] == "unknown"
}

test_every_finding_has_the_contract_fields if {
	fs := main.findings with input as _facts
	count(fs) > 0
	every f in fs {
		f.rule_id
		f.status in {"fail", "pass", "unknown", "not_applicable"}
		f.severity in {"critical", "high", "medium", "low", "info"}
		f.subject.kind
		f.subject.name
		is_string(f.message)
		is_array(f.evidence)
	}
}

# Stage 2 is its own query: the job rules answer job_findings, never findings.
test_job_findings_gathers_the_job_rules_and_findings_does_not if {
	inp := data.offhost.jobs.lib_test.estate
	rules := {f.rule_id | some f in main.job_findings} with input as inp
	rules == {"OHP-040", "OHP-041", "OHP-042", "OHP-043"}
	stage1 := {f.rule_id | some f in main.findings} with input as inp
	count(stage1 & rules) == 0
}
