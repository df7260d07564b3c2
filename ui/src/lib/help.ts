// The shape of a page's help: ONE data file per page (pages/<page>/help.ts) feeds both the
// page's QuickHelp panel and its documentation page at /docs/<page>, so they cannot disagree.
//
// Text may use `backticks` for code; nothing else is interpreted (no HTML).

export const NAV_GROUPS = ['Scans', 'Results', 'Configuration', 'Scanners', 'Alarms', 'Health', 'Audit', 'Administration'] as const;
export type NavGroup = (typeof NAV_GROUPS)[number];
/** Docs are grouped like the navigation, plus the pages outside it. */
export const DOC_GROUPS = ['Getting started', ...NAV_GROUPS, 'Account'] as const;
export type DocGroup = (typeof DOC_GROUPS)[number];

export interface HelpField {
  name: string;
  description: string;
}

export interface HelpHowTo {
  title: string;
  steps: string[];
}

export interface HelpPage {
  /** The UI page's path; its docs live at "/docs" + path. */
  path: string;
  title: string;
  group: DocGroup;
  /** One sentence: under the page title, in the docs index. */
  summary: string;
  /** Longer explanation, paragraphs; shown on the docs page only. */
  about?: string[];
  /** Scopes the page uses and what each allows there. */
  scopes?: { scope: string; allows: string }[];
  /** What each field or column means. */
  fields: HelpField[];
  /** Step-by-step tasks. */
  howto: HelpHowTo[];
  /** Surprises worth knowing before they bite. */
  gotchas: string[];
  /** The API calls behind the page, e.g. "GET /api/v1/users", for automation. */
  api: string[];
}

/** Identity for type checking in the help files: `export default help({...})`. */
export function help(h: HelpPage): HelpPage {
  return h;
}

/** The home page ("/") has its docs at /docs/home: /docs itself is the index. */
export function docsPath(h: Pick<HelpPage, 'path'>): string {
  return '/docs' + (h.path === '/' ? '/home' : h.path);
}

/** Splits text on `backticks` into plain and code runs, for rendering without HTML. */
export function inlineCode(text: string): { code: boolean; text: string }[] {
  return text.split('`').map((t, i) => ({ code: i % 2 === 1, text: t })).filter((r) => r.text !== '');
}
