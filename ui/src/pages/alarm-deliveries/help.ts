import { help } from '../../lib/help';

export default help({
  path: '/alarms/deliveries',
  title: 'Delivery log',
  group: 'Alarms',
  summary: 'Every attempt to deliver a notification, and every channel test: when, where, the result, status code, latency and error.',
  about: [
    'Notifications wait in an outbox in the jobs database and are sent by the dispatcher processes, any number side by side. A failed attempt is tried again after a wait that doubles each time (with jitter), under the same message id (the `webhook-id` of a webhook), so a receiver that got it twice can tell. This log is read-only.',
  ],
  scopes: [{ scope: 'alarms:view', allows: 'read the log' }],
  fields: [
    { name: 'Message', description: 'The transition sent (alarm.opened, …) or test, and the message id, the same on each retry.' },
    { name: 'Attempt', description: 'Which attempt of that message this was.' },
    { name: 'Status', description: 'The receiver’s HTTP status, or the SMTP reply code; — when nothing answered.' },
    { name: 'Latency', description: 'How long the attempt took.' },
  ],
  howto: [{ title: 'Find a failing channel', steps: ['Set Result to failed; the Error column says what the receiver or the network said.'] }],
  gotchas: ['A message delivered more than once (a dispatcher died while sending it) shows each attempt with the same message id.'],
  api: ['GET /api/v1/alarm-deliveries'],
});
