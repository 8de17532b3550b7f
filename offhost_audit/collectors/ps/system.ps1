# system.ps1: OS, hardware, domain, Windows features, physical NICs of one host.
# Output: one JSON object (ConvertTo-Json -Compress). Enums stay integers (PS 5.1).
param([string[]]$FeatureNames = @('Hyper-V', 'FS-Data-Deduplication', 'Failover-Clustering'))
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$os = Get-CimInstance -ClassName Win32_OperatingSystem |
    Select-Object Caption, Version, BuildNumber, ProductType, OSArchitecture, OperatingSystemSKU, LastBootUpTime
$cs = Get-CimInstance -ClassName Win32_ComputerSystem |
    Select-Object Name, DNSHostName, Domain, PartOfDomain, DomainRole, Manufacturer, Model, HypervisorPresent, NumberOfLogicalProcessors, TotalPhysicalMemory
$cores = (Get-CimInstance -ClassName Win32_Processor | Measure-Object -Property NumberOfCores -Sum).Sum
$drive = Get-CimInstance -ClassName Win32_LogicalDisk -Filter ("DeviceID='{0}'" -f $env:SystemDrive) |
    Select-Object DeviceID, FreeSpace, Size
$reg = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion' |
    Select-Object InstallationType, EditionID, CurrentBuildNumber, UBR
$netbios = $null
$ntd = @(Get-CimInstance -ClassName Win32_NTDomain -ErrorAction SilentlyContinue | Where-Object { $_.DnsForestName })
if ($ntd.Count -gt 0) { $netbios = $ntd[0].DomainName }
$features = $null
if (Get-Command -Name Get-WindowsFeature -ErrorAction SilentlyContinue) {
    $features = @(Get-WindowsFeature -Name $FeatureNames | Select-Object Name, Installed, InstallState)
}
$nics = @(Get-NetAdapter -Physical -ErrorAction SilentlyContinue | Select-Object Name, Status, Speed)
[pscustomobject]@{
    OS             = $os
    Registry       = $reg
    ComputerSystem = $cs
    Cores          = $cores
    SystemDrive    = $drive
    NetbiosDomain  = $netbios
    Features       = $features
    NetAdapters    = $nics
} | ConvertTo-Json -Compress -Depth 4
