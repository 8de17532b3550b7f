<#
.SYNOPSIS
    offhost-audit fix: remove proxies VBR cannot use from a job's off-host proxy list.
.DESCRIPTION
    Run on the Windows backup server (the Veeam PowerShell module; a VBR 13 Linux appliance gets a
    manual step with the REST call instead). Takes the "vbr_job_proxies" steps of its data
    document. Check first: the job (exact name) and its proxy list (Get-VBRJobProxy). A list that
    differs from the one the audit read stops the step (someone changed the job); a list without
    the proxies to remove -> says so. The job keeps the other proxies it listed; a list that would
    become empty stops the step (choosing proxies is a manual step). Set-VBRJobProxy sits in a
    ShouldProcess block (-WhatIf, -Confirm).
.PARAMETER DataFile
    The backup server's data document (<VBR>.json in the fix folder).
.EXAMPLE
    .\Set-VbrJobProxies.ps1 -DataFile .\VBR01.json -WhatIf
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
Import-Module Veeam.Backup.PowerShell -ErrorAction Stop

# --- the steps ------------------------------------------------------------------------------------
foreach ($step in @($data.steps | Where-Object { $_.kind -eq 'vbr_job_proxies' })) {
    # Check: the job, by its exact name, and the proxies it lists now.
    $job = @(Get-VBRJob -WarningAction SilentlyContinue | Where-Object { $_.Name -eq [string]$step.job })
    if ($job.Count -ne 1) { Write-Warning "step $($step.id): VBR has $($job.Count) jobs named $($step.job); stopped"; continue }
    $listed = @(Get-VBRJobProxy -Job $job[0] -WarningAction SilentlyContinue)
    $names = @($listed | ForEach-Object { ([string]$_.Name).ToUpperInvariant() } | Sort-Object)
    $audited = @($step.audited | ForEach-Object { ([string]$_).ToUpperInvariant() } | Sort-Object)
    $remove = @($step.remove | ForEach-Object { ([string]$_).ToUpperInvariant() })
    $keep = @($listed | Where-Object { $remove -notcontains ([string]$_.Name).ToUpperInvariant() })
    if ($keep.Count -eq $listed.Count) { Write-Output "step $($step.id): job $($step.job) lists none of the proxies to remove; nothing to do"; continue }
    if (($names -join "`n") -ne (($audited | Where-Object { $names -contains $_ }) -join "`n") -or $keep.Count -eq 0) {
        Write-Warning "step $($step.id): job $($step.job) lists other proxies than the audit read, or none would remain; stopped"; continue
    }
    # Change: the job's proxy list without the unusable ones.
    if ($PSCmdlet.ShouldProcess("job $($step.job)", "Set-VBRJobProxy without $($step.remove -join ', ')")) {
        $null = Set-VBRJobProxy -Job $job[0] -Proxy $keep
        Write-Output "step $($step.id): job $($step.job) now lists $(@($keep | ForEach-Object { $_.Name }) -join ', ')"
    }
}
