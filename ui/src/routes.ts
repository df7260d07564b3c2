// The route table: every page of the UI, where it sits in the navigation, which scopes show it,
// and its help file. Adding a page is adding one entry here (see ui/README.md); the docs index,
// /docs/<page> and the navigation all follow from this table, and routes.test.ts fails when a
// page has no docs entry.
import type { Component } from 'svelte';
import type { HelpPage, NavGroup } from './lib/help';
import accountHelp from './pages/account/help';
import alarmHelp from './pages/alarm/help';
import alarmChannelsHelp from './pages/alarm-channels/help';
import alarmDeliveriesHelp from './pages/alarm-deliveries/help';
import alarmRoutesHelp from './pages/alarm-routes/help';
import alarmRulesHelp from './pages/alarm-rules/help';
import alarmsHelp from './pages/alarms/help';
import auditHelp from './pages/audit/help';
import backupsHelp from './pages/backups/help';
import dashboardsHelp from './pages/dashboards/help';
import changesHelp from './pages/changes/help';
import diffHelp from './pages/diff/help';
import discoveryHelp from './pages/discovery/help';
import baselinesHelp from './pages/baselines/help';
import exclusionsHelp from './pages/exclusions/help';
import findingsHelp from './pages/findings/help';
import healthHelp from './pages/health/help';
import healthComponentHelp from './pages/health-component/help';
import homeHelp from './pages/home/help';
import hostHelp from './pages/host/help';
import loginHelp from './pages/login/help';
import openHelp from './pages/open/help';
import portCatalogHelp from './pages/port-catalog/help';
import portListGroupsHelp from './pages/port-list-groups/help';
import portListsHelp from './pages/port-lists/help';
import resultsHelp from './pages/results/help';
import scanHelp from './pages/scan/help';
import scannerHelp from './pages/scanner/help';
import scannerFirewallHelp from './pages/scanner-firewall/help';
import scannerGroupsHelp from './pages/scanner-groups/help';
import scannerHealthHelp from './pages/scanner-health/help';
import scannersHelp from './pages/scanners/help';
import rolesHelp from './pages/roles/help';
import scansHelp from './pages/scans/help';
import schedulesHelp from './pages/schedules/help';
import settingsHelp from './pages/settings/help';
import ssoHelp from './pages/sso/help';
import tlsHelp from './pages/tls/help';
import setupHelp from './pages/setup/help';
import subnetGroupsHelp from './pages/subnet-groups/help';
import subnetsHelp from './pages/subnets/help';
import templateGroupsHelp from './pages/template-groups/help';
import templatesHelp from './pages/templates/help';
import timelineHelp from './pages/timeline/help';
import tokensHelp from './pages/tokens/help';
import usersHelp from './pages/users/help';

export interface RouteDef {
  /** "/users", "/users/:id", "/docs/*" */
  path: string;
  component: () => Promise<{ default: Component<any> }>;
  /** Who may open it: anyone (sign-in, docs), only during first-run setup, or a signed-in user. */
  access: 'public' | 'setup' | 'signed-in';
  /** The page's help file: QuickHelp on the page, and its /docs page. Every page has one. */
  help?: HelpPage;
  /** Shown in the navigation when the user holds any of these scopes (none: every signed-in user). */
  scopes?: string[];
  nav?: { group: NavGroup; label: string };
  /** Not a page: forwards elsewhere (no docs). */
  redirect?: boolean;
  /** Part of the docs system itself (no docs of its own). */
  docs?: boolean;
}

