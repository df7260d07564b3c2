package scansapi

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	_ "time/tzdata" // time zones work on machines without a zoneinfo database

	"github.com/robfig/cron/v3"

	"mipo/app"
)

// Timing is when a schedule fires: a cron expression or a preset, in a time zone, with a
// jitter window and optional blackout windows.
type Timing struct {
	Cron          string     `json:"cron,omitempty" doc:"A five-field cron expression (minute hour day-of-month month day-of-week), such as '30 2 * * 1-5'. Give this or preset."`
	Preset        string     `json:"preset,omitempty" doc:"hourly, daily, weekly or monthly. Give this or cron."`
	Timezone      string     `json:"timezone" doc:"An IANA time zone such as Europe/Berlin; the cron expression and blackouts are read in it. Default UTC."`
	JitterSeconds int        `json:"jitter_seconds" doc:"Each start is delayed by a random 0 to this many seconds, so scans do not start at predictable times. Must be shorter than the gap between runs."`
	Blackouts     []Blackout `json:"blackouts" doc:"Windows in which no scan starts; a run that would fall in one moves to the next run outside it."`
}

// Blackout is a daily window, on some days of the week, in the schedule's time zone.
type Blackout struct {
	Days  []string `json:"days" doc:"mon, tue, wed, thu, fri, sat, sun; empty means every day."`
	Start string   `json:"start" doc:"HH:MM"`
	End   string   `json:"end" doc:"HH:MM; before start means the window runs past midnight."`
}

var presets = map[string]string{"hourly": "@hourly", "daily": "@daily", "weekly": "@weekly", "monthly": "@monthly"}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// plan is a validated Timing, ready to compute run times.
type plan struct {
	sched     cron.Schedule
	loc       *time.Location
	jitter    time.Duration
	blackouts []window
}

type window struct {
	days       map[time.Weekday]bool // nil: every day
	start, end int                   // minutes after midnight
}

// Compile validates a Timing, with errors naming the field.
func (t Timing) Compile() (*plan, error) {
	p := &plan{loc: time.UTC}
	switch {
	case t.Cron != "" && t.Preset != "":
		return nil, app.Invalid("preset", "cron_or_preset", "give a cron expression or a preset, not both")
	case t.Preset != "":
		spec, ok := presets[t.Preset]
		if !ok {
			return nil, app.Invalid("preset", "invalid_preset", "preset must be hourly, daily, weekly or monthly")
		}
		p.sched, _ = cronParser.Parse(spec)
	case t.Cron != "":
		if strings.Contains(t.Cron, "TZ=") {
			return nil, app.Invalid("cron", "invalid_cron", "give the time zone in timezone, not in the cron expression")
		}
		s, err := cronParser.Parse(t.Cron)
		if err != nil {
			return nil, app.Invalid("cron", "invalid_cron", "not a cron expression: "+err.Error()+" (five fields: minute hour day-of-month month day-of-week)")
		}
		p.sched = s
	default:
		return nil, app.Invalid("cron", "required", "give a cron expression or a preset (hourly, daily, weekly, monthly)")
	}
	if t.Timezone != "" {
		loc, err := time.LoadLocation(t.Timezone)
		if err != nil || t.Timezone == "Local" {
			return nil, app.Invalid("timezone", "invalid_timezone", "not an IANA time zone such as Europe/Berlin or America/New_York")
		}
		p.loc = loc
	}
	if t.JitterSeconds < 0 || t.JitterSeconds > 7*24*3600 {
		return nil, app.Invalid("jitter_seconds", "invalid_jitter", "jitter must be 0 to 604800 seconds")
	}
	p.jitter = time.Duration(t.JitterSeconds) * time.Second
	if err := p.checkJitter(); err != nil {
		return nil, err
	}
	for i, b := range t.Blackouts {
		w, err := b.compile(fmt.Sprintf("blackouts[%d]", i))
		if err != nil {
			return nil, err
		}
		p.blackouts = append(p.blackouts, w)
	}
	return p, nil
}

// checkJitter refuses a jitter window as long as the gap between runs: a run could then start
// after the next one was due.
func (p *plan) checkJitter() error {
	if p.jitter == 0 {
		return nil
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, p.loc)
	gap := time.Duration(1<<63 - 1)
	a := p.sched.Next(from)
	for range 64 { // the shortest gap among the next runs
		b := p.sched.Next(a)
		gap = min(gap, b.Sub(a))
		a = b
	}
	if p.jitter >= gap {
		return app.Invalid("jitter_seconds", "jitter_too_long", fmt.Sprintf("the jitter window (%s) must be shorter than the time between runs (%s)", p.jitter, gap))
	}
	return nil
}

func (b Blackout) compile(field string) (window, error) {
	w := window{}
	for _, d := range b.Days {
		wd, ok := weekdays[strings.ToLower(d)]
		if !ok {
			return w, app.Invalid(field+".days", "invalid_day", "days are mon, tue, wed, thu, fri, sat, sun")
		}
		if w.days == nil {
			w.days = map[time.Weekday]bool{}
		}
		w.days[wd] = true
	}
	var err error
	if w.start, err = clock(b.Start); err != nil {
		return w, app.Invalid(field+".start", "invalid_time", "start must be HH:MM, such as 08:00")
	}
	if w.end, err = clock(b.End); err != nil {
		return w, app.Invalid(field+".end", "invalid_time", "end must be HH:MM, such as 18:30")
	}
	if w.start == w.end {
		return w, app.Invalid(field+".end", "empty_window", "a blackout needs an end different from its start")
	}
	return w, nil
}

func clock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// contains reports whether t (in the schedule's zone) falls in the window. A window that ends
// before it starts runs past midnight and belongs to the day it starts on.
func (w window) contains(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	day := t.Weekday()
	if w.start < w.end {
		return (w.days == nil || w.days[day]) && m >= w.start && m < w.end
	}
	if m >= w.start {
		return w.days == nil || w.days[day]
	}
	yesterday := (day + 6) % 7
	return m < w.end && (w.days == nil || w.days[yesterday])
}

func (p *plan) blackedOut(t time.Time) bool {
	t = t.In(p.loc)
	for _, w := range p.blackouts {
		if w.contains(t) {
			return true
		}
	}
	return false
}

// Next returns the next start after `after`: the next cron time, delayed by a random part of
// the jitter window, skipping runs whose start would fall in a blackout.
func (p *plan) Next(after time.Time, rnd *rand.Rand) (time.Time, error) {
	t := after.In(p.loc)
	for range 10000 {
		t = p.sched.Next(t)
		if t.IsZero() {
			break
		}
		start := t
		if p.jitter > 0 {
			start = t.Add(time.Duration(rnd.Int64N(int64(p.jitter))))
		}
		if !p.blackedOut(start) {
			return start.UTC(), nil
		}
	}
	return time.Time{}, app.Invalid("blackouts", "always_blacked_out", "the blackout windows cover every run of this schedule")
}

// Upcoming lists the next n cron times without jitter (what the UI shows; each real start is
// delayed by up to the jitter window).
func (p *plan) Upcoming(after time.Time, n int) []time.Time {
	var out []time.Time
	t := after.In(p.loc)
	for len(out) < n {
		t = p.sched.Next(t)
		if t.IsZero() {
			break
		}
		if !p.blackedOut(t) {
			out = append(out, t.UTC())
		}
		if len(out) == 0 && t.Sub(after) > 366*24*time.Hour {
			break
		}
	}
	return out
}
