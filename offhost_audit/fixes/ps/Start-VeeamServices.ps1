<#
.SYNOPSIS
    offhost-audit fix: set the proxy's Veeam services to start automatically and start them.
.DESCRIPTION
    Takes the "veeam_services" steps of the proxy's data document. For each service: check the
    fact the rule read (Get-Service: status, start type); a service that is gone stops its step
    (VBR reinstalls it: rescan the server in the console); an automatic, running one is left alone.
    Each change (Set-Service, Start-Service) sits in a ShouldProcess block (-WhatIf, -Confirm).
.PARAMETER DataFile
    The proxy's data document (<PROXY>.json in the fix folder).
.EXAMPLE
    .\Start-VeeamServices.ps1 -DataFile .\PROXY01.json -WhatIf
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
$allowed = @('VeeamDeploySvc', 'VeeamDeploymentService', 'VeeamTransportSvc', 'VeeamHvIntegrationSvc')
foreach ($step in @($data.steps | Where-Object { $_.kind -eq 'veeam_services' })) {
    foreach ($name in @($step.services)) {
        if ($allowed -notcontains [string]$name) { Write-Warning "step $($step.id): $name is not a Veeam service; skipped"; continue }
        # Check: the fact the rule read.
        $svc = Get-Service | Where-Object { $_.Name -eq [string]$name }
        if ($null -eq $svc) { Write-Warning "step $($step.id): service $name is not installed (gone since the audit): rescan the proxy in VBR; stopped"; continue }
        if ("$($svc.StartType)" -eq 'Automatic') {
            Write-Output "step $($step.id): $($svc.Name) already starts automatically"
        } elseif ($PSCmdlet.ShouldProcess($svc.Name, 'Set-Service -StartupType Automatic')) {
            # Change: the start type (a disabled service cannot start).
            Set-Service -Name $svc.Name -StartupType Automatic
        }
        if ("$($svc.Status)" -eq 'Running') {
            Write-Output "step $($step.id): $($svc.Name) is already running; nothing to do"
        } elseif ($PSCmdlet.ShouldProcess($svc.Name, 'Start-Service')) {
            # Change: start it.
            Start-Service -Name $svc.Name
            Write-Output "step $($step.id): $($svc.Name) started"
        }
    }
}
