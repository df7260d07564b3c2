package results

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/portset"
)

// Observed is one stored observation, as history shows it.
type Observed struct {
	ObservedAt time.Time `json:"observed_at"`
	Address    string    `json:"address"`
	Port       int       `json:"port"`
	Service    string    `json:"service"`
	ScanID     string    `json:"scan_id"`
	JobID      string    `json:"job_id"`
	ScannerID  string    `json:"scanner_id"`
	RTTMicros  *int      `json:"rtt_us"`
}

// historyCursor is the last row of a page: pages are cut by keyset, newest first, so paging
// stays fast over years of observations.
type historyCursor struct {
	At      time.Time `json:"t"`
	Address string    `json:"a"`
	Port    int       `json:"p"`
	Job     string    `json:"j"`
}

// historyWhere validates a query and turns it into SQL conditions.
func historyWhere(q HistoryQuery) (*app.Where, error) {
	w := &app.Where{}
	if q.Subnet != "" {
		p, err := ParseSubnet("subnet", q.Subnet)
		if err != nil {
			return nil, err
		}
		w.Add("address <<= " + w.Arg(p.String()) + "::inet")
	}
	if q.Ports != "" {
		ps, err := portset.Parse(q.Ports)
		if err != nil {
			return nil, app.Invalid("ports", "invalid_ports", err.Error())
		}
		var or []string
		for _, r := range ps.Ranges() {
			or = append(or, "port BETWEEN "+w.Arg(int32(r.First))+" AND "+w.Arg(int32(r.Last)))
		}
		w.Add("(" + strings.Join(or, " OR ") + ")")
	}
	for _, f := range []struct{ field, value, col string }{{"scanner", q.Scanner, "scanner_id"}, {"scan", q.Scan, "scan_id"}} {
		if f.value == "" {
			continue
		}
		if _, err := uuid.Parse(f.value); err != nil {
			return nil, app.Invalid(f.field, "invalid_id", f.field+" must be an id")
		}
		w.Add(f.col + " = " + w.Arg(f.value))
	}
	for _, t := range []struct{ field, value, op string }{{"from", q.From, ">="}, {"to", q.To, "<"}} {
		if t.value == "" {
			continue
		}
		at, err := app.ParseTime(t.field, t.value)
		if err != nil {
			return nil, err
		}
		w.Add("observed_at " + t.op + " " + w.Arg(at))
	}
	return w, nil
}

const observedColumns = `observed_at, address, port, scan_id, job_id, scanner_id, rtt_us`

func scanObserved(row pgx.Row) (Observed, error) {
	var o Observed
	var addr netip.Addr
	var port int32
	var rtt *int32
	if err := row.Scan(&o.ObservedAt, &addr, &port, &o.ScanID, &o.JobID, &o.ScannerID, &rtt); err != nil {
		return o, err
	}
	o.ObservedAt = o.ObservedAt.UTC()
	o.Address, o.Port, o.Service = addr.Unmap().String(), int(port), ServiceName(uint16(port))
	if rtt != nil {
		v := int(*rtt)
		o.RTTMicros = &v
	}
	return o, nil
}

// History returns one page of observations, newest first. It reads history a week at a time,
// newest week first, until the page is full: each query names its week, so it touches one
// partition (two at a week's edge) through the time BRIN or the address index, and a page costs
// the weeks it spans, not the whole history. Before the oldest partition, one last query reads
// what only the default partition can hold.
func History(ctx context.Context, pool app.ResultsDB, q HistoryQuery) (app.Page[Observed], error) {
	w, err := historyWhere(q)
	if err != nil {
		return app.Page[Observed]{}, err
	}
	limit := 100
	if q.Limit != 0 {
		if q.Limit < 1 || q.Limit > 1000 {
			return app.Page[Observed]{}, app.Invalid("limit", "invalid_limit", "limit must be a whole number from 1 to 1000")
		}
		limit = q.Limit
	}
	upper := time.Now().Add(PartitionsAhead)
	if q.Cursor != "" {
		var c historyCursor
		err := app.DecodeCursor(q.Cursor, &c)
		addr, aerr := netip.ParseAddr(c.Address)
		if _, jerr := uuid.Parse(c.Job); err != nil || aerr != nil || jerr != nil {
			return app.Page[Observed]{}, app.Invalid("cursor", "invalid_cursor", "cursor is not one this server handed out; start again without it")
		}
		w.Add("(observed_at, address, port, job_id) < (" + w.Arg(c.At) + ", " + w.Arg(addr) + ", " + w.Arg(int32(c.Port)) + ", " + w.Arg(c.Job) + "::uuid)")
		upper = c.At.Add(time.Microsecond)
	}
	if q.To != "" {
		to, _ := app.ParseTime("to", q.To)
		upper = minTime(upper, to)
	}
	var lower time.Time
	if q.From != "" {
		lower, _ = app.ParseTime("from", q.From)
	}
	oldest, err := oldestPartition(ctx, pool)
	if err != nil {
		return app.Page[Observed]{}, err
	}
	var obs []Observed
	for len(obs) <= limit {
		hi := upper
		lo := hi.Add(-7 * 24 * time.Hour)
		last := false
		if oldest.IsZero() {
			lo, last = lower, true // no weekly partitions (a hypertable): one query
		} else if !lo.After(oldest) {
			lo = oldest
		}
		if !lower.IsZero() && !lo.After(lower) {
			lo, last = lower, true
		}
		if !hi.After(lo) && !last {
			// Below the oldest partition: only the default partition can hold rows.
			hi, lo, last = oldest, lower, true
		}
		sql, args := historyWindowSQL(w, lo, hi, limit+1-len(obs))
		rows, err := pool.Query(ctx, sql, args...)
		got, err := app.Collect(rows, err, scanObserved)
		if err != nil {
			return app.Page[Observed]{}, err
		}
		obs = append(obs, got...)
		if last {
			break
		}
		upper = lo
	}
	return app.PageByKey(limit, obs, func(last Observed) any {
		return historyCursor{At: last.ObservedAt, Address: last.Address, Port: last.Port, Job: last.JobID}
	}), nil
}

