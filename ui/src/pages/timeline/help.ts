import { help } from '../../lib/help';

export default help({
  path: '/timeline',
  title: 'Timeline',
  group: 'Results',
  summary: 'One address’s history, port by port: when each port was first seen open, and when it was found closed again.',
  about: [
    'The timeline reads the address’s observations across completed scans, oldest first. A span starts with the first scan that found the port open and ends with the first later scan that probed the port and found it closed; a port that opens again starts a new span.',
    'A scan that did not cover the address or port (another template, a failed job) neither ends nor starts a span.',
    'Limit it to one template to follow one scope over time.',
  ],
  scopes: [
    { scope: 'results:view', allows: 'read the timeline' },
    { scope: 'templates:view', allows: 'pick a template by name' },
  ],
  fields: [
    { name: 'Address', description: 'An IPv4 or IPv6 address, such as `192.0.2.10` or `2001:db8::5`.' },
    { name: 'Template', description: 'Only scans of this template; empty: every completed scan.' },
    { name: 'First seen', description: 'The first scan that found the port open (your time zone; UTC on hover), linked to that scan.' },
    { name: 'Last seen', description: 'The last scan that found it open.' },
    { name: 'Closed', description: 'The first later scan that found it closed; `open` while it still is.' },
  ],
  howto: [
    { title: 'When did this port appear', steps: ['Type the address and press Show.', 'Read First seen on the port’s row; the link opens the scan that found it.'] },
    { title: 'Follow an address from Results or Diff', steps: ['Press the address (Results) or timeline (Diff): this page opens with it filled in.'] },
  ],
  gotchas: ['Only completed scans count: a running scan’s observations appear once it completes.', 'Times are in your browser’s time zone; hover one for the exact UTC time.'],
  api: ['GET /api/v1/results/timeline', 'GET /api/v1/templates'],
});
