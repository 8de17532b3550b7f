# Windows Task Scheduler: the nightly audit from a Windows jump host (PowerShell, as an administrator).
# The task runs as a dedicated service account; its WinRM credentials come from the environment of
# that account (OFFHOST_WINRM_USER / OFFHOST_WINRM_PASSWORD) or from its Windows Credential Manager
# through the keyring: `credentials: {keyring: offhost-audit, username: CORP\auditor}` in the
# inventory, `pip install "offhost-audit[keyring]"`, and once, logged on as the service account:
#   keyring set offhost-audit CORP\auditor
# Exit codes: 0 clean, 1 failures at or above --fail-on, 2 bad input, 3 the audit could not complete,
# 4 a bug, 5 no failure but something at or above --fail-on is unknown (proxies that cannot be
# judged), 6 the run was not stored in the history. The task's "Last Run Result" shows them (0x1 ...
# 0x6), but nobody reads it at night: the action below writes every non-zero code to the Application
# event log (source offhost-audit, event ID 100 + code, level Error), where your monitoring alerts
# on it. Do not leave 5 and 6 out of the alerting: they print nothing and produce no failure.
$exe  = 'C:\offhost-audit\.venv\Scripts\offhost-audit.exe'
$cmd  = "& '$exe' audit --inventory C:\offhost-audit\inventory.yaml --waivers C:\offhost-audit\waivers.yaml " +
        '--db C:\offhost-audit\history.sqlite --keep-runs 400 ' +
        '--report \\FS01\Reports\offhost-audit --keep 30 --fail-on high --quiet; ' +
        '$rc = $LASTEXITCODE; ' +
        'if ($rc -ne 0) { eventcreate /T ERROR /L APPLICATION /SO offhost-audit /ID (100 + $rc) ' +
        '/D "offhost-audit exited $rc (1 failures, 5 proxies not judged, 6 not stored; see the README)" }; ' +
        'exit $rc'
# -EncodedCommand: the quotes inside $cmd survive the task's command line unchanged
$encoded   = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($cmd))
$action    = New-ScheduledTaskAction -Execute 'powershell.exe' `
               -Argument "-NoProfile -NonInteractive -EncodedCommand $encoded" `
               -WorkingDirectory 'C:\offhost-audit'
$trigger   = New-ScheduledTaskTrigger -Daily -At 2:30am
$settings  = New-ScheduledTaskSettingsSet -StartWhenAvailable -ExecutionTimeLimit (New-TimeSpan -Hours 2) `
               -MultipleInstances IgnoreNew
$principal = New-ScheduledTaskPrincipal -UserId 'CORP\svc-offhost-audit' -LogonType Password -RunLevel Limited
Register-ScheduledTask -TaskName 'offhost-audit nightly' -Description 'Audit of the Veeam off-host backup proxies' `
    -Action $action -Trigger $trigger -Settings $settings -Principal $principal `
    -User 'CORP\svc-offhost-audit' -Password (Read-Host -Prompt 'password of CORP\svc-offhost-audit')
