# backup_server.ps1: the backup server's own view through the Veeam PowerShell module (VBR 12, or a
# Windows VBR 13): version; Hyper-V hosts, clusters (nodes by ParentId) and SMB3 servers; Hyper-V
# off-host proxies and their state; Hyper-V backup jobs (processing mode, proxy selection, failover
# to on-host, the objects they process); per Hyper-V host the VSS provider VBR uses for its volumes.
# Read only. Read defensively: a property or cmdlet this release does not have is $null and its
# path is listed in Missing (an unknown fact, never a crash); one host or job that cannot be read is
# listed in Errors and the others are still read. Module absent: says so, facts stay unknown.
# Property names: VeeamHub BR-Dump-Object, AsBuiltReport.Veeam.VBR, Veeam's PowerShell reference;
# FailoverToSoftwareProvider on a volume is unverified (absent: the failover is unknown).
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if (-not (Get-Module -ListAvailable -Name Veeam.Backup.PowerShell)) {
    [pscustomobject]@{ Module = 'absent' } | ConvertTo-Json -Compress
    return
}
Import-Module -Name Veeam.Backup.PowerShell -WarningAction SilentlyContinue
$missing = New-Object System.Collections.Generic.List[string]
$errors = New-Object System.Collections.Generic.List[string]

# The value at a dotted property path, or $null when any step is $null or not a property here.
function Get-Prop($Object, [string[]]$Paths) {
    foreach ($path in $Paths) {
        $value = $Object
        $found = $true
        foreach ($part in $path.Split('.')) {
            if ($null -eq $value) { break }
            $prop = $value.PSObject.Properties[$part]
            if (-not $prop) { $found = $false; break }
            $value = $prop.Value
        }
        if ($found) { return $value }
    }
    if (-not $missing.Contains($Paths[0])) { $missing.Add($Paths[0]) }
    return $null
}

function Test-Cmdlet([string]$Name) {
    if (Get-Command -Name $Name -ErrorAction SilentlyContinue) { return $true }
    if (-not $missing.Contains($Name)) { $missing.Add($Name) }
    return $false
}

function Text($Value) { if ($null -eq $Value) { $null } else { [string]$Value } }

$version = $null
if (Test-Cmdlet 'Get-VBRBackupServerInfo') { $version = Text (Get-Prop (Get-VBRBackupServerInfo) @('Build')) }

$servers = @()
$hvServers = @()
foreach ($type in @('HvServer', 'HvCluster', 'SmbServer', 'SmbCluster', 'Scvmm')) {
    try {
        foreach ($s in @(Get-VBRServer -Type $type)) {
            if ($type -eq 'HvServer') { $hvServers += $s }
            $servers += [pscustomobject]@{
                Name          = Text (Get-Prop $s @('Name'))
                Type          = $type
                Id            = Text (Get-Prop $s @('Id'))
                ParentId      = Text (Get-Prop $s @('ParentId'))
                IsUnavailable = Get-Prop $s @('IsUnavailable')
            }
        }
    } catch { $errors.Add("Get-VBRServer -Type ${type}: $($_.Exception.Message)") }
}

$proxies = @()
if (Test-Cmdlet 'Get-VBRHvProxy') {
    foreach ($p in @(Get-VBRHvProxy)) {
        $unavailable = Get-Prop $p @('Host.IsUnavailable')
        $proxies += [pscustomobject]@{
            Name      = Text (Get-Prop $p @('Name'))
            Id        = Text (Get-Prop $p @('Id'))
            Host      = Text (Get-Prop $p @('Host.Name'))
            Type      = Text (Get-Prop $p @('Type'))
            MaxTasks  = Get-Prop $p @('MaxTasksCount', 'Options.MaxTasksCount')
            Disabled  = Get-Prop $p @('IsDisabled')
            Online    = if ($null -eq $unavailable) { $null } else { -not $unavailable }
            OutOfDate = Get-Prop $p @('IsOutOfDate', 'Host.IsOutOfDate')
        }
    }
}

$hosts = @()
if (Test-Cmdlet 'Get-VBRHvServerVolume') {
    foreach ($s in $hvServers) {
        $name = Text (Get-Prop $s @('Name'))
        try {
            $volumes = @(Get-VBRHvServerVolume -Server $s | ForEach-Object {
                [pscustomobject]@{
                    MountPoint = Text (Get-Prop $_ @('MountPoint'))
                    Provider   = Text (Get-Prop $_ @('VssProvider.Name'))
                    ProviderId = Text (Get-Prop $_ @('VssProvider.Id'))
                    Failover   = Get-Prop $_ @('FailoverToSoftwareProvider')
                }
            })
            $hosts += [pscustomobject]@{ Name = $name; Volumes = $volumes }
        } catch { $errors.Add("Get-VBRHvServerVolume -Server ${name}: $($_.Exception.Message)") }
    }
}

$jobs = $null
if (Test-Cmdlet 'Get-VBRJob') {
    $jobs = @()
    $hvJobs = @(Get-VBRJob -WarningAction SilentlyContinue | Where-Object {
        (Text (Get-Prop $_ @('TypeToString'))) -eq 'Hyper-V Backup' -or
        ((Text (Get-Prop $_ @('JobType'))) -eq 'Backup' -and (Text (Get-Prop $_ @('BackupPlatform.Platform', 'BackupPlatform'))) -match 'HyperV')
    })
    foreach ($j in $hvJobs) {
        $name = Text (Get-Prop $j @('Name'))
        try {
            $listed = $null
            if (Test-Cmdlet 'Get-VBRJobProxy') {
                $listed = @(Get-VBRJobProxy -Job $j | ForEach-Object {
                    $h = Text (Get-Prop $_ @('Host.Name'))
                    if ($h) { $h } else { Text (Get-Prop $_ @('Name')) }
                })
            }
            $objects = $null
            if (Test-Cmdlet 'Get-VBRJobObject') {
                $objects = @(Get-VBRJobObject -Job $j | ForEach-Object {
                    [pscustomobject]@{
                        Name     = Text (Get-Prop $_ @('Name'))
                        Kind     = Text (Get-Prop $_ @('Object.Type', 'TypeDisplayName'))
                        Host     = Text (Get-Prop $_ @('Object.Host.Name', 'Location'))
                        Excluded = (Text (Get-Prop $_ @('Type'))) -eq 'Exclude'
                    }
                })
            }
            $jobs += [pscustomobject]@{
                Name      = $name
                Id        = Text (Get-Prop $j @('Id'))
                Enabled   = Get-Prop $j @('IsScheduleEnabled', 'Info.IsScheduleEnabled')
                OffHost   = Get-Prop $j @('HvSourceOptions.OffHostBackup', 'Options.HvSourceOptions.OffHostBackup')
                Failover  = Get-Prop $j @('HvSourceOptions.FailoverToOnHostBackup', 'Options.HvSourceOptions.FailoverToOnHostBackup')
                AutoProxy = Get-Prop $j @('Options.JobOptions.SourceProxyAutoDetect', 'SourceProxyAutoDetect')
                Proxies   = $listed
                Objects   = $objects
            }
        } catch { $errors.Add("job ${name}: $($_.Exception.Message)") }
    }
}

[pscustomobject]@{
    Module  = 'present'
    Server  = $env:COMPUTERNAME
    Version = $version
    Servers = $servers
    Proxies = $proxies
    Hosts   = $hosts
    Jobs    = $jobs
    Missing = @($missing)
    Errors  = @($errors)
} | ConvertTo-Json -Compress -Depth 5
