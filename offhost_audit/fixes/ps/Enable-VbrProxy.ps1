<#
.SYNOPSIS
    offhost-audit fix: enable a disabled Hyper-V off-host proxy in Veeam Backup & Replication.
.DESCRIPTION
    Run on the Windows backup server (the Veeam PowerShell module; a VBR 13 Linux appliance gets a
    manual step with the REST call instead). Takes the "vbr_proxy_enable" steps of its data
    document. Check first: Get-VBRHvProxy by exact name, IsDisabled (what the audit read); enabled
    -> says so; gone -> stops the step. Enable-VBRHvProxy sits in a ShouldProcess block (-WhatIf,
    -Confirm).
.PARAMETER DataFile
    The backup server's data document (<VBR>.json in the fix folder).
.EXAMPLE
    .\Enable-VbrProxy.ps1 -DataFile .\VBR01.json -WhatIf
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
Import-Module Veeam.Backup.PowerShell -ErrorAction Stop

# --- the steps ------------------------------------------------------------------------------------
foreach ($step in @($data.steps | Where-Object { $_.kind -eq 'vbr_proxy_enable' })) {
    # Check: the proxy, by its exact name (Get-VBRHvProxy -Name takes wildcards: filter instead).
    $proxy = @(Get-VBRHvProxy | Where-Object { $_.Name -eq [string]$step.proxy })
    if ($proxy.Count -ne 1) { Write-Warning "step $($step.id): VBR has $($proxy.Count) Hyper-V proxies named $($step.proxy); stopped"; continue }
    if (-not $proxy[0].IsDisabled) { Write-Output "step $($step.id): proxy $($step.proxy) is already enabled; nothing to do"; continue }
    # Change: enable it.
    if ($PSCmdlet.ShouldProcess("proxy $($step.proxy)", 'Enable-VBRHvProxy')) {
        $null = Enable-VBRHvProxy -Proxy $proxy[0]
        Write-Output "step $($step.id): proxy $($step.proxy) enabled"
    }
}
