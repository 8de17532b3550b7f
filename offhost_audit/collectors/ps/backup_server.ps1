# backup_server.ps1: the backup server's view (Veeam PowerShell module): version, Hyper-V servers
# added to the infrastructure, Hyper-V off-host proxies. Module absent: says so, facts stay unknown.
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if (-not (Get-Module -ListAvailable -Name Veeam.Backup.PowerShell)) {
    [pscustomobject]@{ Module = 'absent' } | ConvertTo-Json -Compress
    return
}
Import-Module -Name Veeam.Backup.PowerShell -WarningAction SilentlyContinue
$version = $null
if (Get-Command -Name Get-VBRBackupServerInfo -ErrorAction SilentlyContinue) {
    $version = [string](Get-VBRBackupServerInfo).Build
}
$servers = @(Get-VBRServer | Select-Object Name, @{ n = 'Type'; e = { [string]$_.Type } })
# MaxTasksCount sits on the proxy or on its Options depending on the release: read whichever exists.
$proxies = @(Get-VBRHvProxy | ForEach-Object {
    $p = $_
    $max = $null
    if ($p.PSObject.Properties['MaxTasksCount']) { $max = $p.MaxTasksCount }
    elseif ($p.PSObject.Properties['Options'] -and $p.Options -and $p.Options.PSObject.Properties['MaxTasksCount']) {
        $max = $p.Options.MaxTasksCount
    }
    $disabled = $null
    if ($p.PSObject.Properties['IsDisabled']) { $disabled = $p.IsDisabled }
    [pscustomobject]@{ Name = $p.Name; MaxTasks = $max; Disabled = $disabled }
})
[pscustomobject]@{
    Module   = 'present'
    Server   = $env:COMPUTERNAME
    Version  = $version
    Servers  = $servers
    Proxies  = $proxies
} | ConvertTo-Json -Compress -Depth 3
