# smb_client.ps1: SMB connections this host has open (dialect per server and share).
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Get-SmbConnection | Select-Object ServerName, ShareName, Dialect | ConvertTo-Json -Compress
