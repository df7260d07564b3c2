import { help } from '../../lib/help';

export default help({
  path: '/port-catalog',
  title: 'Port catalog',
  group: 'Configuration',
  summary: 'The built-in reference of well-known TCP ports with their service names, such as 443/https and 5432/postgresql.',
  about: [
    'The catalog ships inside mipo: the IANA well-known ports and the common registered ones, each with a service name and a short description. It is the same on every installation and never changes at run time.',
    'It is what port lists are built from (search it while writing a list, and each port is labelled), and what labels open ports in scan results.',
    'Search by port number (`22`), service name (`ssh`) or words of a description (`remote desktop`): the exact port or name comes first, then names and numbers that start with what you typed, then looser matches. Or give port ranges to see what they hold.',
  ],
  scopes: [{ scope: 'ports:view', allows: 'browse and search the catalog' }],
  fields: [
    { name: 'Port', description: 'The TCP port number.' },
    { name: 'Service', description: 'The service name, as IANA registers it, or the name the port is known by in practice.' },
    { name: 'Description', description: 'What runs there.' },
  ],
  howto: [
    { title: 'Find a service’s port', steps: ['Type its name into Search, e.g. `postgres`.'] },
    { title: 'See what a range holds', steps: ['Type ports and ranges into Ports, e.g. `8000-8100`.'] },
  ],
  gotchas: ['A port missing from the catalog can still be scanned: the catalog labels ports, it does not limit them.'],
  api: ['GET /api/v1/port-catalog'],
});
