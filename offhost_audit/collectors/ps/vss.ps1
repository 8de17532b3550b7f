# vss.ps1: installed VSS providers from Win32_ShadowProvider; `vssadmin list providers` text
# (localized) when the CIM class cannot be read.
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
try {
    $providers = @(Get-CimInstance -ClassName Win32_ShadowProvider | Select-Object ID, Name, CLSID, Type, Version, VersionID)
    [pscustomobject]@{ Source = 'cim'; Providers = $providers; Text = $null } | ConvertTo-Json -Compress -Depth 3
} catch {
    $text = & vssadmin.exe list providers | Out-String
    [pscustomobject]@{ Source = 'vssadmin'; Providers = $null; Text = $text } | ConvertTo-Json -Compress -Depth 3
}
