<#
.SYNOPSIS
    offhost-audit fix: set the proxy's SAN policy to OfflineShared.
.DESCRIPTION
    Takes the "san_policy" steps of the proxy's data document. A proxy outside the cluster must
    keep shared LUNs offline (OnlineAll on a server that shares disks risks corrupting them), so
    set OfflineShared before the array presents the CSV LUNs to it (the zoning / masking itself is a
    manual step). Check first: Get-StorageSetting's NewDiskPolicy, the fact the audit read:
    already OfflineShared or OfflineAll -> says so. Another value than the audit read stops the
    step. The change sits in a ShouldProcess block (-WhatIf, -Confirm).
.PARAMETER DataFile
    The proxy's data document (<PROXY>.json in the fix folder).
.EXAMPLE
    .\Set-SanPolicy.ps1 -DataFile .\PROXY01.json -WhatIf
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
# NewDiskPolicy as the audit names it (MSFT_StorageSetting: 1 OnlineAll, 2 OfflineShared, 3 OfflineAll, 4 OfflineInternal)
$names = @{ '1' = 'online_all'; '2' = 'offline_shared'; '3' = 'offline_all'; '4' = 'offline_internal';
    'OnlineAll' = 'online_all'; 'OfflineShared' = 'offline_shared'; 'OfflineAll' = 'offline_all'; 'OfflineInternal' = 'offline_internal' }
foreach ($step in @($data.steps | Where-Object { $_.kind -eq 'san_policy' })) {
    # Check: the fact the audit read.
    $raw = "$((Get-StorageSetting).NewDiskPolicy)"
    $now = if ($names.ContainsKey($raw)) { $names[$raw] } else { $raw }
    if (@('offline_shared', 'offline_all') -contains $now) { Write-Output "step $($step.id): the SAN policy is already $now; nothing to do"; continue }
    if ($now -ne [string]$step.audited) { Write-Warning "step $($step.id): the SAN policy is $now, the audit read $($step.audited); stopped"; continue }
    # Change: new shared disks come up offline on this server.
    if ($PSCmdlet.ShouldProcess($env:COMPUTERNAME, "Set-StorageSetting -NewDiskPolicy OfflineShared (was $now)")) {
        Set-StorageSetting -NewDiskPolicy OfflineShared
        Write-Output "step $($step.id): SAN policy set to OfflineShared"
    }
}