export const routes: RouteDef[] = [
  { path: '/', component: () => import('./pages/home/Home.svelte'), access: 'signed-in', help: homeHelp },
  { path: '/setup', component: () => import('./pages/setup/Setup.svelte'), access: 'setup', help: setupHelp },
  { path: '/login', component: () => import('./pages/login/Login.svelte'), access: 'public', help: loginHelp },
  // Scans, Results, Configuration, Scanners, Alarms and Health add their pages here, e.g.
  // { path: '/scans', component: () => import('./pages/scans/Scans.svelte'), access: 'signed-in', help: scansHelp,
  //   scopes: ['scans:view'], nav: { group: 'Scans', label: 'Scans' } },
  { path: '/scans', component: () => import('./pages/scans/Scans.svelte'), access: 'signed-in', help: scansHelp,
    scopes: ['scans:view'], nav: { group: 'Scans', label: 'Scans' } },
  { path: '/scans/:id', component: () => import('./pages/scan/Scan.svelte'), access: 'signed-in', help: scanHelp, scopes: ['scans:view'] },
  { path: '/schedules', component: () => import('./pages/schedules/Schedules.svelte'), access: 'signed-in', help: schedulesHelp,
    scopes: ['scans:view'], nav: { group: 'Scans', label: 'Schedules' } },
  { path: '/open', component: () => import('./pages/open/Open.svelte'), access: 'signed-in', help: openHelp,
    scopes: ['results:view'], nav: { group: 'Results', label: 'Open now' } },
  { path: '/hosts/:address', component: () => import('./pages/host/Host.svelte'), access: 'signed-in', help: hostHelp, scopes: ['results:view'] },
  { path: '/results', component: () => import('./pages/results/Results.svelte'), access: 'signed-in', help: resultsHelp,
    scopes: ['results:view'], nav: { group: 'Results', label: 'Results' } },
  { path: '/changes', component: () => import('./pages/changes/Changes.svelte'), access: 'signed-in', help: changesHelp,
    scopes: ['results:view'], nav: { group: 'Results', label: 'Changes' } },
  { path: '/diff', component: () => import('./pages/diff/Diff.svelte'), access: 'signed-in', help: diffHelp,
    scopes: ['results:view'], nav: { group: 'Results', label: 'Diff' } },
  { path: '/timeline', component: () => import('./pages/timeline/Timeline.svelte'), access: 'signed-in', help: timelineHelp,
    scopes: ['results:view'], nav: { group: 'Results', label: 'Timeline' } },
  { path: '/findings', component: () => import('./pages/findings/Findings.svelte'), access: 'signed-in', help: findingsHelp,
    scopes: ['findings:view'], nav: { group: 'Results', label: 'Findings' } },
  { path: '/baselines', component: () => import('./pages/baselines/Baselines.svelte'), access: 'signed-in', help: baselinesHelp,
    scopes: ['findings:view'], nav: { group: 'Configuration', label: 'Baselines' } },
  { path: '/subnets', component: () => import('./pages/subnets/Subnets.svelte'), access: 'signed-in', help: subnetsHelp,
    scopes: ['targets:view'], nav: { group: 'Configuration', label: 'Subnets' } },
  { path: '/subnet-groups', component: () => import('./pages/subnet-groups/SubnetGroups.svelte'), access: 'signed-in', help: subnetGroupsHelp,
    scopes: ['targets:view'], nav: { group: 'Configuration', label: 'Subnet groups' } },
  { path: '/exclusions', component: () => import('./pages/exclusions/Exclusions.svelte'), access: 'signed-in', help: exclusionsHelp,
    scopes: ['targets:view'], nav: { group: 'Configuration', label: 'Exclusions' } },
  { path: '/discovery', component: () => import('./pages/discovery/Discovery.svelte'), access: 'signed-in', help: discoveryHelp,
    scopes: ['targets:view'], nav: { group: 'Configuration', label: 'Discovery' } },
  { path: '/port-lists', component: () => import('./pages/port-lists/PortLists.svelte'), access: 'signed-in', help: portListsHelp,
    scopes: ['ports:view'], nav: { group: 'Configuration', label: 'Port lists' } },
  { path: '/port-list-groups', component: () => import('./pages/port-list-groups/PortListGroups.svelte'), access: 'signed-in', help: portListGroupsHelp,
    scopes: ['ports:view'], nav: { group: 'Configuration', label: 'Port list groups' } },
  { path: '/port-catalog', component: () => import('./pages/port-catalog/PortCatalog.svelte'), access: 'signed-in', help: portCatalogHelp,
    scopes: ['ports:view'], nav: { group: 'Configuration', label: 'Port catalog' } },
  { path: '/templates', component: () => import('./pages/templates/Templates.svelte'), access: 'signed-in', help: templatesHelp,
    scopes: ['templates:view'], nav: { group: 'Configuration', label: 'Scan templates' } },
  { path: '/template-groups', component: () => import('./pages/template-groups/TemplateGroups.svelte'), access: 'signed-in', help: templateGroupsHelp,
    scopes: ['templates:view'], nav: { group: 'Configuration', label: 'Template groups' } },
  { path: '/scanners', component: () => import('./pages/scanners/Scanners.svelte'), access: 'signed-in', help: scannersHelp, scopes: ['scanners:view'], nav: { group: 'Scanners', label: 'Scanners' } },
  { path: '/scanners/health', component: () => import('./pages/scanner-health/FleetHealth.svelte'), access: 'signed-in', help: scannerHealthHelp, scopes: ['scanners:view'], nav: { group: 'Scanners', label: 'Fleet health' } },
  { path: '/scanner-groups', component: () => import('./pages/scanner-groups/ScannerGroups.svelte'), access: 'signed-in', help: scannerGroupsHelp, scopes: ['scanners:view'], nav: { group: 'Scanners', label: 'Scanner groups' } },
  { path: '/scanners/firewall', component: () => import('./pages/scanner-firewall/Firewall.svelte'), access: 'signed-in', help: scannerFirewallHelp, scopes: ['scanners:manage'], nav: { group: 'Scanners', label: 'Firewall allowlist' } },
  { path: '/scanners/:id', component: () => import('./pages/scanner/Scanner.svelte'), access: 'signed-in', help: scannerHelp },
  { path: '/alarms', component: () => import('./pages/alarms/Alarms.svelte'), access: 'signed-in', help: alarmsHelp,
    scopes: ['alarms:view'], nav: { group: 'Alarms', label: 'Alarms' } },
  { path: '/alarms/rules', component: () => import('./pages/alarm-rules/AlarmRules.svelte'), access: 'signed-in', help: alarmRulesHelp,
    scopes: ['alarms:view'], nav: { group: 'Alarms', label: 'Rules' } },
  { path: '/alarms/channels', component: () => import('./pages/alarm-channels/AlarmChannels.svelte'), access: 'signed-in', help: alarmChannelsHelp,
    scopes: ['alarms:view'], nav: { group: 'Alarms', label: 'Channels' } },
  { path: '/alarms/routes', component: () => import('./pages/alarm-routes/AlarmRoutes.svelte'), access: 'signed-in', help: alarmRoutesHelp,
    scopes: ['alarms:view'], nav: { group: 'Alarms', label: 'Routes' } },
  { path: '/alarms/deliveries', component: () => import('./pages/alarm-deliveries/AlarmDeliveries.svelte'), access: 'signed-in', help: alarmDeliveriesHelp,
    scopes: ['alarms:view'], nav: { group: 'Alarms', label: 'Delivery log' } },
  { path: '/alarms/:id', component: () => import('./pages/alarm/Alarm.svelte'), access: 'signed-in', help: alarmHelp },
  { path: '/health', component: () => import('./pages/health/Overview.svelte'), access: 'signed-in', help: healthHelp,
    scopes: ['health:view'], nav: { group: 'Health', label: 'Architecture' } },
  { path: '/health/components/:id', component: () => import('./pages/health-component/Component.svelte'), access: 'signed-in', help: healthComponentHelp,
    scopes: ['health:view'] },
  { path: '/dashboards', component: () => import('./pages/dashboards/Dashboards.svelte'), access: 'signed-in', help: dashboardsHelp,
    scopes: ['dashboards:view'], nav: { group: 'Health', label: 'Dashboards' } },
  { path: '/audit', component: () => import('./pages/audit/Audit.svelte'), access: 'signed-in', help: auditHelp,
    scopes: ['audit:view'], nav: { group: 'Audit', label: 'Audit log' } },
  { path: '/users', component: () => import('./pages/users/Users.svelte'), access: 'signed-in', help: usersHelp,
    scopes: ['users:view'], nav: { group: 'Administration', label: 'Users' } },
  { path: '/roles', component: () => import('./pages/roles/Roles.svelte'), access: 'signed-in', help: rolesHelp,
    scopes: ['roles:view'], nav: { group: 'Administration', label: 'Roles and scopes' } },
  { path: '/settings', component: () => import('./pages/settings/Settings.svelte'), access: 'signed-in', help: settingsHelp,
    scopes: ['settings:view'], nav: { group: 'Administration', label: 'Settings' } },
  { path: '/sso', component: () => import('./pages/sso/Providers.svelte'), access: 'signed-in', help: ssoHelp,
    scopes: ['settings:view'], nav: { group: 'Administration', label: 'Sign-in providers' } },
  { path: '/tls', component: () => import('./pages/tls/Tls.svelte'), access: 'signed-in', help: tlsHelp,
    scopes: ['settings:view'], nav: { group: 'Administration', label: 'TLS certificate' } },
  { path: '/backups', component: () => import('./pages/backups/Backups.svelte'), access: 'signed-in', help: backupsHelp,
    scopes: ['backups:view'], nav: { group: 'Administration', label: 'Backups' } },
  { path: '/tokens', component: () => import('./pages/tokens/Tokens.svelte'), access: 'signed-in', help: tokensHelp },
  { path: '/account', component: () => import('./pages/account/Account.svelte'), access: 'signed-in', help: accountHelp },
  { path: '/docs', component: () => import('./pages/docs/DocsIndex.svelte'), access: 'public', docs: true },
  { path: '/docs/*', component: () => import('./pages/docs/DocsPage.svelte'), access: 'public', docs: true },
];

/** The help of every page, in route-table order: the docs index and /docs/<page> read this. */
export const helpPages: HelpPage[] = routes.flatMap((r) => (r.help ? [r.help] : []));
