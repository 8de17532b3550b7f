# backup_server.ps1: the backup server's own view through the Veeam PowerShell module (VBR 12, or a
# Windows VBR 13): version; Hyper-V hosts, clusters (nodes by ParentId), SMB3 and SCVMM servers;
# Hyper-V off-host proxies and their state; Hyper-V backup jobs (processing mode, proxy selection,
# failover to on-host, the objects they process); per Hyper-V host the VSS provider VBR uses for
# its volumes. Read only. Read defensively: P (property) and S (its text) give $null for a property
# this release does not have and list its path in Missing, C lists a cmdlet it lacks (an unknown
# fact, never a crash); a host or job that cannot be read goes to Errors, the others are still read.
# Kept short: it travels as -EncodedCommand through cmd.exe (8191 characters at most).
# Property names: VeeamHub BR-Dump-Object, AsBuiltReport.Veeam.VBR, Veeam's PowerShell reference;
# FailoverToSoftwareProvider on a volume is unverified (absent: the failover is unknown).
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if (-not (Get-Module -ListAvailable Veeam.Backup.PowerShell)) { @{ Module='absent' } | ConvertTo-Json -Compress;return }
Import-Module Veeam.Backup.PowerShell -WA 0
$M=New-Object Collections.Generic.List[string]
$E=@()
function P($o, [string[]]$ps) {
foreach ($p in $ps) { $v=$o;$ok=1
foreach ($n in $p.Split('.')) { if ($null -eq $v) { break };$q=$v.PSObject.Properties[$n];if (!$q) { $ok=0;break };$v=$q.Value }
if ($ok) { return $v } }
if (!$M.Contains($ps[0])) { $M.Add($ps[0]) } }
function S($o, [string[]]$ps) { $v=P $o $ps;if ($null -ne $v) { [string]$v } }
function C($n) { if (Get-Command $n -EA 0) { 1 } else { $M.Add($n);0 } }
$V=$null;if (C Get-VBRBackupServerInfo) { $V=S (Get-VBRBackupServerInfo) Build }
$Sv=@();$Hv=@()
foreach ($t in 'HvServer', 'HvCluster', 'SmbServer', 'SmbCluster', 'Scvmm') { try { foreach ($s in @(Get-VBRServer -Type $t)) {
if ($t -eq 'HvServer') { $Hv += $s }
$Sv += @{ Name=S $s Name;Type=$t;Id=S $s Id;ParentId=S $s ParentId } } } catch { $E += "servers ${t}: $_" } }
$Px=@();if (C Get-VBRHvProxy) { foreach ($p in @(Get-VBRHvProxy)) {
$Px += @{ Name=S $p Name;Host=S $p Host.Name;MaxTasks=P $p MaxTasksCount, Options.MaxTasksCount
Disabled=P $p IsDisabled;Unavailable=P $p Host.IsUnavailable;OutOfDate=P $p IsOutOfDate } } }
$Hs=@();if (C Get-VBRHvServerVolume) { foreach ($s in $Hv) { $n=S $s Name;try {
$Hs += @{ Name=$n;Volumes=@(Get-VBRHvServerVolume -Server $s | % { @{ Provider=S $_ VssProvider.Name;Failover=P $_ FailoverToSoftwareProvider } }) }
} catch { $E += "volumes of ${n}: $_" } } }
$J=$null;if (C Get-VBRJob) { $J=@();$xp=C Get-VBRJobProxy;$xo=C Get-VBRJobObject
foreach ($j in @(Get-VBRJob -WA 0 | ? { (S $_ TypeToString) -eq 'Hyper-V Backup' })) {
$n=S $j Name;try { $J += @{ Name=$n;Enabled=P $j IsScheduleEnabled
OffHost=P $j HvSourceOptions.OffHostBackup
Failover=P $j HvSourceOptions.FailoverToOnHostBackup
AutoProxy=P $j Options.JobOptions.SourceProxyAutoDetect
Proxies=if ($xp) { @(Get-VBRJobProxy -Job $j | % { $h=S $_ Host.Name;if ($h) { $h } else { S $_ Name } }) }
Objects=if ($xo) { @(Get-VBRJobObject -Job $j | % { @{ Name=S $_ Name;Kind=S $_ Object.Type, TypeDisplayName
Host=S $_ Object.Host.Name, Location;Excluded=(S $_ Type) -eq 'Exclude' } }) } }
} catch { $E += "job ${n}: $_" } } }
@{ Module='present';Server=$env:COMPUTERNAME;Version=$V;Servers=$Sv;Proxies=$Px;Hosts=$Hs;Jobs=$J
Missing=@($M);Errors=$E } | ConvertTo-Json -Compress -Depth 5
