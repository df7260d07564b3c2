// mipo's public website: static HTML built by `make site` into website/dist. It shares no
// runtime, database or request path with mipo; everything it says about the application is read
// at build time from the repository (the UI's help files, README.md, docs/, the OpenAPI copy).
import { defineConfig, passthroughImageService } from 'astro/config';
import starlight from '@astrojs/starlight';

export default defineConfig({
  // Prefetching would add a client script to every page; the pages are small enough without it.
  prefetch: false,
  // No image processing: the site has no raster images, and sharp would be one more native download.
  image: { service: passthroughImageService() },
  // The generated pages import ../ui/src and ../README.md; the dev server may read them.
  vite: { server: { fs: { allow: ['..'] } } },
  integrations: [
    starlight({
      title: 'mipo',
      description: 'Self-hosted network port scanning and inventory: every open port, every change, every scan, auditable from day one.',
      favicon: '/favicon.svg',
      // Search would add Pagefind's client script and index to every page; the sidebar lists every page.
      pagefind: false,
      // src/content/docs/404.md is the not-found page; it also keeps Starlight's docs collection non-empty.
      disable404Route: true,
      // The sidebar is generated per page from the help files (src/lib/sidebar.ts).
      components: {
        SocialIcons: './src/components/TopNav.astro',
        ThemeSelect: './src/components/Empty.astro',
      },
      customCss: ['./src/styles/site.css'],
    }),
  ],
});
