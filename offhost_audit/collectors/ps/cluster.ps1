# cluster.ps1: is this host a failover cluster node; if so the cluster, its nodes, its CSVs
# (flattened: SharedVolumeInfo is too deep for ConvertTo-Json), the dedup state of local volumes and
# whether Storage Spaces Direct is on (the cluster's S2DEnabled; absent before Windows Server 2016).
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$svc = Get-Service -Name ClusSvc -ErrorAction SilentlyContinue
if (-not (Test-Path -Path 'HKLM:\Cluster') -or -not (Get-Command -Name Get-Cluster -ErrorAction SilentlyContinue)) {
    [pscustomobject]@{ Member = $false; ClusterService = [bool]$svc } | ConvertTo-Json -Compress
    return
}
$cluster = Get-Cluster
$nodes = @(Get-ClusterNode | Select-Object Name, State, Id)
$csvs = @(Get-ClusterSharedVolume | ForEach-Object {
    $csv = $_
    $info = @($csv.SharedVolumeInfo) | Select-Object -First 1
    $path = $null; $volume = $null; $uid = $null
    if ($info) {
        $path = $info.FriendlyVolumeName
        $volume = $info.Partition.Name
    }
    if ($volume) {
        $part = Get-Partition -ErrorAction SilentlyContinue | Where-Object { $_.AccessPaths -contains $volume } | Select-Object -First 1
        if ($part) { $uid = (Get-Disk -Number $part.DiskNumber).UniqueId }
    }
    [pscustomobject]@{
        Name = $csv.Name; State = $csv.State; OwnerNode = $csv.OwnerNode.Name
        Path = $path; VolumeName = $volume; DiskUniqueId = $uid
    }
})
$dedup = $null
if (Get-Command -Name Get-DedupVolume -ErrorAction SilentlyContinue) {
    $dedup = @(Get-DedupVolume -ErrorAction SilentlyContinue | Select-Object Volume, VolumeId, Enabled)
}
$s2d = $null
if ($cluster.PSObject.Properties['S2DEnabled']) { $s2d = [int]$cluster.S2DEnabled }
[pscustomobject]@{
    Member         = $true
    ClusterService = [bool]$svc
    Name           = $cluster.Name
    Self           = $env:COMPUTERNAME
    Nodes          = $nodes
    Csvs           = $csvs
    Dedup          = $dedup
    S2DEnabled     = $s2d
} | ConvertTo-Json -Compress -Depth 4
