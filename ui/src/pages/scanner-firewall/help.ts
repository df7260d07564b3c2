import { help } from '../../lib/help';

export default help({
  path: '/scanners/firewall',
  title: 'Firewall allowlist',
  group: 'Scanners',
  summary: 'Allow-rules for the addresses every enabled scanner is bound to, for iptables, nginx and Cloudflare.',
  about: [
    'Operations teams allowlist scanner addresses in front of mipo (and sometimes in front of what is scanned). This export writes every enabled scanner’s binding in the format of the firewall at hand; disabled scanners are left out.',
    'iptables: a shell script that creates or empties the chain MIPO-SCANNERS and fills it, with ip6tables for IPv6 bindings; jump to it from INPUT. nginx: allow lines ending in deny all, for a server or location block. Cloudflare: a JSON document whose rules are each the body of one IP Access Rules API call (mode whitelist).',
    'An ASN binding becomes the networks the ASN database lists for it (iptables, nginx), or an asn rule (Cloudflare). Ranges Cloudflare cannot express exactly (it takes IPv4 /16 and /24, IPv6 /32, /48 and /64) are cut into ones it can, or listed as skipped: never widened.',
  ],
  scopes: [{ scope: 'scanners:manage', allows: 'export the allowlist' }],
  fields: [{ name: 'Format', description: 'iptables, nginx or cloudflare.' }],
  howto: [
    { title: 'Allowlist the scanners in nginx', steps: ['Choose nginx allow/deny.', 'Copy the rules or download the file.', 'Include them in the server block that fronts mipo and reload nginx.'] },
    {
      title: 'Create the Cloudflare rules',
      steps: ['Choose Cloudflare and download the file.', 'For each entry of rules, POST it to the IP Access Rules API of your zone or account.', 'Check skipped for bindings that need a rule by hand.'],
    },
  ],
  gotchas: ['Re-export after adding, rebinding or disabling a scanner: the export is a snapshot.', 'Every export is recorded in the audit log.'],
  api: ['GET /api/v1/scanners/firewall'],
});
