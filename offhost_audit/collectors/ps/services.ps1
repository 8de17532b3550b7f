# services.ps1: the Veeam services present on this host. None installed: empty output.
param([string[]]$Names = @('VeeamDeploySvc', 'VeeamTransportSvc', 'VeeamHvIntegrationSvc'))
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Get-Service -Name $Names -ErrorAction SilentlyContinue |
    Select-Object Name, DisplayName, Status, StartType |
    ConvertTo-Json -Compress
