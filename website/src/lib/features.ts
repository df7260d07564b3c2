// Resolves each feature's documentation to the first of its targets the site has at build time.
import { featureGroups, type Feature } from '../data/features';
import { helpFor, helpUrl } from './help';
import { tags, tagUrl } from './openapi';
import { guideUrl, readmeSection, referenceDocs, referenceUrl } from './readme';

function target(t: string): string | undefined {
  const [kind, name] = t.includes(':') && !t.startsWith('/') ? [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)] : ['page', t];
  switch (kind) {
    case 'page': {
      if (/\/(#.*)?$/.test(t)) return t; // a page of this site: "/security/", "/security/#no-phone-home"
      const h = helpFor(t);
      return h && helpUrl(h);
    }
    case 'guide': {
      const g = readmeSection(name);
      return g && guideUrl(g);
    }
    case 'ref': {
      const g = referenceDocs.find((d) => d.slug === name);
      return g && referenceUrl(g);
    }
    case 'api':
      return name === '' ? '/docs/api/' : tags.includes(name) ? tagUrl(name) : undefined;
  }
  return undefined;
}

export function docsLink(f: Feature): string | undefined {
  for (const t of f.docs) {
    const url = target(t);
    if (url) return url;
  }
  return undefined;
}

export { featureGroups };
