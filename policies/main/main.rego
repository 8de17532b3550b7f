# METADATA
# title: All findings
# description: |
#   The one query the engine runs: every finding of every rule area, in one pass over the facts.
#   Rules live in data.offhost.<area>.<rule>.findings; the areas are listed here explicitly.
package offhost.main

import rego.v1

areas := {"general", "csv", "smb", "vm"}

findings contains f if {
	some area in areas
	some f in data.offhost[area][_].findings
}
