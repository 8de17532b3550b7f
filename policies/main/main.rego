# METADATA
# title: All findings
# description: |
#   The one query the engine runs: every finding of every rule, in one pass over the facts.
#   The rules are listed here explicitly, one line each (a rule that is not listed never runs:
#   tests/engine/test_registry.py checks that every rule folder is). A dynamic reference such as
#   data.offhost[area][_] would also reach this package and the test packages, which OPA rejects
#   as recursion.
package offhost.main

import rego.v1

findings contains f if some f in data.offhost.general.hyperv_role.findings

findings contains f if some f in data.offhost.general.os_parity.findings

findings contains f if some f in data.offhost.general.os_supported.findings

findings contains f if some f in data.offhost.general.physical_proxy.findings

findings contains f if some f in data.offhost.general.sizing.findings

findings contains f if some f in data.offhost.general.source_registered.findings

findings contains f if some f in data.offhost.general.veeam_services.findings

findings contains f if some f in data.offhost.csv.dedup.findings

findings contains f if some f in data.offhost.csv.not_cluster_node.findings

findings contains f if some f in data.offhost.csv.san_access.findings

findings contains f if some f in data.offhost.csv.vss_hardware_provider.findings

findings contains f if some f in data.offhost.smb.computer_account_access.findings

findings contains f if some f in data.offhost.smb.domain_trust.findings

findings contains f if some f in data.offhost.smb.share_read_access.findings

findings contains f if some f in data.offhost.smb.smb3_dialect.findings

findings contains f if some f in data.offhost.vm.disk_location.findings

findings contains f if some f in data.offhost.vm.no_vhd_set.findings
