// The widgets, for any page to embed: `import { OpenAlarms, ComponentStatus } from '../widgets'`
// (the body alone) or `<WidgetFrame kind="open-alarms" />` (with its heading).
export { default as AuditActivity } from './AuditActivity.svelte';
export { default as ComponentStatus } from './ComponentStatus.svelte';
export { default as FleetStatus } from './FleetStatus.svelte';
export { default as OpenAlarms } from './OpenAlarms.svelte';
export { default as RecentChanges } from './RecentChanges.svelte';
export { default as ResultsQuery } from './ResultsQuery.svelte';
export { default as ScanActivity } from './ScanActivity.svelte';
export { default as WidgetFrame } from './WidgetFrame.svelte';
export { WIDGET_KINDS, widgetKind, type Dashboard, type Widget, type WidgetKind, type WidgetOptions } from './kinds';
