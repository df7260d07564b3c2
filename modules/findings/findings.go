package findings

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
)

// States of a finding.
const (
	StateOpen     = "open"
	StateAccepted = "accepted"
	StateRisk     = "risk"
	StateClosed   = "closed"
)

// Finding is one occurrence of an open port its baseline does not allow.
type Finding struct {
	ID              string     `json:"id"`
	Address         string     `json:"address"`
	Port            int        `json:"port"`
	Occurrence      int        `json:"occurrence" doc:"1 for the first time this address and port was a finding; each return after it closed is the next."`
	State           string     `json:"state" doc:"open, accepted, risk or closed."`
	ScannerID       string     `json:"scanner_id" doc:"The scanner that last saw it open."`
	Baselines       []string   `json:"baselines" doc:"The ids of the baselines that applied when it was last judged, widest first."`
	FirstSeenAt     time.Time  `json:"first_seen_at"`
	LastSeenAt      time.Time  `json:"last_seen_at"`
	FirstScanID     string     `json:"first_scan_id" doc:"The scan that found it."`
	LastScanID      string     `json:"last_scan_id"`
	Severity        *string    `json:"severity" doc:"For a risk: info, warning, minor, major or critical."`
	Assignee        string     `json:"assignee"`
	AcceptReason    string     `json:"accept_reason"`
	AcceptExpiresAt *time.Time `json:"accept_expires_at"`
	AcceptedBy      string     `json:"accepted_by"`
	AcceptedAt      *time.Time `json:"accepted_at"`
	ClosedAt        *time.Time `json:"closed_at"`
	ClosedScanID    *string    `json:"closed_scan_id" doc:"The covering scan that saw the port closed."`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// Event is one line of a finding's history.
type Event struct {
	ID        int64     `json:"id"`
	FindingID string    `json:"finding_id"`
	At        time.Time `json:"at"`
	Action    string    `json:"action" doc:"opened, reopened, closed, accepted, risk, assigned, reopened_by_hand, acceptance_expired."`
	Actor     string    `json:"actor"`
	ScanID    *string   `json:"scan_id"`
	Before    *Finding  `json:"before"`
	After     *Finding  `json:"after"`
}

const findingColumns = `id, host(address), port, occurrence, state, scanner_id, baselines, first_seen_at, last_seen_at, first_scan_id,
	last_scan_id, severity, assignee, accept_reason, accept_expires_at, accepted_by, accepted_at, closed_at, closed_scan_id, updated_at`

func scanFinding(row pgx.Row) (*Finding, error) {
	f := &Finding{}
	err := row.Scan(&f.ID, &f.Address, &f.Port, &f.Occurrence, &f.State, &f.ScannerID, &f.Baselines, &f.FirstSeenAt, &f.LastSeenAt,
		&f.FirstScanID, &f.LastScanID, &f.Severity, &f.Assignee, &f.AcceptReason, &f.AcceptExpiresAt, &f.AcceptedBy, &f.AcceptedAt,
		&f.ClosedAt, &f.ClosedScanID, &f.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound("finding")
	}
	if f.Baselines == nil {
		f.Baselines = []string{}
	}
	return f, err
}

// Query filters findings. Every field is optional.
type Query struct {
	State   string `query:"state" json:"state,omitempty" doc:"open, accepted, risk or closed; a comma list for several; live for all but closed."`
	Subnet  string `query:"subnet" json:"subnet,omitempty" doc:"Only addresses inside this CIDR."`
	Address string `query:"address" json:"address,omitempty" doc:"Only this address."`
	Port    string `query:"port" json:"port,omitempty" doc:"Only these ports, such as 22,8000-8100."`
	Scanner string `query:"scanner" json:"scanner,omitempty" doc:"Only findings last seen by this scanner (id)."`
	Scan    string `query:"scan" json:"scan,omitempty" doc:"Only findings this scan opened or reopened."`
	MinAge  string `query:"min_age" json:"min_age,omitempty" doc:"Only findings first seen at least this long ago, such as 24h or 7d."`
	MaxAge  string `query:"max_age" json:"max_age,omitempty" doc:"Only findings first seen at most this long ago."`
	Limit   int    `query:"limit" json:"limit,omitempty" doc:"Findings per page, 1 to 1000 (default 100)."`
	Cursor  string `query:"cursor" json:"cursor,omitempty" doc:"next_cursor of the previous page."`
}

// parseAge reads 90m, 24h or 7d.
func parseAge(field, v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d >= 0 && d < 100000 {
			return time.Duration(d) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, nil
	}
	return 0, app.Invalid(field, "invalid_age", field+" must be a duration such as 90m, 24h or 7d")
}

// where validates a query and turns it into SQL conditions.
func (q Query) where(now time.Time) (*app.Where, error) {
	w := &app.Where{}
	switch q.State {
	case "":
	case "live":
		w.Add("state <> 'closed'")
	default:
		states := strings.Split(q.State, ",")
		for _, s := range states {
			if s != StateOpen && s != StateAccepted && s != StateRisk && s != StateClosed {
				return nil, app.Invalid("state", "invalid_state", "state must be open, accepted, risk, closed or live")
			}
		}
		w.Add("state = ANY (" + w.Arg(states) + ")")
	}
	if q.Subnet != "" {
		p, err := netset.ParseCIDR(q.Subnet)
		if err != nil {
			return nil, app.Invalid("subnet", "invalid_cidr", err.Error())
		}
		w.Add("address <<= " + w.Arg(p.String()) + "::inet")
	}
	if q.Address != "" {
		a, err := netip.ParseAddr(q.Address)
		if err != nil {
			return nil, app.Invalid("address", "invalid_address", "address must be one IPv4 or IPv6 address")
		}
		w.Add("address = " + w.Arg(a.Unmap().String()) + "::inet")
	}
	if q.Port != "" {
		ps, err := portset.Parse(q.Port)
		if err != nil {
			return nil, app.Invalid("port", "invalid_ports", err.Error())
		}
		var or []string
		for _, r := range ps.Ranges() {
			or = append(or, "port BETWEEN "+w.Arg(int(r.First))+" AND "+w.Arg(int(r.Last)))
		}
		w.Add("(" + strings.Join(or, " OR ") + ")")
	}
	if q.Scanner != "" {
		if _, err := uuid.Parse(q.Scanner); err != nil {
			return nil, app.Invalid("scanner", "invalid_id", "scanner must be an id")
		}
		w.Add("scanner_id = " + w.Arg(q.Scanner))
	}
	if q.Scan != "" {
		if _, err := uuid.Parse(q.Scan); err != nil {
			return nil, app.Invalid("scan", "invalid_id", "scan must be an id")
		}
		w.Add("first_scan_id = " + w.Arg(q.Scan) + "::uuid")
	}
	for _, a := range []struct{ field, v, op string }{{"min_age", q.MinAge, "<="}, {"max_age", q.MaxAge, ">="}} {
		if a.v == "" {
			continue
		}
		d, err := parseAge(a.field, a.v)
		if err != nil {
			return nil, err
		}
		w.Add("first_seen_at " + a.op + " " + w.Arg(now.Add(-d)))
	}
	return w, nil
}

type cursor struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

// List returns one page of findings, most recently seen first.
func List(ctx context.Context, db app.Querier, q Query, now time.Time) (app.Page[*Finding], error) {
	w, err := q.where(now)
	if err != nil {
		return app.Page[*Finding]{}, err
	}
	limit := 100
	if q.Limit != 0 {
		if q.Limit < 1 || q.Limit > 1000 {
			return app.Page[*Finding]{}, app.Invalid("limit", "invalid_limit", "limit must be a whole number from 1 to 1000")
		}
		limit = q.Limit
	}
	if q.Cursor != "" {
		var c cursor
		if err := app.DecodeCursor(q.Cursor, &c); err != nil {
			return app.Page[*Finding]{}, app.Invalid("cursor", "invalid_cursor", "cursor is not one this list gave")
		}
		w.Add("(last_seen_at, id) < (" + w.Arg(c.At) + ", " + w.Arg(c.ID) + "::uuid)")
	}
	rows, err := db.Query(ctx, `SELECT `+findingColumns+` FROM findings WHERE `+w.SQL()+` ORDER BY last_seen_at DESC, id DESC LIMIT `+w.Arg(limit+1), w.Args()...)
	out, err := app.Collect(rows, err, scanFinding)
	if err != nil {
		return app.Page[*Finding]{}, err
	}
	return app.PageByKey(limit, out, func(f *Finding) any { return cursor{f.LastSeenAt, f.ID} }), nil
}

// matching returns the ids of every finding a query selects, locked, for bulk triage.
func matching(ctx context.Context, tx pgx.Tx, q Query, now time.Time) ([]string, error) {
	w, err := q.where(now)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT id FROM findings WHERE `+w.SQL()+` ORDER BY id FOR UPDATE`, w.Args()...)
	return app.Collect(rows, err, func(r pgx.Row) (string, error) { var s string; return s, r.Scan(&s) })
}

func getFinding(ctx context.Context, db app.Querier, id string, lock bool) (*Finding, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, app.NotFound("finding")
	}
	q := `SELECT ` + findingColumns + ` FROM findings WHERE id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	return scanFinding(db.QueryRow(ctx, q, id))
}

// History returns the events of the given findings, oldest first.
func History(ctx context.Context, db app.Querier, ids []string) ([]Event, error) {
	rows, err := db.Query(ctx, `SELECT id, finding_id, at, action, actor, scan_id, before, after FROM finding_events
		WHERE finding_id = ANY($1::uuid[]) ORDER BY id`, ids)
	return app.Collect(rows, err, func(r pgx.Row) (Event, error) {
		var e Event
		err := r.Scan(&e.ID, &e.FindingID, &e.At, &e.Action, &e.Actor, &e.ScanID, &e.Before, &e.After)
		return e, err
	})
}

const insertEvent = `INSERT INTO finding_events (finding_id, at, action, actor, scan_id, before, after) VALUES ($1,$2,$3,$4,$5,$6,$7)`

func addEvent(ctx context.Context, tx pgx.Tx, findingID string, at time.Time, action, actor string, scanID *string, before, after *Finding) error {
	_, err := tx.Exec(ctx, insertEvent, findingID, at, action, actor, scanID, before, after)
	return err
}

// queueEvent is addEvent for many findings at once, sent as one batch.
func queueEvent(b *pgx.Batch, findingID string, at time.Time, action, actor string, scanID *string, before, after *Finding) {
	b.Queue(insertEvent, findingID, at, action, actor, scanID, before, after)
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	return a.Unmap(), err
}
