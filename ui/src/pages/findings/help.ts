import { help } from '../../lib/help';

export default help({
  path: '/findings',
  title: 'Findings',
  group: 'Results',
  summary: 'Open ports their baseline does not allow, and what people decided about each.',
  about: [
    'After every completed scan, each open port that the baseline applying to its address does not allow becomes a finding: its address and port, the scanner that saw it, when it was first and last seen, and the scan that found it. An address that no baseline covers is not judged.',
    'A finding closes by itself when a scan that probed that address and port sees it closed; a scan that did not probe it (another subnet, other ports) leaves it as it is. If the port comes back it is a new occurrence, numbered, and the old one stays closed.',
    'Triage: accept a finding with a reason (and, if it is temporary, an expiry — after it the finding is open again and an alarm says so), mark it a risk with a severity, assign it to someone, or reopen it. Every decision is in the finding’s history and in the audit log with the finding before and after.',
    'New and reopened findings are announced through the alarms module: one alarm per scan listing its findings, sent through the channels its routes choose, with a link back to this page filtered to that scan.',
    'The evidence pack is one signed download for an auditor: for a template, subnet group or CIDR and a period, the resolved scope at each scan, the scans and what they covered, the diffs, the findings with their history, the baselines, the audit records about them and the audit chain’s head. `mipo evidence verify FILE` checks it offline.',
  ],
  scopes: [
    { scope: 'findings:view', allows: 'see findings and their history' },
    { scope: 'findings:triage', allows: 'accept, mark as risk, assign and reopen findings, one or by filter' },
    { scope: 'evidence:export', allows: 'download evidence packs' },
  ],
  fields: [
    { name: 'State', description: 'open, accepted, risk or closed. live in the filter means every state but closed.' },
    { name: 'Occurrence', description: 'How many times this address and port has been a finding; a port that closed and came back is the next occurrence.' },
    { name: 'Age', description: 'Filter by how long ago a finding was first seen: at least (min) or at most (max), such as 24h or 7d.' },
    { name: 'Expires', description: 'When an acceptance ends; empty for one that lasts.' },
  ],
  howto: [
    { title: 'Accept a port you expect for now', steps: ['Tick the finding.', 'Accept selected: give the reason (a ticket, say) and, if it is temporary, when the acceptance ends.'] },
    { title: 'Triage everything a filter shows', steps: ['Filter the list (a subnet and a port, say).', 'Apply to all matching: the same decision goes to every finding the filter selects, each audited.'] },
    { title: 'Give an auditor proof', steps: ['Evidence pack: pick a template, subnet group or CIDR and the period.', 'Download; they run `mipo evidence verify FILE --public-key KEY` with the key from the Settings page.'] },
  ],
  gotchas: [
    'Changing a baseline does not rewrite existing findings; the next scan judges with the new baseline.',
    'A closed finding can only be reassigned; if its port comes back it is a new finding.',
    'Evidence packs are signed with a key mipo generated; the Settings page shows its public half and fingerprint.',
  ],
  api: ['GET /api/v1/findings', 'GET /api/v1/findings/{id}', 'POST /api/v1/findings/{id}/triage', 'POST /api/v1/findings/triage', 'GET /api/v1/evidence-pack'],
});
