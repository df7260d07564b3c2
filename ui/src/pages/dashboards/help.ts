import { help } from '../../lib/help';

export default help({
  path: '/dashboards',
  title: 'Dashboards',
  group: 'Health',
  summary: 'Widget dashboards: scan activity, alarms, the fleet, mipo’s components, recent changes, audit activity and saved results queries on one screen, arranged your way.',
  about: [
    'A dashboard is a 12-column grid of widgets. Each widget reads the same API as the page it summarises, with your scopes: a widget whose data you may not see says which scope it needs, so a shared dashboard never shows anyone more than their roles allow.',
    'Three built-in layouts come with mipo — Network operations (components, alarms, fleet, scans), Security analyst (recent changes, alarms, a query for remote-access ports) and Compliance reviewer (audit activity, recent changes, scans). They cannot be changed: copy one and the copy is yours.',
    'Your dashboards are yours alone until you share one; a shared dashboard is shown to everyone with `dashboards:view`, and still only you change it. Every create, change and delete is written to the audit log (`dashboard.create`, `dashboard.update`, `dashboard.delete`) with the layout before and after.',
    'Widgets refresh every 30 seconds while the tab is visible.',
  ],
  scopes: [
    { scope: 'dashboards:view', allows: 'open the built-in layouts and the shared dashboards' },
    { scope: 'dashboards:write', allows: 'create, arrange, change and delete your own dashboards' },
    { scope: 'dashboards:share', allows: 'share your dashboards with everyone, and change or delete the ones you share' },
  ],
  fields: [
    { name: 'Scan activity', description: 'How many scans run and wait, and the latest scans with status and progress (`scans:view`).' },
    { name: 'Open alarms', description: 'Open and acknowledged counts, open alarms per severity, and the newest open ones (`alarms:view`).' },
    { name: 'Fleet status', description: 'Scanners online, offline and disabled; offline and late scanners listed first (`scanners:view`).' },
    { name: 'Component status', description: 'Each part of mipo from the architecture overview — edge, manager, ingest, dispatcher, backup, the three databases, DNS, TLS — with its status and last check (`health:view`).' },
    { name: 'Recent changes', description: 'For the latest completed scans, how many ports opened and closed since the template’s previous scan (`results:view`).' },
    { name: 'Audit activity', description: 'The newest audit records: action, who, when; each links to the records of its resource (`audit:view`).' },
    { name: 'Results query', description: 'The newest observations matching a saved filter — subnet, ports, scanner — with a link to the same query on the Results page (`results:view`).' },
    { name: 'Settings', description: 'A widget’s own title, how many rows it lists, and for a results query its filter.' },
  ],
  howto: [
    { title: 'Start from a built-in layout', steps: ['Pick a built-in layout under Dashboard.', 'Press Copy this layout: the copy is yours and opens.', 'Press Edit layout to change it.'] },
    { title: 'Build a dashboard', steps: ['Press New dashboard, give it a name (Start from: Empty), press Create.', 'Press Edit layout, choose a Widget and press Add widget for each one you want.', 'Drag widgets by their heading and resize them from their edges and corner.', 'Press Save layout.'] },
    { title: 'Watch a set of ports', steps: ['In Edit layout, add a Results query widget and press its Settings.', 'Enter the ports (e.g. `22,3389`) and, if you like, a subnet; press Apply, then Save layout.'] },
    { title: 'Share a dashboard with your team', steps: ['Open your dashboard and press Rename or share.', 'Tick Share with everyone and press Save. It appears under Shared with everyone for others.'] },
  ],
  gotchas: [
    'Nothing is kept until Save layout: leaving the page or pressing Cancel drops the changes.',
    'A widget you lack the scope for shows which scope it needs; on a shared dashboard, others may see more or less than you do.',
    'Only a dashboard’s owner changes it, even an administrator cannot; copy a dashboard to change your own version.',
    'A saved results query is checked when the layout is saved: a malformed port list or subnet is refused, naming the widget (`widgets[2].options.ports`).',
    'On a narrow screen the widgets stack in one column; the saved layout is not changed.',
  ],
  api: ['GET /api/v1/dashboards', 'GET /api/v1/dashboards/{id}', 'POST /api/v1/dashboards', 'PUT /api/v1/dashboards/{id}', 'DELETE /api/v1/dashboards/{id}'],
});
