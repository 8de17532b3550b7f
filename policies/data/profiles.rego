# METADATA
# title: Guidance profiles and platform data
# description: |
#   Policy data, kept as Rego so that `opa test policies/`, `opa run policies/` and the embedded
#   engine all load it the same way. Severity per rule (and per variant) for each profile, the
#   profile switches, and the Windows Server builds each VBR major version supports for an
#   off-host proxy.
# related_resources:
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/offhost_backup_proxy.html
#   - ref: https://helpcenter.veeam.com/docs/vbr/userguide/system_requirements_hv_proxy.html
package offhost.data.profiles

import rego.v1

_base_severity := {
	"OHP-001": "high",
	"OHP-002": "high",
	"OHP-003": "medium",
	"OHP-003.no_hyperv": "high",
	"OHP-004": "high",
	"OHP-005": "medium",
	"OHP-006": "medium",
	"OHP-007": "medium",
	"OHP-010": "critical",
	"OHP-011": "high",
	"OHP-011.on_the_fly": "medium",
	"OHP-012": "high",
	"OHP-013": "high",
	"OHP-020": "high",
	"OHP-021": "high",
	"OHP-022": "high",
	"OHP-022.one_way": "medium",
	"OHP-023": "high",
	"OHP-030": "high",
	"OHP-031": "info",
	"OHP-040": "high",
	"OHP-040.failover_off": "critical",
	"OHP-041": "high",
	"OHP-042": "medium",
	"OHP-042.failover": "low",
	"OHP-043": "medium",
}

profiles := {
	# The seed page (Veeam user guide 13.0.1.1071, 26 Aug 2025) and VBR 12 guidance.
	"veeam-2025-08": {
		"description": "Veeam guidance as of August 2025 (v12 and early v13): OS parity, physical proxy, dedup version parity.",
		"severity": _base_severity,
		"clauses": {"dedup_version_parity": true},
	},
	# The v13 guide after 24 Feb 2026 dropped the OS-parity note, the physical-machine rule and
	# the dedup version-parity clause.
	"veeam-2026-02": {
		"description": "Current v13 guidance (24 Feb 2026): OS parity and physical proxy are informational; no dedup parity clause.",
		"severity": object.union(_base_severity, {
			"OHP-002": "info",
			"OHP-003": "info",
			"OHP-003.no_hyperv": "info",
		}),
		"clauses": {"dedup_version_parity": false},
	},
}

# Windows Server releases by build number (LTSC). Builds are compared, never captions.
windows_server_releases := {
	"9200": "Windows Server 2012",
	"9600": "Windows Server 2012 R2",
	"14393": "Windows Server 2016",
	"17763": "Windows Server 2019",
	"20348": "Windows Server 2022",
	"26100": "Windows Server 2025",
}

# Builds supported for a Hyper-V off-host proxy, by VBR major version. v13 is from the v13
# system requirements; v12 is from memory of the v12 page (unverified: edit here if needed).
supported_proxy_builds := {
	"12": {"9600", "14393", "17763", "20348", "26100"},
	"13": {"14393", "17763", "20348", "26100"},
}

# The VBR major version assumed when the facts do not say.
default_vbr_major := "13"
