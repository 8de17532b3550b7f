<#
.SYNOPSIS
    offhost-audit fix: expose virtualization extensions to a VM proxy (nested virtualization).
.DESCRIPTION
    Run on the Hyper-V host that runs the proxy VM (the audit read the proxy, not its host: this
    script finds the VM by its exact name on this host and stops when it is not here). Takes the
    "nested_virtualization" steps of the proxy's data document. Check first: the VM's
    ExposeVirtualizationExtensions; already on -> says so. The setting can only change while the VM
    is off: a running VM stops the step with a message (shutting a proxy down is the admin's call).
    The change sits in a ShouldProcess block (-WhatIf, -Confirm). Run it before the Hyper-V role is
    installed inside the VM (Install-ProxyFeature.ps1).
.PARAMETER DataFile
    The proxy's data document (<PROXY>.json in the fix folder).
.EXAMPLE
    .\Enable-NestedVirtualization.ps1 -DataFile .\PROXY05.json -WhatIf
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
param([Parameter(Mandatory = $true)][string]$DataFile)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# --- the data document (no computer-name or build check: this machine is the VM's host, not the proxy) ---
$data = Get-Content -LiteralPath $DataFile -Raw -Encoding UTF8 | ConvertFrom-Json
if ($data.format -ne 'offhost-audit-fix-data/1') { throw "$($DataFile) is not an offhost-audit fix data document" }

# --- the steps ------------------------------------------------------------------------------------
foreach ($step in @($data.steps | Where-Object { $_.kind -eq 'nested_virtualization' })) {
    $name = [string]$step.vm
    # Check: the VM is on this host (exact name, no wildcard), and whether the extensions are exposed.
    $vm = @(Get-VM | Where-Object { $_.Name -eq $name })
    if ($vm.Count -ne 1) { Write-Warning "step $($step.id): $($vm.Count) VMs named $name on this host: run this on the host that runs it; stopped"; continue }
    $vm = $vm[0]
    if ((Get-VMProcessor -VM $vm).ExposeVirtualizationExtensions) {
        Write-Output "step $($step.id): nested virtualization is already on for $name; nothing to do"; continue
    }
    if ("$($vm.State)" -ne 'Off') { Write-Warning "step $($step.id): VM $name is $($vm.State); shut it down, then run again; stopped"; continue }
    # Change: expose the virtualization extensions.
    if ($PSCmdlet.ShouldProcess("VM $name on $env:COMPUTERNAME", 'Set-VMProcessor -ExposeVirtualizationExtensions $true')) {
        Set-VMProcessor -VM $vm -ExposeVirtualizationExtensions $true
        Write-Output "step $($step.id): nested virtualization on for $name; start the VM, then install Hyper-V in it"
    }
}
