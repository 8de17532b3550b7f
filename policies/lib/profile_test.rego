package offhost.lib.profile_test

import rego.v1

import data.offhost.lib.profile

test_default_profile if {
	profile.name == "veeam-2025-08" with input as {"vbr": {"profile": null}}
}

test_facts_choose_the_profile if {
	profile.name == "veeam-2026-02" with input as {"vbr": {"profile": "veeam-2026-02"}}
}

test_option_wins_over_facts if {
	profile.name == "veeam-2025-08" with input as {"vbr": {"profile": "veeam-2026-02"}}
		with data.offhost.options.profile as "veeam-2025-08"
}

test_variant_severity_and_fallback if {
	profile.severity("OHP-003.no_hyperv") == "high"
	profile.severity("OHP-004.no_such_variant") == "high"
	profile.severity("OHP-003.no_hyperv") == "info" with data.offhost.options.profile as "veeam-2026-02"
}

test_clauses_per_profile if {
	profile.clause("dedup_version_parity")
	not profile.clause("dedup_version_parity") with data.offhost.options.profile as "veeam-2026-02"
}

test_every_rule_has_a_severity_in_every_profile if {
	ids := {sprintf("OHP-%03d", [n]) | some n in [1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31]}
	every _, p in data.offhost.data.profiles.profiles {
		every id in ids {
			p.severity[id] in {"critical", "high", "medium", "low", "info"}
		}
	}
}
