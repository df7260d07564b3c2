package results

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// sampleSize bounds the changes an outcome keeps; the diff has them all.
const sampleSize = 20

// ComputeOutcome works out a scan's outcome: its open ports, and the diff against prev (nil
// for a template's first scan). It makes the scan's key set, which counts its open ports and
// serves every later diff of it, and prev's when prev has none (made before key sets were
// kept, or stale).
func ComputeOutcome(ctx context.Context, pool app.ResultsDB, s Scan, prev *Scan) (Outcome, error) {
	o := Outcome{ScanID: s.ID, TemplateID: s.TemplateID, FinishedAt: s.FinishedAt, Sample: Sample{Opened: []Change{}, Closed: []Change{}}}
	var err error
	if o.OpenPorts, err = MakeKeySet(ctx, pool, s.ID); err != nil || prev == nil {
		return o, err
	}
	if _, err := MakeKeySet(ctx, pool, prev.ID); err != nil {
		return o, err
	}
	d, err := DiffScans(ctx, pool, prev.ID, s.ID, prev.Vantage && s.Vantage)
	if err != nil {
		return o, err
	}
	opened, closed := len(d.Opened), len(d.Closed)
	o.PreviousScanID, o.Opened, o.Closed = &prev.ID, &opened, &closed
	o.Sample.Opened = d.Opened[:min(sampleSize, len(d.Opened))]
	o.Sample.Closed = d.Closed[:min(sampleSize, len(d.Closed))]
	return o, nil
}

// SaveOutcome stores an outcome; working one out again replaces it.
func SaveOutcome(ctx context.Context, pool app.ResultsDB, o Outcome, now time.Time) error {
	sample, err := json.Marshal(o.Sample)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `INSERT INTO scan_outcomes (scan_id, template_id, previous_scan_id, finished_at, open_ports, opened, closed, sample, computed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (scan_id) DO UPDATE SET template_id = EXCLUDED.template_id, previous_scan_id = EXCLUDED.previous_scan_id,
			finished_at = EXCLUDED.finished_at, open_ports = EXCLUDED.open_ports, opened = EXCLUDED.opened, closed = EXCLUDED.closed,
			sample = EXCLUDED.sample, computed_at = EXCLUDED.computed_at`,
		o.ScanID, o.TemplateID, o.PreviousScanID, o.FinishedAt, o.OpenPorts, o.Opened, o.Closed, sample, now)
	return err
}

// Outcomes returns the stored outcomes of the given scans, by scan id, in one query; a scan
// still running, or completed a moment ago, has none yet.
func Outcomes(ctx context.Context, pool app.ResultsDB, ids []string) (map[string]Outcome, error) {
	out := map[string]Outcome{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := pool.Query(ctx, `SELECT scan_id::text, template_id::text, previous_scan_id::text, finished_at, open_ports, opened, closed, sample
		FROM scan_outcomes WHERE scan_id = ANY ($1::uuid[])`, ids)
	list, err := app.Collect(rows, err, scanOutcome)
	for _, o := range list {
		out[o.ScanID] = o
	}
	return out, err
}

func scanOutcome(row pgx.Row) (Outcome, error) {
	var o Outcome
	var sample []byte
	var opened, closed *int32
	if err := row.Scan(&o.ScanID, &o.TemplateID, &o.PreviousScanID, &o.FinishedAt, &o.OpenPorts, &opened, &closed, &sample); err != nil {
		return o, err
	}
	o.FinishedAt = o.FinishedAt.UTC()
	if opened != nil {
		v := int(*opened)
		o.Opened = &v
	}
	if closed != nil {
		v := int(*closed)
		o.Closed = &v
	}
	if err := json.Unmarshal(sample, &o.Sample); err != nil {
		return o, err
	}
	if o.Sample.Opened == nil {
		o.Sample.Opened = []Change{}
	}
	if o.Sample.Closed == nil {
		o.Sample.Closed = []Change{}
	}
	return o, nil
}

// ChangesPerDay sums what opened and closed per day, from the day of from to the day of to,
// every day listed (zero when nothing changed), oldest first.
func ChangesPerDay(ctx context.Context, pool app.ResultsDB, from, to time.Time) ([]DayChanges, error) {
	first := from.UTC().Truncate(24 * time.Hour)
	rows, err := pool.Query(ctx, `SELECT date_trunc('day', finished_at AT TIME ZONE 'UTC'), sum(opened), sum(closed), count(*)
		FROM scan_outcomes WHERE finished_at >= $1 AND finished_at < $2 AND previous_scan_id IS NOT NULL GROUP BY 1`, first, to)
	if err != nil {
		return nil, err
	}
	byDay := map[time.Time]DayChanges{}
	var day time.Time
	var d DayChanges
	var opened, closed int64
	_, err = pgx.ForEachRow(rows, []any{&day, &opened, &closed, &d.Scans}, func() error {
		d.Day, d.Opened, d.Closed = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC), int(opened), int(closed)
		byDay[d.Day] = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []DayChanges
	for t := first; t.Before(to); t = t.Add(24 * time.Hour) {
		if d, ok := byDay[t]; ok {
			out = append(out, d)
		} else {
			out = append(out, DayChanges{Day: t})
		}
	}
	return out, nil
}

// ChangesSince sums what opened and closed in the scans that completed since t.
func ChangesSince(ctx context.Context, pool app.ResultsDB, t time.Time) (opened, closed int, err error) {
	err = pool.QueryRow(ctx, `SELECT COALESCE(sum(opened), 0), COALESCE(sum(closed), 0) FROM scan_outcomes WHERE finished_at >= $1`, t).Scan(&opened, &closed)
	return opened, closed, err
}

// recordOutcome answers a scan.completed event: the outcome is worked out in the background,
// once, by whichever manager process claims the event (and again if that one fails), and the
// template's open now kept.
func (h *handlers) recordOutcome(ctx context.Context, e app.Event) error {
	s, err := scanSource().Scan(ctx, h.m.ConfigDB, e.Subject)
	if err != nil {
		var ae *app.Error
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return nil // a scan that is no more has no outcome to keep
		}
		return err
	}
	var prev *Scan
	p, err := scanSource().Previous(ctx, h.m.ConfigDB, s)
	var ae *app.Error
	switch {
	case err == nil:
		prev = &p
	case errors.As(err, &ae) && ae.Status == http.StatusConflict:
		// the template's first scan: nothing to compare with
	default:
		return err
	}
	o, err := ComputeOutcome(ctx, h.m.ResultsDB, s, prev)
	if err != nil {
		return err
	}
	if err := SaveOutcome(ctx, h.m.ResultsDB, o, h.m.Clock.Now()); err != nil {
		return err
	}
	// Open now follows the template's latest completed scan: this one, unless a later one
	// completed first (its own event keeps it, or has).
	latest, err := scanSource().Latest(ctx, h.m.ConfigDB, s.TemplateID)
	if err != nil {
		return err
	}
	_, err = keptScans(ctx, h.m.ResultsDB, latest)
	return err
}
