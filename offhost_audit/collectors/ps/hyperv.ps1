# hyperv.ps1: the VMs on this host and their virtual hard disks (VHD Sets end in .vhds).
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if (-not (Get-Command -Name Get-VM -ErrorAction SilentlyContinue)) {
    [pscustomobject]@{ HyperVModule = $false; VMs = $null; Disks = $null } | ConvertTo-Json -Compress
    return
}
$vms = @(Get-VM | Select-Object Name, Id, State, IsClustered)
$disks = @(Get-VM | Get-VMHardDiskDrive |
    Select-Object VMName, VMId, ComputerName, Path, ControllerType, SupportPersistentReservations)
[pscustomobject]@{ HyperVModule = $true; VMs = $vms; Disks = $disks } | ConvertTo-Json -Compress -Depth 3
