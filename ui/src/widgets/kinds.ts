// The dashboard widgets: one Svelte component per kind in this folder, each reading an existing
// API under that API's own scope, so any page can embed one (the home page shows OpenAlarms
// and ComponentStatus) and a shared dashboard never shows more than the viewer's scopes allow.
// The kinds are the API's (modules/health/dashboards.go WidgetKinds); the grid is 12 columns.
import type { Component } from 'svelte';
import type { ItemOf, Ok } from '../api/types';
import AuditActivity from './AuditActivity.svelte';
import ComponentStatus from './ComponentStatus.svelte';
import FleetStatus from './FleetStatus.svelte';
import OpenAlarms from './OpenAlarms.svelte';
import RecentChanges from './RecentChanges.svelte';
import ResultsQuery from './ResultsQuery.svelte';
import ScanActivity from './ScanActivity.svelte';

export type Dashboard = ItemOf<Ok<'/api/v1/dashboards', 'get'>>;
export type Widget = Dashboard['widgets'][number];
export type WidgetOptions = NonNullable<Widget['options']>;

export interface WidgetKind {
  kind: string;
  label: string;
  /** The scope its API needs: without it the widget says so instead of failing. */
  scope: string;
  /** One line for the "Add widget" list. */
  description: string;
  /** Size a new one starts at, in grid cells. */
  w: number;
  h: number;
  component: Component<{ options?: WidgetOptions }>;
}

export const WIDGET_KINDS: WidgetKind[] = [
  { kind: 'scan-activity', label: 'Scan activity', scope: 'scans:view', description: 'Running and latest scans with their progress.', w: 6, h: 4, component: ScanActivity },
  { kind: 'open-alarms', label: 'Open alarms', scope: 'alarms:view', description: 'Unacknowledged alarms by severity, newest first.', w: 6, h: 4, component: OpenAlarms },
  { kind: 'fleet-status', label: 'Fleet status', scope: 'scanners:view', description: 'Scanners online, offline and late, the troubled first.', w: 6, h: 4, component: FleetStatus },
  { kind: 'component-status', label: 'Component status', scope: 'health:view', description: 'Each part of mipo: edge, roles, databases, DNS, TLS.', w: 6, h: 4, component: ComponentStatus },
  { kind: 'recent-changes', label: 'Recent changes', scope: 'results:view', description: 'Ports opened and closed by the latest completed scans.', w: 6, h: 4, component: RecentChanges },
  { kind: 'audit-activity', label: 'Audit activity', scope: 'audit:view', description: 'The latest changes and sign-ins from the audit log.', w: 6, h: 4, component: AuditActivity },
  { kind: 'results-query', label: 'Results query', scope: 'results:view', description: 'Open ports matching a saved filter: subnet, ports, scanner.', w: 12, h: 4, component: ResultsQuery },
];

export function widgetKind(kind: string): WidgetKind | undefined {
  return WIDGET_KINDS.find((k) => k.kind === kind);
}
