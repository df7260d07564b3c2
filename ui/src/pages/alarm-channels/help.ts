import { help } from '../../lib/help';

export default help({
  path: '/alarms/channels',
  title: 'Notification channels',
  group: 'Alarms',
  summary: 'Where alarm notifications go: signed webhooks, Slack, email over SMTP and syslog for SIEMs, each with a test button.',
  about: [
    'A webhook receives a POST per notification, signed per the Standard Webhooks specification: headers `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,` and a base64 HMAC-SHA256 of id.timestamp.body under the `whsec_` secret). The id is the same on every retry, so a receiver can drop repeats. Any Standard Webhooks library verifies it.',
    'Slack gets a message in its incoming-webhook format: severity, component, what happened, and a link back to the alarm (when the public FQDN is set). Email is sent through your SMTP server with STARTTLS or implicit TLS and login. Syslog sends RFC 5424 messages over TCP or TLS, with the alarm’s fields as structured data (`mipo@32473`).',
    'Secrets — the webhook signing secret, the Slack URL, the SMTP password — are encrypted at rest with the key in `.mipo.env` and never shown again, except the signing secret once when it is made.',
    'Failed notifications are retried with growing waits. A notification still failing after the give-up time (MIPO_NOTIFY_GIVE_UP, a day by default) raises an alarm about the channel; a webhook answering 410 Gone is disabled at once.',
  ],
  scopes: [
    { scope: 'alarms:view', allows: 'see channels (never their secrets)' },
    { scope: 'alarms:manage', allows: 'create, change, test, disable and delete channels' },
  ],
  fields: [
    { name: 'Kind', description: 'webhook, slack, email or syslog.' },
    { name: 'Sends to', description: 'The URL, host, recipients or receiver address (a Slack URL shows only its host).' },
    { name: 'State', description: 'enabled, or disabled — by you, or by mipo when a webhook answered 410 Gone.' },
    { name: 'Last test', description: 'How the last Test went: delivered or failed, the status code, the time it took, the error.' },
  ],
  howto: [
    { title: 'Add a webhook', steps: ['Press New channel, name it, choose webhook and give the URL.', 'Copy the signing secret shown once into the receiver.', 'Press Test: the receiver gets a test message.'] },
    { title: 'Check a channel', steps: ['Press Test on its row: a real message is sent now and the result shows in Last test (and in the delivery log).'] },
    { title: 'Bring back a disabled webhook', steps: ['Fix the receiver, press Test until it is delivered, then Enable.'] },
  ],
  gotchas: [
    'The first channel of an install gets a default route for critical and major alarms; change it under Routes.',
    'Redirects are not followed: give the final URL.',
    'An alarm about a failing channel is never sent through that channel.',
  ],
  api: ['GET /api/v1/alarm-channels', 'POST /api/v1/alarm-channels', 'PATCH /api/v1/alarm-channels/{id}', 'DELETE /api/v1/alarm-channels/{id}', 'POST /api/v1/alarm-channels/{id}/test', 'POST /api/v1/alarm-channels/{id}/rotate-secret'],
});
