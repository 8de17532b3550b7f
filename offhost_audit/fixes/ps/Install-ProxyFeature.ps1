<#
.SYNOPSIS
    offhost-audit fix: install a Windows feature on the proxy (Hyper-V role, Data Deduplication).
.DESCRIPTION
    Reads the machine's data document written by `offhost-audit fix` and takes its
    "windows_feature" steps. Each step first reads the fact the rule read (Get-WindowsFeature
    <name>).Installed: already installed -> says so, changes nothing. Otherwise it installs the
    feature inside a ShouldProcess block (-WhatIf shows it, -Confirm asks). It never restarts the
    machine: the output says when a restart is needed. Values from the data document are passed to
    cmdlets as parameters only, never run as script text.
.PARAMETER DataFile
    The data document for this machine (<HOST>.json in the fix folder).
.EXAMPLE
    .\Install-ProxyFeature.ps1 -DataFile .\PROXY05.json -WhatIf
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
param([Parameter(Mandatory = $true)][string]$DataFile)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# --- the data document, and the machine it was written for ---------------------------------------
$data = Get-Content -LiteralPath $DataFile -Raw -Encoding UTF8 | ConvertFrom-Json
if ($data.format -ne 'offhost-audit-fix-data/1') { throw "$($DataFile) is not an offhost-audit fix data document" }
$me = @($env:COMPUTERNAME) + @(Get-NetIPAddress -ErrorAction SilentlyContinue | ForEach-Object { $_.IPAddress })
$short = if ([string]$data.host -match '^[0-9.]+$|:') { [string]$data.host } else { ([string]$data.host -split '\.')[0] }
if ($me -notcontains $short) { throw "this data document is for $($data.host), not $($env:COMPUTERNAME); nothing changed" }
$build = [int](Get-CimInstance -ClassName Win32_OperatingSystem).BuildNumber
if ($null -ne $data.audit.os_build -and $build -ne [int]$data.audit.os_build) {
    throw "the audit read OS build $($data.audit.os_build) on this machine, it now runs $($build); audit again before fixing; nothing changed"
}

# --- the steps ------------------------------------------------------------------------------------
$allowed = @('Hyper-V', 'FS-Data-Deduplication')
foreach ($step in @($data.steps | Where-Object { $_.kind -eq 'windows_feature' })) {
    $name = [string]$step.feature
    if ($allowed -notcontains $name) { Write-Warning "step $($step.id): $name is not a feature this script installs; stopped"; continue }
    # Check: the fact the rule read.
    $feature = Get-WindowsFeature | Where-Object { $_.Name -eq $name }
    if ($null -eq $feature) { Write-Warning "step $($step.id): Windows feature $name does not exist here; stopped"; continue }
    if ($feature.Installed) { Write-Output "step $($step.id): $name is already installed; nothing to do"; continue }
    # Change: install the feature (Hyper-V in a VM needs nested virtualization first: Enable-NestedVirtualization.ps1).
    if ($PSCmdlet.ShouldProcess($env:COMPUTERNAME, "Install-WindowsFeature $name")) {
        try {
            $result = Install-WindowsFeature -Name $feature.Name -IncludeManagementTools:([bool]$step.include_management_tools)
            Write-Output "step $($step.id): $name installed; restart needed: $($result.RestartNeeded)"
        } catch {
            Write-Warning "step $($step.id): installing $name failed: $($_.Exception.Message)"
        }
    }
}
