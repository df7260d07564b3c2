package results

import (
	"context"
	"net/netip"
	"strconv"
	"time"

	"github.com/google/uuid"

	"mipo/app"
)

// ChangesQuery picks the changes of a time window, across every template or one.
type ChangesQuery struct {
	From     string `query:"from" json:"from,omitempty" doc:"Start of the window (RFC 3339); default seven days before to."`
	To       string `query:"to" json:"to,omitempty" doc:"End of the window (RFC 3339, exclusive); default now."`
	Template string `query:"template" json:"template,omitempty" doc:"Only this template's scans (id)."`
	Kind     string `query:"kind" json:"kind,omitempty" doc:"opened or closed; default both."`
	Port     string `query:"port" json:"port,omitempty" doc:"Only this port."`
	Subnet   string `query:"subnet" json:"subnet,omitempty" doc:"Only addresses in this CIDR (a bare address means that one address)."`
	TZ       string `query:"tz" json:"tz,omitempty" doc:"IANA time zone the per-day counts are cut in (Europe/Berlin); default UTC."`
	Format   string `query:"format" json:"format,omitempty" doc:"Export only: csv (default) or json."`
}

// ChangeEvent is one port that opened or closed when a scan finished, against the template's
// previous completed scan, counting only what both covered (as the diff does).
type ChangeEvent struct {
	At             time.Time `json:"at" doc:"When the scan that saw the change finished."`
	Kind           string    `json:"kind" doc:"opened or closed."`
	TemplateID     string    `json:"template_id"`
	TemplateName   string    `json:"template_name" doc:"The template's name when the scan was launched."`
	ScanID         string    `json:"scan_id"`
	PreviousScanID string    `json:"previous_scan_id" doc:"The scan it was compared with."`
	ScannerID      string    `json:"scanner_id,omitempty" doc:"For vantage scans, the scanner whose view changed."`
	Address        string    `json:"address"`
	Port           int       `json:"port"`
	Service        string    `json:"service"`
}

// DayCount is how many ports opened and closed on one day of the window.
type DayCount struct {
	Day    string `json:"day" doc:"The date (YYYY-MM-DD) in the requested time zone."`
	Opened int    `json:"opened"`
	Closed int    `json:"closed"`
}

// Changes is every change of a time window, oldest first, and its counts per day.
type Changes struct {
	From      time.Time     `json:"from"`
	To        time.Time     `json:"to"`
	Items     []ChangeEvent `json:"items"`
	Days      []DayCount    `json:"days"`
	Scans     int           `json:"scans" doc:"How many finished scans the window held."`
	Truncated bool          `json:"truncated" doc:"The window held more scans than one answer compares (MaxChangeScans): narrow it."`
}

// MaxChangeScans bounds the scans one answer compares: each is a diff in the database.
const MaxChangeScans = 500

// MaxChangeWindow bounds a window's length, so the per-day counts stay a chart.
const MaxChangeWindow = 366 * 24 * time.Hour

// changesFilter is a checked ChangesQuery.
type changesFilter struct {
	from, to time.Time
	template string
	kind     string
	port     int
	subnet   netip.Prefix
	loc      *time.Location
}

