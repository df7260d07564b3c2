import { help } from '../../lib/help';

export default help({
  path: '/scanners',
  title: 'Scanners',
  group: 'Scanners',
  summary: 'The mipo-scanner agents inside your networks: their status, last heartbeat, version, load and jobs, and how to add one.',
  about: [
    'A scanner is mipo-scanner, one static binary built from the Go standard library only, running on a host inside a network you want to see from. It talks only to mipo’s ingest API, never updates itself, and keeps every result on disk until mipo acknowledged it.',
    'Adding a scanner makes a provisioning token and a one-line command. Run it on the host: it downloads mipo-scanner from this mipo, checks its SHA-256, exchanges the token for the scanner’s own API key and installs the systemd service. Leave the dialog open while it runs: it says when the scanner has registered and when its first heartbeat arrived.',
    'A scanner’s default capacity fits a small machine (one core, 512 MiB): 2,000 connection attempts in flight (about 11 MiB of memory; silent addresses are probed at 2,000 per second with a 1 s timeout) and 20,000 attempts per second (about a fifth of one core, and few enough SYNs for the firewalls on the way), shared by up to 4 jobs at once so a long job does not keep a short one waiting. Change it when installing: add --max-rate N, --max-concurrency N or --max-jobs N (positive integers) to the install command after sh -s --. A scanner already installed keeps max_rate, max_concurrency and max_jobs in its config.json. A job’s own rate and concurrency never exceed it.',
    'Scanners heartbeat every 60 seconds. Two minutes without one (MIPO_SCANNER_OFFLINE_AFTER) marks a scanner offline and raises the scanner.offline event; the next heartbeat marks it online again. This list, a scanner’s page and the fleet page keep themselves current: no reload needed.',
  ],
  scopes: [
    { scope: 'scanners:view', allows: 'see scanners, their health and groups' },
    { scope: 'scanners:manage', allows: 'add scanners (provisioning tokens), revoke tokens, and everything on a scanner’s page' },
  ],
  fields: [
    { name: 'Status', description: 'online, offline (no heartbeat for 2 minutes) or disabled (its requests are refused and it gets no jobs).' },
    { name: 'Last seen', description: 'Its last heartbeat (or registration); hover for the time, in your time zone and in UTC.' },
    { name: 'Binding', description: 'Where its requests may come from: an address, a CIDR, or an ASN. Anything else is refused and logged.' },
    { name: 'CPU, Memory', description: 'From its last heartbeat: the host’s CPU use over the last minute and memory in use.' },
    { name: 'Jobs', description: 'The scan jobs it holds now.' },
    { name: 'Token expires after', description: 'A provisioning token works once, for 5 minutes to a day (60 minutes by default).' },
  ],
  howto: [
    {
      title: 'Add a scanner',
      steps: [
        'Press Add scanner; optionally name it, bind it and choose its groups.',
        'Press Create install command and copy the command.',
        'Run it on the scanner’s host as root (or add --no-systemd --dir DIR to install and register without root; add --max-rate N, --max-concurrency N or --max-jobs N to change its capacity).',
        'The scanner appears here, online, within a minute.',
      ],
    },
    { title: 'Find the scanners that need attention', steps: ['Filter Status by offline; open one to see its connection history and metrics.'] },
  ],
  gotchas: [
    'The command holds the token and is shown once. If it is lost, revoke the token and make another.',
    'The command uses the public FQDN setting (Administration → Settings), or the address you browse with: the scanner’s host must reach it.',
    'Without a binding, a scanner is bound to the address it registered from; change it on its page if it sits behind changing NAT.',
    'The command carries the certificate pin only while mipo’s certificate is self-signed. When the certificate changes to another key, a notice above the list names the scanners that hold the old pin: they keep working only if their host trusts the new certificate.',
  ],
  api: ['GET /api/v1/scanners', 'POST /api/v1/scanners/tokens', 'GET /api/v1/scanners/tokens', 'DELETE /api/v1/scanners/tokens/{id}', 'GET /api/v1/scanners/install', 'GET /api/v1/tls/stale-pins'],
});
