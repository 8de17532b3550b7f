# storage.ps1: disks (LUN identity), SAN initiator ports, iSCSI sessions, SAN policy.
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$disks = @(Get-Disk | Select-Object Number, UniqueId, SerialNumber, FriendlyName, BusType, IsOffline, IsReadOnly, IsClustered, Size)
$ports = @(Get-InitiatorPort -ErrorAction SilentlyContinue | Select-Object NodeAddress, PortAddress, ConnectionType)
$iscsi = @(Get-IscsiSession -ErrorAction SilentlyContinue | Select-Object TargetNodeAddress, IsConnected)
$policy = (Get-StorageSetting).NewDiskPolicy
[pscustomobject]@{
    Disks          = $disks
    InitiatorPorts = $ports
    IscsiSessions  = $iscsi
    NewDiskPolicy  = $policy
} | ConvertTo-Json -Compress -Depth 4
