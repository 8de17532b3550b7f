# METADATA
# title: All findings
# description: |
#   The one query the engine runs: every finding of every rule, in one pass over the facts.
#   Rules are found, not listed (as Regal's main.rego finds its rules): every package
#   offhost.<area>.<rule> that defines `findings` contributes. One line per area, not one
#   data.offhost[area] reference: that would also reach this package, which OPA rejects as
#   recursion. Libraries (offhost.smb.lib) and test packages define no `findings`.
package offhost.main

import rego.v1

findings contains f if some f in data.offhost.general[_].findings

findings contains f if some f in data.offhost.csv[_].findings

findings contains f if some f in data.offhost.smb[_].findings

findings contains f if some f in data.offhost.vm[_].findings

# Stage 2: the job rules (policies/jobs/), queried apart, after stage 1, over a small input that
# offhost_audit/findings/jobs.py builds: the backup server's section, the hosts' and clusters'
# names and memberships, and each proxy x source verdict of stage 1 (`pairs`). They stay out of
# `findings`: stage 1 may split the estate into parts, and the jobs span all of them.
job_findings contains f if some f in data.offhost.jobs[_].findings
