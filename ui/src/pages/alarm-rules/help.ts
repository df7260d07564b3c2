import { help } from '../../lib/help';

export default help({
  path: '/alarms/rules',
  title: 'Alarm rules',
  group: 'Alarms',
  summary: 'The built-in rules that turn events into alarms: their severity, thresholds and escalation, overrides, and snoozes.',
  about: [
    'Each rule maps event types to an alarm and a default severity; its recovery events resolve the alarm. The rules cover the config, results and jobs databases being unreachable, a saturated connection pool, a scanner’s lost heartbeat and resource pressure, stalled jobs, failed scans, no active dispatcher, a silent ingest node, TLS certificate expiry, ACME renewal, backups and their replication, DNS resolution of the public FQDN, and notification channels that cannot deliver.',
    'The rules are part of mipo and cannot be deleted. You change them with overrides: another severity, other thresholds, another escalation window, or disabled. Reset drops the override.',
    'A snooze (a maintenance window) holds back the notifications of a rule’s alarms until a time; the alarms still open, bump and resolve.',
  ],
  scopes: [
    { scope: 'alarms:view', allows: 'see the rules and snoozes' },
    { scope: 'alarms:manage', allows: 'override, reset and snooze rules' },
  ],
  fields: [
    { name: 'Severity', description: 'What a new alarm of the rule opens with (critical, major, minor, warning, info).' },
    { name: 'Thresholds', description: 'The rule’s limits, such as `percent` for pool saturation, `cpu_percent`, `mem_percent` and `fd_percent` for scanner pressure, `days` for certificate expiry, `grace_seconds` before a missing dispatcher counts.' },
    { name: 'Escalates after', description: 'An alarm still open (not acknowledged) this long moves one severity up, and again after each further window.' },
    { name: 'Fires on', description: 'The event types that open or bump the rule’s alarms.' },
  ],
  howto: [
    { title: 'Make a rule quieter or louder', steps: ['Press Edit on its row.', 'Choose a severity, change thresholds or the escalation window.', 'Press Save. Alarms opened from now on use it.'] },
    { title: 'Silence a rule during maintenance', steps: ['Press Snooze on its row, choose until when and give the reason.', 'End it early under Snoozes with End now.'] },
  ],
  gotchas: [
    'Changing a rule’s severity does not change alarms already open.',
    'Disabling a rule stops new alarms only; open ones still resolve on their recovery event.',
    'Every change is in the audit log.',
  ],
  api: ['GET /api/v1/alarm-rules', 'PATCH /api/v1/alarm-rules/{id}', 'GET /api/v1/alarm-snoozes', 'POST /api/v1/alarm-snoozes', 'DELETE /api/v1/alarm-snoozes/{id}'],
});
