// The README's sections and the repository's docs/*.md, read at build time and rendered as guide
// pages. Whatever sections README.md has when the site is built become pages; nothing is copied.
import { createMarkdownProcessor } from '@astrojs/markdown-remark';
import readme from '../../../README.md?raw';
import { slugify } from './slug';

const docFiles = import.meta.glob<string>('../../../docs/*.md', { eager: true, query: '?raw', import: 'default' });

/** README sections that are not guides: how to find the docs is what this site is. */
const NOT_GUIDES = new Set(['Documentation', 'The website']);

export interface Guide {
  slug: string;
  title: string;
  /** Markdown, headings already shifted so the page's h1 is the title. */
  markdown: string;
  source: string;
}

/** Splits markdown on headings of one level, ignoring lines inside fenced code. */
function splitOn(md: string, level: number): { title: string; body: string }[] {
  const marker = '#'.repeat(level) + ' ';
  const parts: { title: string; body: string }[] = [{ title: '', body: '' }];
  let fenced = false;
  for (const line of md.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (!fenced && line.startsWith(marker)) parts.push({ title: line.slice(marker.length).trim(), body: '' });
    else parts[parts.length - 1].body += line + '\n';
  }
  return parts;
}

/** Raises every heading outside fenced code by `by` levels (### -> ## for by = 1). */
function raiseHeadings(md: string, by: number): string {
  let fenced = false;
  return md
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
      const m = !fenced && /^(#{2,6}) /.exec(line);
      return m ? '#'.repeat(Math.max(2, m[1].length - by)) + line.slice(m[1].length) : line;
    })
    .join('\n');
}

/** The site's page for a repository markdown file, or undefined when the site has none. */
function pageForRepoFile(file: string): string | undefined {
  const doc = /^docs\/([^/]+)\.md$/.exec(file);
  if (doc) return `/docs/reference/${slugify(doc[1])}/`;
  if (file === 'README.md') return '/docs/';
  return undefined;
}

/**
 * Rewrites links relative to the repository (`docs/scanner-protocol.md`, `../README.md`) to the
 * site's pages; a link to a repository file the site has no page for keeps only its text.
 */
function rewriteLinks(md: string, dir: string): string {
  return md.replace(/(!?)\[([^\]]*)\]\(([^)\s]+)\)/g, (all, bang, text, target: string) => {
    if (bang || /^[a-z]+:/i.test(target) || target.startsWith('#') || target.startsWith('/')) return all;
    const [file, hash] = target.split('#');
    const path = new URL(file, `file:///${dir}`).pathname.slice(1);
    const page = pageForRepoFile(path);
    return page ? `[${text}](${page}${hash ? '#' + hash : ''})` : text;
  });
}

/** One guide per README section (## heading), in the README's order. */
export const readmeGuides: Guide[] = splitOn(readme, 2)
  .slice(1)
  .filter((s) => !NOT_GUIDES.has(s.title))
  .map((s) => ({
    slug: slugify(s.title),
    title: s.title,
    markdown: raiseHeadings(rewriteLinks(s.body, ''), 1),
    source: 'README.md',
  }));

/** One reference page per docs/*.md file, titled by its first heading. */
export const referenceDocs: Guide[] = Object.entries(docFiles)
  .map(([file, text]) => {
    const [head, ...rest] = splitOn(text, 1).slice(1);
    const name = file.split('/').pop()!.replace(/\.md$/, '');
    return {
      slug: slugify(name),
      title: (head?.title ?? name).replace(/`/g, ''),
      markdown: rewriteLinks([head?.body ?? text, ...rest.map((r) => `# ${r.title}\n${r.body}`)].join(''), 'docs/'),
      source: `docs/${name}.md`,
    };
  })
  .sort((a, b) => a.title.localeCompare(b.title));

export function guideUrl(g: Guide): string {
  return `/docs/guide/${g.slug}/`;
}

export function referenceUrl(g: Guide): string {
  return `/docs/reference/${g.slug}/`;
}

/** The README section with this title, if README.md has it now. */
export function readmeSection(title: string): Guide | undefined {
  return readmeGuides.find((g) => g.title === title);
}

let processor: ReturnType<typeof createMarkdownProcessor> | undefined;

/** Markdown to HTML with heading ids (for the table of contents); code is left unhighlighted. */
export async function render(md: string): Promise<{ html: string; headings: { depth: number; slug: string; text: string }[] }> {
  processor ??= createMarkdownProcessor({ syntaxHighlight: false });
  const out = await (await processor).render(md);
  return { html: out.code, headings: out.metadata.headings };
}
