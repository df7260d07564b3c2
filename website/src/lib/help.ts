// The UI's help files, read at build time: the same data behind each page's QuickHelp panel and
// its in-app /docs page, so the site cannot disagree with either. Every ui/src/pages/*/help.ts
// present when the site is built becomes a page; nothing is copied.
import { DOC_GROUPS, inlineCode, type HelpPage } from '../../../ui/src/lib/help';
import routesSource from '../../../ui/src/routes.ts?raw';

export { DOC_GROUPS, inlineCode, type HelpPage };

const modules = import.meta.glob<{ default: HelpPage }>('../../../ui/src/pages/**/help.ts', { eager: true });

/** Where a page sits in the UI's route table, so the site lists pages in the navigation's order. */
function routeOrder(h: HelpPage): number {
  const at = routesSource.indexOf(`path: '${h.path}'`);
  return at < 0 ? Number.MAX_SAFE_INTEGER : at;
}

function groupOrder(h: HelpPage): number {
  const at = (DOC_GROUPS as readonly string[]).indexOf(h.group);
  return at < 0 ? DOC_GROUPS.length : at;
}

/** Every help page, grouped like the in-app docs index and in route-table order within a group. */
export const helpPages: HelpPage[] = Object.values(modules)
  .map((m) => m.default)
  .sort((a, b) => groupOrder(a) - groupOrder(b) || routeOrder(a) - routeOrder(b) || a.title.localeCompare(b.title));

/** The page's slug under /docs: the UI path, with route parameters named plainly ("/scans/:id" -> "scans/id"). */
export function helpSlug(h: Pick<HelpPage, 'path'>): string {
  if (h.path === '/') return 'home'; // the home page; /docs/ itself is the index
  return h.path.replace(/^\/+|\/+$/g, '').replace(/:/g, '');
}

export function helpUrl(h: Pick<HelpPage, 'path'>): string {
  return `/docs/${helpSlug(h)}/`;
}

/** The help page for a UI path, if the UI has one now. */
export function helpFor(path: string): HelpPage | undefined {
  return helpPages.find((h) => h.path === path);
}

/** Groups in DOC_GROUPS order (unknown groups last), each with its pages. */
export function helpGroups(): { group: string; pages: HelpPage[] }[] {
  const names = [...new Set(helpPages.map((h) => h.group as string))];
  return names.map((group) => ({ group, pages: helpPages.filter((h) => h.group === group) }));
}
