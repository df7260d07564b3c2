// Names for the ids scans and results carry: templates, template groups and scanners, loaded
// once per page for pickers and table cells. Each list needs its own scope; without it the
// pickers are empty and cells show the id (the API still decides what may be done).
import { loadAll } from '../../api/client';
import { session } from '../../lib/session.svelte';
import type { Scanner, ScannerGroup, Template, TemplateGroup } from './types';

export class Lookups {
  templates = $state<Template[]>([]);
  groups = $state<TemplateGroup[]>([]);
  scanners = $state<Scanner[]>([]);
  scannerGroups = $state<ScannerGroup[]>([]);
  loaded = $state(false);

  constructor(which: { templates?: boolean; groups?: boolean; scanners?: boolean; scannerGroups?: boolean } = { templates: true, groups: true, scanners: true }) {
    const jobs: Promise<unknown>[] = [];
    if (which.templates && session.can('templates:view'))
      jobs.push(loadAll('/api/v1/templates', { sort: 'name' }).then((t) => (this.templates = t)));
    if (which.groups && session.can('templates:view'))
      jobs.push(loadAll('/api/v1/template-groups', { sort: 'name' }).then((g) => (this.groups = g)));
    if (which.scanners && session.can('scanners:view'))
      jobs.push(loadAll('/api/v1/scanners', { sort: 'name' }).then((s) => (this.scanners = s)));
    if (which.scannerGroups && session.can('scanners:view'))
      jobs.push(loadAll('/api/v1/scanner-groups', { sort: 'name' }).then((g) => (this.scannerGroups = g)));
    Promise.allSettled(jobs).then(() => (this.loaded = true));
  }

  scannerName(id: string | null | undefined): string {
    if (!id) return '—';
    return this.scanners.find((s) => s.id === id)?.name ?? id.slice(0, 8);
  }
  templateName(id: string | null | undefined): string {
    if (!id) return '—';
    return this.templates.find((t) => t.id === id)?.name ?? id.slice(0, 8);
  }
  scannerGroupName(id: string | null | undefined): string {
    if (!id) return '—';
    return this.scannerGroups.find((g) => g.id === id)?.name ?? id.slice(0, 8);
  }
  groupName(id: string | null | undefined): string {
    if (!id) return '—';
    return this.groups.find((g) => g.id === id)?.name ?? id.slice(0, 8);
  }
}