// historyWindowSQL is the query of one window [lo, hi) of History (lo zero: no lower bound).
func historyWindowSQL(where *app.Where, lo, hi time.Time, limit int) (string, []any) {
	w := &app.Where{}
	*w = *where
	w.Add("observed_at < " + w.Arg(hi))
	if !lo.IsZero() {
		w.Add("observed_at >= " + w.Arg(lo))
	}
	return `SELECT ` + observedColumns + ` FROM observations WHERE ` + w.SQL() +
		` ORDER BY observed_at DESC, address DESC, port DESC, job_id DESC LIMIT ` + w.Arg(limit), w.Args()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// oldestPartition is where the oldest weekly partition begins (zero without partitions, as on
// a TimescaleDB hypertable).
func oldestPartition(ctx context.Context, pool app.ResultsDB) (time.Time, error) {
	parts, err := Partitions(ctx, pool)
	if err != nil || len(parts) == 0 {
		return time.Time{}, err
	}
	return parts[0].From, nil
}

// EachObservation streams every observation matching q, oldest first, for exports: a week at
// a time (first what lies before the oldest partition, then each week), so the sort is of one
// week, the first row leaves at once, and memory stays flat however long the export.
func EachObservation(ctx context.Context, pool app.ResultsDB, q HistoryQuery, fn func(Observed) error) error {
	w, err := historyWhere(q)
	if err != nil {
		return err
	}
	oldest, err := oldestPartition(ctx, pool)
	if err != nil {
		return err
	}
	end := time.Now().Add(PartitionsAhead)
	windows := [][2]time.Time{{{}, oldest}}
	if oldest.IsZero() {
		windows = [][2]time.Time{{{}, end}}
	} else {
		for lo := oldest; lo.Before(end); lo = lo.Add(7 * 24 * time.Hour) {
			windows = append(windows, [2]time.Time{lo, lo.Add(7 * 24 * time.Hour)})
		}
	}
	for _, win := range windows {
		if err := exportWindow(ctx, pool, w, win[0], win[1], fn); err != nil {
			return err
		}
	}
	// Beyond the weeks made ahead: only the default partition.
	return exportWindow(ctx, pool, w, end, time.Time{}, fn)
}

// exportWindowSQL is the query of one window [lo, hi) of an export (a zero bound: none).
func exportWindowSQL(where *app.Where, lo, hi time.Time) (string, []any) {
	w := &app.Where{}
	*w = *where
	if !lo.IsZero() {
		w.Add("observed_at >= " + w.Arg(lo))
	}
	if !hi.IsZero() {
		w.Add("observed_at < " + w.Arg(hi))
	}
	return `SELECT ` + observedColumns + ` FROM observations WHERE ` + w.SQL() + ` ORDER BY observed_at, address, port`, w.Args()
}

func exportWindow(ctx context.Context, pool app.ResultsDB, where *app.Where, lo, hi time.Time, fn func(Observed) error) error {
	sql, args := exportWindowSQL(where, lo, hi)
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanObserved(rows)
		if err != nil {
			return err
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CheckHistoryQuery validates a query without running it.
func CheckHistoryQuery(q HistoryQuery) error {
	_, err := historyWhere(q)
	return err
}
