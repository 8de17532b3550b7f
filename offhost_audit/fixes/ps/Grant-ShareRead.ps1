<#
.SYNOPSIS
    offhost-audit fix: give the proxy's computer account read on an SMB share and its folder.
.DESCRIPTION
    Run on the file server. Takes the "share_read" steps of its data document. The share must
    still exist (exact name) and point at the folder the audit read, else the step stops.
    Share level: Grant-SmbShareAccess REPLACES the account's existing allow entries (granting Read
    to an account with Full lowers it), so the step reads Get-SmbShareAccess first and grants Read
    only when the account has no entry at all; an existing Read/Change/Full is left alone, a
    Custom entry or a Deny entry stops the step (a manual step in the README).
    NTFS level: icacls /grant adds an entry without replacing any (no :r); the account is named by
    its SID (*S-1-5-...), so no account name reaches the command line. Skipped when an allow entry
    for the SID already grants read.
    Each change sits in a ShouldProcess block (-WhatIf, -Confirm).
.PARAMETER DataFile
    The file server's data document (<SERVER>.json in the fix folder).
.EXAMPLE
    .\Grant-ShareRead.ps1 -DataFile .\FS01.json -WhatIf
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
$readBits = 0x120089  # FILE_GENERIC_READ, as the rule counts read
foreach ($step in @($data.steps | Where-Object { $_.kind -eq 'share_read' })) {
    try {
        # Check: the share the audit read, by its exact name.
        $share = @(Get-SmbShare | Where-Object { $_.Name -eq [string]$step.share })
        if ($share.Count -ne 1) { Write-Warning "step $($step.id): share $($step.share) is not on this server (gone since the audit?); stopped"; continue }
        $share = $share[0]
        $sid = New-Object System.Security.Principal.SecurityIdentifier([string]$step.account_sid)
        if ($step.share_level) {
            # Check: the account's own entries on the share (Grant-SmbShareAccess would replace them).
            $entries = @($share | Get-SmbShareAccess | Where-Object { $_.AccountName -eq [string]$step.account })
            $deny = @($entries | Where-Object { "$($_.AccessControlType)" -eq 'Deny' })
            $enough = @($entries | Where-Object { "$($_.AccessControlType)" -eq 'Allow' -and @('Full', 'Change', 'Read') -contains "$($_.AccessRight)" })
            if ($deny.Count -gt 0) {
                Write-Warning "step $($step.id): a Deny entry for $($step.account) on share $($step.share): see the manual steps; share level not changed"
            } elseif ($enough.Count -gt 0) {
                Write-Output "step $($step.id): $($step.account) already has $($enough[0].AccessRight) on share $($step.share); nothing to do"
            } elseif ($entries.Count -gt 0) {
                Write-Warning "step $($step.id): $($step.account) has a Custom entry on share $($step.share) that a grant would replace; change it by hand"
            } elseif ($PSCmdlet.ShouldProcess("share $($step.share)", "Grant-SmbShareAccess -AccessRight Read to $($step.account)")) {
                # Change: add Read for the account (it has no entry to replace).
                $null = $share | Grant-SmbShareAccess -AccountName ([string]$step.account) -AccessRight Read -Force
                Write-Output "step $($step.id): Read granted on share $($step.share)"
            }
        }
        if ($step.ntfs_level) {
            # Check: the share still points at the folder the audit read.
            $path = [string]$share.Path
            if ($path -ne [string]$step.path) { Write-Warning "step $($step.id): share $($step.share) now points at $path, the audit read $($step.path); stopped"; continue }
            if ($path.Contains('"') -or -not (Test-Path -LiteralPath $path -PathType Container)) { Write-Warning "step $($step.id): $path is not a folder here; stopped"; continue }
            $rules = (Get-Acl -LiteralPath $path).GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])
            $has = @($rules | Where-Object { $_.IdentityReference -eq $sid -and "$($_.AccessControlType)" -eq 'Allow' -and (([int]$_.FileSystemRights -band $readBits) -eq $readBits) })
            if ($has.Count -gt 0) {
                Write-Output "step $($step.id): $($step.account) can already read $path (NTFS); nothing to do"
            } elseif ($PSCmdlet.ShouldProcess($path, "icacls /grant *$($sid.Value):(OI)(CI)RX")) {
                # Change: add read and execute, inherited by subfolders and files; existing entries stay.
                $target = $path.TrimEnd('\')
                if ($target.EndsWith(':')) { $target += '\' }
                & icacls.exe $target '/grant' ('*' + $sid.Value + ':(OI)(CI)RX')
                if ($LASTEXITCODE -ne 0) { Write-Warning "step $($step.id): icacls exited with $LASTEXITCODE" }
            }
        }
    } catch {
        Write-Warning "step $($step.id): $($_.Exception.Message); stopped"
    }
}
