<#
.SYNOPSIS
    offhost-audit fix: reconnect a known iSCSI target on the proxy, persistently.
.DESCRIPTION
    Takes the "iscsi_session" steps of the proxy's data document: targets the audit saw with a
    disconnected session. Check first: Get-IscsiTarget for that exact IQN; connected -> says so;
    not known to this initiator any more (no target portal) -> stops the step: adding a portal or
    the array's access list is a manual step. Connect-IscsiTarget -IsPersistent sits in a
    ShouldProcess block (-WhatIf, -Confirm).
.PARAMETER DataFile
    The proxy's data document (<PROXY>.json in the fix folder).
.EXAMPLE
    .\Connect-IscsiSession.ps1 -DataFile .\PROXY01.json -WhatIf
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
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
foreach ($step in @($data.steps | Where-Object { $_.kind -eq 'iscsi_session' })) {
    $iqn = [string]$step.target
    # Check: the target, by its exact node address.
    $target = @(Get-IscsiTarget -ErrorAction SilentlyContinue | Where-Object { $_.NodeAddress -eq $iqn })
    if ($target.Count -ne 1) { Write-Warning "step $($step.id): iSCSI target $iqn is not known to this initiator (no portal); stopped"; continue }
    if ($target[0].IsConnected) { Write-Output "step $($step.id): $iqn is already connected; nothing to do"; continue }
    # Change: connect, and reconnect after a restart.
    if ($PSCmdlet.ShouldProcess($iqn, 'Connect-IscsiTarget -IsPersistent $true')) {
        $null = Connect-IscsiTarget -NodeAddress $target[0].NodeAddress -IsPersistent $true
        Write-Output "step $($step.id): $iqn connected (persistent)"
    }
}
