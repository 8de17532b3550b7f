# METADATA
# title: Guidance profile
# description: |
#   Picks the active profile: data.offhost.options.profile (the CLI's --profile) wins, then the
#   facts' vbr.profile, then the default. Severities and clauses come from data.offhost.data.profiles.
package offhost.lib.profile

import rego.v1

default_name := "veeam-2025-08"

# is_string: a null fact ("not collected") is truthy in Rego, so test the type.
name := data.offhost.options.profile if {
	is_string(data.offhost.options.profile)
} else := input.vbr.profile if {
	is_string(input.vbr.profile)
} else := default_name

settings := data.offhost.data.profiles.profiles[name]

# severity(key): a rule id ("OHP-003") or a variant ("OHP-003.no_hyperv"); a variant without an
# entry falls back to its rule's severity.
severity(key) := settings.severity[key]

severity(key) := settings.severity[parts[0]] if {
	not settings.severity[key]
	parts := split(key, ".")
}

# clause(name): a profile switch such as "dedup_version_parity".
clause(clause_name) if settings.clauses[clause_name] == true
