import { help } from '../../lib/help';

export default help({
  path: '/schedules',
  title: 'Schedules',
  group: 'Scans',
  summary: 'Scans that launch themselves: a template or template group on a cron expression or a preset, in a time zone, with jitter and blackout windows.',
  about: [
    'A schedule launches a template (or every template of a template group) when due. The dispatcher checks schedules every few seconds; a run missed while it was down is launched once when it is back, not once per missed slot.',
    'Timing is a five-field cron expression (minute hour day-of-month month day-of-week) or a preset: hourly, daily (midnight), weekly (Sunday midnight) or monthly (the 1st at midnight), read in the schedule’s time zone.',
    'Jitter delays each start by a random 0 to that many seconds, so scans do not start at predictable times; it must be shorter than the gap between runs.',
    'Blackout windows are daily time ranges, on some or all days of the week, in which no scan starts: a run that would start in one moves to the next run outside it. A window whose end is before its start runs past midnight.',
  ],
  scopes: [
    { scope: 'scans:view', allows: 'see schedules and their next runs' },
    { scope: 'scans:schedule', allows: 'create, change, enable, disable and delete schedules' },
    { scope: 'templates:view', allows: 'pick the template or template group by name' },
  ],
  fields: [
    { name: 'Launches', description: 'The template, or template group, it launches. Fixed once created: make a new schedule to launch something else.' },
    { name: 'When', description: 'The timing in words (“At 02:30, Monday through Friday”), then the preset or cron expression itself, its time zone, jitter and blackout windows.' },
    { name: 'Next run', description: 'When it fires next, jitter and blackouts included, in the schedule’s time zone with its offset from UTC (the exact UTC time on hover).' },
    { name: 'Upcoming', description: 'The cron times after that, before jitter, in the schedule’s time zone too.' },
    { name: 'Last run', description: 'When it last fired; an error says why that run launched nothing (a template without scanners, a scope too large).' },
  ],
  howto: [
    {
      title: 'Scan a template every weekday night',
      steps: ['Press New schedule.', 'Name it, pick the template.', 'Choose Cron and type `30 2 * * 1-5`; set the time zone (for example `Europe/Berlin`).', 'Add jitter (say 1800 seconds) and press Create schedule.'],
    },
    { title: 'Keep scans out of business hours', steps: ['Edit the schedule.', 'Add a blackout: tick Mon–Fri, from 08:00 to 18:00.', 'Save: Next run moves out of the window.'] },
    { title: 'Pause a schedule', steps: ['Press Disable on its row. It keeps its settings; press Enable to resume from the next due time.'] },
  ],
  gotchas: [
    'A schedule’s times (next run, upcoming, last run) are shown in its own time zone, like its cron expression and blackouts, not in your browser’s; hover a time for UTC. Every other page shows your browser’s time zone.',
    'Deleting a schedule keeps the scans it launched.',
    'A jitter as long as the gap between runs is refused (`jitter_too_long`), as are blackouts covering every run (`always_blacked_out`).',
  ],
  api: ['GET /api/v1/schedules', 'POST /api/v1/schedules', 'GET /api/v1/schedules/{id}', 'PATCH /api/v1/schedules/{id}', 'DELETE /api/v1/schedules/{id}'],
});