// parseChanges checks a ChangesQuery, naming the field of the first mistake.
func parseChanges(q ChangesQuery, now time.Time) (changesFilter, error) {
	f := changesFilter{to: now, template: q.Template, kind: q.Kind, loc: time.UTC}
	var err error
	if q.To != "" {
		if f.to, err = app.ParseTime("to", q.To); err != nil {
			return f, err
		}
	}
	f.from = f.to.Add(-7 * 24 * time.Hour)
	if q.From != "" {
		if f.from, err = app.ParseTime("from", q.From); err != nil {
			return f, err
		}
	}
	switch {
	case !f.from.Before(f.to):
		return f, app.Invalid("from", "invalid_window", "from must be before to")
	case f.to.Sub(f.from) > MaxChangeWindow:
		return f, app.Invalid("from", "window_too_long", "a window may span at most 366 days")
	}
	if f.kind != "" && f.kind != "opened" && f.kind != "closed" {
		return f, app.Invalid("kind", "invalid_kind", "kind must be opened or closed")
	}
	if q.Port != "" {
		if f.port, err = strconv.Atoi(q.Port); err != nil || f.port < 1 || f.port > 65535 {
			return f, app.Invalid("port", "invalid_port", "port must be a number from 1 to 65535")
		}
	}
	if q.Subnet != "" {
		if f.subnet, err = netip.ParsePrefix(q.Subnet); err != nil {
			a, aerr := netip.ParseAddr(q.Subnet)
			if aerr != nil {
				return f, app.Invalid("subnet", "invalid_cidr", "subnet must be a CIDR such as 10.0.0.0/24 or an address")
			}
			f.subnet = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		f.subnet = f.subnet.Masked()
	}
	if q.TZ != "" {
		if f.loc, err = time.LoadLocation(q.TZ); err != nil {
			return f, app.Invalid("tz", "invalid_time_zone", "tz must be an IANA time zone such as Europe/Berlin")
		}
	}
	if _, err := uuid.Parse(f.template); f.template != "" && err != nil {
		return f, app.Invalid("template", "invalid_id", "template must be a template id")
	}
	return f, nil
}

func (f changesFilter) keep(e ChangeEvent) bool {
	if f.kind != "" && e.Kind != f.kind || f.port != 0 && e.Port != f.port {
		return false
	}
	if f.subnet.IsValid() {
		a, err := netip.ParseAddr(e.Address)
		return err == nil && f.subnet.Contains(a.Unmap())
	}
	return true
}

// ChangesBetween compares every scan that finished in the window with its template's previous
// completed scan. A template's first scan has nothing to compare with and adds no changes.
func ChangesBetween(ctx context.Context, config app.Querier, pool app.ResultsDB, f changesFilter) (*Changes, error) {
	scans, err := scanSource().Finished(ctx, config, f.from, f.to, f.template, MaxChangeScans+1)
	if err != nil {
		return nil, err
	}
	out := &Changes{From: f.from, To: f.to, Items: []ChangeEvent{}}
	if len(scans) > MaxChangeScans {
		scans, out.Truncated = scans[:MaxChangeScans], true
	}
	out.Scans = len(scans)
	for _, s := range scans {
		if s.Previous.ID == "" {
			continue
		}
		d, err := DiffScans(ctx, pool, s.Previous.ID, s.ID, s.Vantage && s.Previous.Vantage)
		if err != nil {
			return nil, err
		}
		for _, kind := range []string{"opened", "closed"} {
			list := d.Opened
			if kind == "closed" {
				list = d.Closed
			}
			for _, c := range list {
				e := ChangeEvent{At: s.FinishedAt.UTC(), Kind: kind, TemplateID: s.TemplateID, TemplateName: s.TemplateName, ScanID: s.ID,
					PreviousScanID: s.Previous.ID, ScannerID: c.ScannerID, Address: c.Address, Port: c.Port, Service: c.Service}
				if f.keep(e) {
					out.Items = append(out.Items, e)
				}
			}
		}
	}
	out.Days = perDay(out.Items, f.from, f.to, f.loc)
	return out, nil
}

// perDay counts changes per calendar day of loc, every day of the window listed (a quiet day
// is a zero bar, not a gap).
func perDay(items []ChangeEvent, from, to time.Time, loc *time.Location) []DayCount {
	idx := map[string]int{}
	var days []DayCount
	for d := from.In(loc); d.Before(to); {
		day := d.Format(time.DateOnly)
		idx[day] = len(days)
		days = append(days, DayCount{Day: day})
		y, m, dd := d.Date()
		d = time.Date(y, m, dd+1, 0, 0, 0, 0, loc)
	}
	for _, e := range items {
		i, ok := idx[e.At.In(loc).Format(time.DateOnly)]
		if !ok {
			continue
		}
		if e.Kind == "opened" {
			days[i].Opened++
		} else {
			days[i].Closed++
		}
	}
	if days == nil {
		days = []DayCount{}
	}
	return days
}

// ChangeColumns are the CSV export's columns, in the JSON field names of ChangeEvent.
var ChangeColumns = []string{"at", "kind", "template_id", "template_name", "scan_id", "previous_scan_id", "scanner_id", "address", "port", "service"}

// Row is the event as one CSV row of ChangeColumns.
func (e ChangeEvent) Row() []string {
	return []string{e.At.Format(time.RFC3339Nano), e.Kind, e.TemplateID, e.TemplateName, e.ScanID, e.PreviousScanID, e.ScannerID, e.Address, strconv.Itoa(e.Port), e.Service}
}
