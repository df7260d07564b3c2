// The sidebar every page gets, generated from what exists at build time: the UI's help pages in
// their docs groups, the README's guides, docs/*.md and the API reference's tags.
import { helpGroups, helpUrl } from './help';
import { tags, tagUrl } from './openapi';
import { guideUrl, readmeGuides, referenceDocs, referenceUrl } from './readme';

export const sitePages = [
  { label: 'Product', link: '/' },
  { label: 'Architecture', link: '/architecture/' },
  { label: 'Install', link: '/install/' },
  { label: 'Security', link: '/security/' },
  { label: 'Documentation', link: '/docs/' },
];

export function sidebar() {
  return [
    { label: 'mipo', items: sitePages },
    { label: 'Guides', items: readmeGuides.map((g) => ({ label: g.title, link: guideUrl(g) })) },
    ...helpGroups().map((g) => ({
      label: g.group,
      collapsed: true,
      items: g.pages.map((h) => ({ label: h.title, link: helpUrl(h) })),
    })),
    {
      label: 'Reference',
      collapsed: true,
      items: [
        { label: 'API overview', link: '/docs/api/' },
        ...tags.map((t) => ({ label: `API: ${t}`, link: tagUrl(t) })),
        { label: 'API schemas', link: '/docs/api/schemas/' },
        ...referenceDocs.map((g) => ({ label: g.title, link: referenceUrl(g) })),
      ],
    },
  ];
}
