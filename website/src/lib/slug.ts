// Anchors and URL segments: one rule for every generated id, so links and the table of contents agree.
export function slugify(s: string): string {
  return s.toLowerCase().replace(/`/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** Table-of-contents entries for a page's h2 sections, whose ids are slugify(title). */
export function sections(titles: string[]): { depth: number; slug: string; text: string }[] {
  return titles.map((text) => ({ depth: 2, slug: slugify(text), text }));
}
