import type { Widget } from '../../widgets/kinds';

/** A widget on the page: the API's widget and an identity for Svelte and gridstack (the API's widgets have none). */
export interface GridItem extends Widget {
  uid: string;
}

let next = 0;
export function toItems(widgets: Widget[]): GridItem[] {
  return widgets.map((w) => ({ ...w, uid: `w${++next}` }));
}

export function newUid(): string {
  return `w${++next}`;
}

/** The first row below every widget: where a new one goes. */
export function bottom(widgets: Pick<Widget, 'y' | 'h'>[]): number {
  return widgets.reduce((m, w) => Math.max(m, w.y + w.h), 0);
}
