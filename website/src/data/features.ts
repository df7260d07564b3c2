// The product's features, grouped as the features page groups them. Each names where its
// documentation lives, in order of preference: a UI page's help (`/path`, the page's route), a
// README section (`guide:Title`), a docs/*.md file (`ref:name`), an API group (`api:tag`, or
// `api:` for the overview) or a page of this site (`/security/#anchor`). The
// site links the first that exists when it is built, so a feature gains its link the day its
// page or section lands; until then it says the documentation is not written yet.

export interface Feature {
  title: string;
  text: string;
  docs: string[];
}

export interface FeatureGroup {
  title: string;
  intro: string;
  features: Feature[];
}

export const featureGroups: FeatureGroup[] = [
  {
    title: 'Scanning and discovery',
    intro:
      'Schedule and run TCP port scans across IPv4 and IPv6 networks from several vantage points at once. The dispatcher resolves templates into concrete targets, merges and deduplicates address ranges, batches jobs across scanners and watches for stalls — so operators work with named groups while scanners receive fully resolved jobs. Every result is timestamped and kept for historical diffing.',
    features: [
      { title: 'On-demand scans', text: 'Pick a scan template and launch it. Progress — ports scanned, hosts completed, status — updates as scanners report back through the ingest nodes.', docs: ['/scans'] },
      { title: 'Scan history', text: 'Every active and finished scan in a sortable, filterable table with its template, scanners, start and end times and completion.', docs: ['/scans/:id', '/scans'] },
      { title: 'Results and diffs', text: 'Query every open port ever seen by subnet, port, scanner or time window, and compare scans to see what opened and what closed. Results are kept indefinitely as compliance evidence.', docs: ['/results', '/diff', 'guide:Scans, results and diffs'] },
      { title: 'Schedules', text: 'Attach a cron expression or a preset cadence to any template, with a jitter window so scans never start predictably, and blackout windows.', docs: ['/schedules'] },
      { title: 'Multi-vantage scanning', text: 'Group scanners by network location and scan the same targets from every scanner in the group; results carry the scanner that saw them, for side-by-side comparison.', docs: ['/scanner-groups'] },
      { title: 'Batching and stall recovery', text: 'Large scopes are cut into batches sized to each scanner. A reconciler notices jobs that went silent, emits recovery events and re-queues them on healthy scanners.', docs: ['guide:Scans, results and diffs'] },
    ],
  },
  {
    title: 'Scanner architecture',
    intro:
      'Most scanning tools ask you to trust a third-party agent with network access and automatic updates. mipo’s scanner is a single Go binary built from the standard library alone — no transitive supply chain. It does not phone home, does not update itself, and its whole source fits in one directory you can read in a sitting.',
    features: [
      { title: 'Zero-dependency binary', text: 'One statically linked executable from Go standard library packages only: nothing in its go.mod but itself.', docs: ['ref:scanner-protocol'] },
      { title: 'One-line provisioning', text: 'The UI hands out a curl one-liner carrying a short-lived, single-use token; running it registers the scanner and exchanges the token for its permanent key.', docs: ['/scanners', 'guide:Scanners'] },
      { title: 'Heartbeats', text: 'Scanners heartbeat every 60 seconds; two minutes of silence marks one offline and emits an event. Each scanner keeps its connection history.', docs: ['/scanners/:id', '/scanners'] },
      { title: 'Source binding', text: 'Lock a scanner to an address, a CIDR or an ASN. Every request is checked against it; refusals are rejected and logged.', docs: ['/scanners/:id', 'guide:Scanners'] },
      { title: 'Firewall allowlists', text: 'Export allow-rules for every scanner as iptables, nginx allow/deny or Cloudflare IP Access Rules.', docs: ['/scanners/firewall'] },
      { title: 'Disable and enable', text: 'Take a scanner out of rotation without deleting it: it keeps its key, binding and history and gets no new jobs until enabled again.', docs: ['/scanners/:id', 'guide:Scanners'] },
      { title: 'Key rotation', text: 'Revoke a scanner’s key and issue a new one without provisioning again; the old key stops working at once.', docs: ['/scanners/:id', 'guide:Scanners'] },
      { title: 'Fleet health', text: 'CPU, memory and network I/O with each heartbeat, over time, so constrained scanners show before they drop jobs.', docs: ['/scanners/health'] },
    ],
  },
  {
    title: 'Audit and compliance',
    intro:
      'Audit logging is not a plugin you enable: every state change is recorded in the same transaction as the change, before the response is sent. Configuration edits, sign-ins, sensitive reads and role assignments are all captured with who, when and a field-level diff — complete evidence without anyone remembering to turn logging on.',
    features: [
      { title: 'Change log', text: 'Every create, update and delete with the actor, the time, the resource and a field-level diff. Append-only and hash-chained: not even the owner can alter it.', docs: ['/audit'] },
      { title: 'Authentication log', text: 'Every sign-in, failed or not, every sign-out and session expiry, with source address and user agent.', docs: ['/audit', 'guide:Users, roles, API tokens and the audit log'] },
      { title: 'Data access log', text: 'Reads of sensitive resources — scanner keys, provisioning tokens, secrets — are audited too.', docs: ['/audit'] },
      { title: 'Export', text: 'Download the whole log or a filtered part as JSON Lines or CSV for a SIEM or an auditor.', docs: ['/audit'] },
      { title: 'Compliance mapping', text: 'Access control, the audit trail, change tracking, monitoring, inventory, encryption and incident handling map to SOC 2 (CC6–CC8) and ISO 27001 controls. Your auditor decides which are satisfied in your environment.', docs: ['/security/#compliance-mapping'] },
    ],
  },
  {
    title: 'Identity and access control',
    intro:
      'Access control is enforced by the API, not the interface: every request is checked against resource:action scopes before it reaches a handler. The interface only reflects what the API permits — there are no client-side restrictions to bypass.',
    features: [
      { title: 'Users', text: 'Create, change and disable accounts; list and filter them by role.', docs: ['/users'] },
      { title: 'Roles and scopes', text: 'Custom roles from granular scopes such as scans:execute and audit:view, enforced at the API layer.', docs: ['/roles'] },
      { title: 'Built-in roles', text: 'admin, operator and viewer ship with every installation and cannot be changed, a known-good baseline.', docs: ['/roles', 'guide:Users, roles, API tokens and the audit log'] },
      { title: 'Single sign-on (OIDC)', text: 'Connect an OpenID Connect provider, link accounts by email and map its groups to mipo roles.', docs: ['/sso', '/settings/oidc'] },
      { title: 'Owner account', text: 'The account created at setup passes every scope check, for first configuration and emergencies; it cannot be deleted or demoted.', docs: ['/setup'] },
      { title: 'Sessions and API tokens', text: 'Signed sessions with idle and absolute expiry, and scoped API tokens for automation; every session event is audited.', docs: ['/tokens', '/account'] },
    ],
  },
  {
    title: 'Configuration',
    intro:
      'Scan targets are named objects that compose into templates: subnets, port lists and scanner assignments combine into reusable templates to schedule or launch on demand. Every change is versioned, so you can show what was in scope during any past scan.',
    features: [
      { title: 'Subnets', text: 'IPv4 and IPv6 networks in CIDR notation, validated as you type with exact address counts; renaming one updates every template using it.', docs: ['/subnets'] },
      { title: 'Subnet groups', text: 'Named collections such as production-dmz, nested to any depth, usable wherever a subnet is.', docs: ['/subnet-groups'] },
      { title: 'Exclusions', text: 'Addresses and ranges never to scan, for every template or for one.', docs: ['/exclusions'] },
      { title: 'Port catalog', text: 'Well-known TCP ports with their services (443/HTTPS, 5432/PostgreSQL), used to build lists and label results.', docs: ['/port-catalog'] },
      { title: 'Port lists', text: 'Named sets of ports such as web-standard or database-ports, defined once and used everywhere.', docs: ['/port-lists'] },
      { title: 'Port list groups', text: 'Several port lists scanned together as one profile.', docs: ['/port-list-groups'] },
      { title: 'Asset discovery', text: 'Import networks from cloud provider APIs and CMDB exports on a schedule, so scope keeps pace with the infrastructure.', docs: ['/discovery', 'guide:Discovery'] },
      { title: 'Scan templates', text: 'Scope, ports, scanners and timing in one named, reusable definition: the unit schedules and launches refer to.', docs: ['/templates'] },
      { title: 'Template groups', text: 'Templates launched together by one schedule or one press.', docs: ['/template-groups'] },
    ],
  },
  {
    title: 'Health and alerting',
    intro:
      'mipo watches its own infrastructure — manager, ingest nodes, databases, proxy, DNS, certificates, backups and the scanner fleet — and raises faults as alarms with severities and an acknowledgement workflow. You do not need a separate tool to monitor mipo.',
    features: [
      { title: 'Dashboards', text: 'Widget dashboards of scan activity, scanner health and system status, arranged for each audience.', docs: ['/dashboards', '/dashboard'] },
      { title: 'Component health', text: 'A page per component: manager, ingest throughput, database pools, proxy, DNS, certificate validity and backups.', docs: ['/health', 'guide:Health'] },
      { title: 'Scanner fleet', text: 'Every scanner’s status, last heartbeat, system metrics and jobs; the ones that went quiet stand out.', docs: ['/scanners/health'] },
      { title: 'Alarms', text: 'Deduplicated alarms that are opened, acknowledged and resolved, and resolve themselves when the recovery event arrives.', docs: ['/alarms', 'guide:Alarms'] },
      { title: 'Alarm rules', text: 'Built-in rules for database connectivity, heartbeat loss, certificate expiry, backups, DNS and more; change severities or turn rules off.', docs: ['/alarm-rules', '/alarms'] },
      { title: 'Notification channels', text: 'Webhooks signed with HMAC, Slack and email, each with a test button; failed deliveries retry with backoff.', docs: ['/alarms/channels'] },
      { title: 'Notification routing', text: 'Which alarm transitions go to which channels, by severity or rule, with a log of every delivery.', docs: ['/alarms/routes', '/alarms/deliveries'] },
    ],
  },
  {
    title: 'Security and operations',
    intro:
      'From a fresh server to a running, encrypted, monitored system in few steps: secrets are generated, TLS is on by default, backups are encrypted, and three databases — configuration, time-series results, transient jobs — isolate concerns by access pattern.',
    features: [
      { title: 'Setup wizard', text: 'Until an owner exists every route leads to setup; once the owner is created, setup is gone for good.', docs: ['/setup'] },
      { title: 'Generated secrets', text: 'The first start writes .mipo.env with random database passwords, the session key and the encryption keys; nobody invents secrets by hand.', docs: ['guide:Configuration'] },
      { title: 'TLS everywhere', text: 'A self-signed certificate on day one, your own PEM certificate, or ACME renewal through DNS providers.', docs: ['/settings/tls', 'guide:TLS', '/settings'] },
      { title: 'Encrypted backups', text: 'Configuration and results backed up on their own schedules, AES-encrypted, replicated to any S3-compatible store, restored from the UI.', docs: ['/backups', 'guide:Backups'] },
      { title: 'Public address', text: 'The public host name used in provisioning commands and sign-on callbacks; without it, the one you browse with.', docs: ['/settings'] },
    ],
  },
  {
    title: 'Transparent by design',
    intro: 'mipo is built for places where operators must understand, audit and explain every component: no black boxes, no hidden state, no lock-in.',
    features: [
      { title: 'One open repository', text: 'Server, scanner, web interface, this website, deployment files and tests, in one repository. Nothing is built from private source.', docs: ['guide:Architecture'] },
      { title: 'API first', text: 'Everything the interface does is a documented API call; there are no interface-only capabilities or hidden admin endpoints.', docs: ['api:'] },
      { title: 'No self-updating agents', text: 'Scanners never download code or update themselves: every binary on your network was put there by your team.', docs: ['ref:scanner-protocol'] },
      { title: 'No phone-home', text: 'No analytics, crash reports or license server. The only outbound connections are those you configure.', docs: ['/security/#no-phone-home'] },
      { title: 'Docs for every page', text: 'Every page of the interface has its documentation at the same path under /docs, and a QuickHelp panel from the same text.', docs: ['/docs/'] },
    ],
  },
];
