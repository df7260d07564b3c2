import { help } from '../../lib/help';

export default help({
  path: '/port-lists',
  title: 'Port lists',
  group: 'Configuration',
  summary: 'Named sets of TCP ports such as web-standard (80, 443, 8080, 8443), defined once and used by any template.',
  about: [
    'A port list is written as ports and ranges separated by commas: `22,80,443,8000-8100`. mipo checks every item and stores the list merged and sorted, so `443, 22,80-81,81` is kept as `22,80-81,443`.',
    'Build a list from the port catalog: search it by number or service name and add what you find. Under the ports, each one is labelled with its service from the catalog.',
    'Six starter lists ship with mipo and cannot be changed: `web`, `databases`, `remote-admin`, `top-100`, `top-1000` and `all` (every port, 1-65535). Their ids are the same on every installation.',
    'Templates and port list groups refer to lists by id: a change to a list applies to them at once, and is a new version in the list’s history.',
  ],
  scopes: [
    { scope: 'ports:view', allows: 'see port lists, their history and the catalog' },
    { scope: 'ports:write', allows: 'create, change and delete port lists' },
  ],
  fields: [
    { name: 'Ports', description: 'Ports (1-65535) and ranges separated by commas: `22,80,443,8000-8100`.' },
    { name: 'Count', description: 'How many ports the list holds.' },
    { name: 'Built-in', description: 'A starter list shipped with mipo: read-only.' },
  ],
  howto: [
    { title: 'Build a port list from the catalog', steps: ['Press New port list and name it.', 'Under Add from the catalog, type a port or a service (`ssh`, `443`) and press Add on the match.', 'Or type ports and ranges into Ports directly; the labels below show what each is.', 'Press Create port list.'] },
    { title: 'Scan several lists together', steps: ['Put them in a port list group, or tick them all in the template.'] },
  ],
  gotchas: [
    'An item that is not a port (`http`, `70000`, `80 443`) is refused with its position named.',
    'A list used by a template or a group cannot be deleted; the message names them.',
  ],
  api: [
    'GET /api/v1/port-lists', 'POST /api/v1/port-lists', 'GET /api/v1/port-lists/{id}', 'PATCH /api/v1/port-lists/{id}', 'DELETE /api/v1/port-lists/{id}',
    'GET /api/v1/port-lists/check', 'GET /api/v1/port-catalog', 'GET /api/v1/port-lists/{id}/versions', 'GET /api/v1/port-lists/{id}/diff',
  ],
});
