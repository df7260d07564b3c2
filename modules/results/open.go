package results

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
)

// OpenPort is one port open now, as one scanner sees it.
type OpenPort struct {
	Address   string    `json:"address"`
	Port      int       `json:"port"`
	Service   string    `json:"service"`
	ScannerID string    `json:"scanner_id"`
	FirstSeen time.Time `json:"first_seen" doc:"Open since: when this scanner first saw it open in the run of scans that has found it open to this day (a scan of its template that did not find it ends a run)."`
	LastSeen  time.Time `json:"last_seen" doc:"When the latest scan that found it open saw it."`
	ScanID    string    `json:"scan_id" doc:"The latest scan that found it open."`
}

// OpenQuery picks a scope of what is open now. Every filter is optional.
type OpenQuery struct {
	app.ListQuery
	Subnet   string `query:"subnet" json:"subnet,omitempty" doc:"Only addresses inside this CIDR; a bare address means that one address (/32 or /128)."`
	Group    string `query:"group" json:"group,omitempty" doc:"Only addresses inside this subnet group (id), nested groups included."`
	Template string `query:"template" json:"template,omitempty" doc:"Only what this template's latest completed scan found (id)."`
	Ports    string `query:"ports" json:"ports,omitempty" doc:"Only these ports: a port list such as 22,80,8000-8100."`
	Scanner  string `query:"scanner" json:"scanner,omitempty" doc:"Only what this scanner (id) sees."`
	Format   string `query:"format" json:"format,omitempty" doc:"Export format: csv or json (export only)."`
}

// OpenSorts are the fields open ports sort by; the first is the default.
var OpenSorts = []string{"address", "port", "scanner_id", "first_seen", "last_seen"}

// OpenScope is a validated OpenQuery, with its subnet group already resolved into CIDRs.
type OpenScope struct {
	Query OpenQuery
	// GroupCIDRs are the subnet group's CIDRs, when Query.Group is set.
	GroupCIDRs []string
}

// ParseSubnet reads a subnet filter: a CIDR, or a bare address meaning that one address.
func ParseSubnet(field, s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netset.ParseCIDR(s)
	if err != nil {
		return p, app.Invalid(field, "invalid_cidr", err.Error())
	}
	return p, nil
}

// portsWhere adds a port list condition on col.
func portsWhere(w *app.Where, field, text, col string) error {
	ps, err := portset.Parse(text)
	if err != nil {
		return app.Invalid(field, "invalid_ports", err.Error())
	}
	var or []string
	for _, r := range ps.Ranges() {
		or = append(or, col+" BETWEEN "+w.Arg(int32(r.First))+" AND "+w.Arg(int32(r.Last)))
	}
	w.Add("(" + strings.Join(or, " OR ") + ")")
	return nil
}

// CheckOpenQuery validates a query's own fields (the subnet group is checked where it is
// resolved).
func CheckOpenQuery(q OpenQuery) error {
	_, err := openWhere(OpenScope{Query: q}, nil)
	return err
}

// openWhere turns a scope into conditions on open_now o, restricted to the given templates'
// rows (unless templates is nil: a check of the query alone).
func openWhere(s OpenScope, templates []string) (*app.Where, error) {
	q := s.Query
	w := &app.Where{}
	if templates != nil {
		w.Add("o.template_id = ANY (" + w.Arg(templates) + "::uuid[])")
	}
	if q.Subnet != "" {
		p, err := ParseSubnet("subnet", q.Subnet)
		if err != nil {
			return nil, err
		}
		w.Add("o.address <<= " + w.Arg(p.String()) + "::inet")
	}
	if q.Group != "" {
		if _, err := uuid.Parse(q.Group); err != nil {
			return nil, app.Invalid("group", "invalid_id", "group must be an id")
		}
		w.Add("o.address <<= ANY (" + w.Arg(s.GroupCIDRs) + "::inet[])")
	}
	if q.Ports != "" {
		if err := portsWhere(w, "ports", q.Ports, "o.port"); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct{ field, value, col string }{{"scanner", q.Scanner, "o.scanner_id"}, {"template", q.Template, ""}} {
		if f.value == "" {
			continue
		}
		if _, err := uuid.Parse(f.value); err != nil {
			return nil, app.Invalid(f.field, "invalid_id", f.field+" must be an id")
		}
		if f.col != "" {
			w.Add(f.col + " = " + w.Arg(f.value) + "::uuid")
		}
	}
	return w, nil
}

// openSQL lists the ports open now in the templates' rows of open_now, one row per scanner,
// address and port, whichever templates found it: first seen the earliest of their rows,
// the scan the latest of the kept scans (they come latest first), last seen when that scan
// saw it (one probe of its index inside the kept scans' weeks, made only for the rows a page
// returns unless it sorts by last seen).
func openSQL(w *app.Where, kept []keptScan) string {
	templates, scans := make([]string, len(kept)), make([]string, len(kept))
	var times []*time.Time
	for i, k := range kept {
		templates[i], scans[i], times = k.Template, k.Scan, append(times, k.First, k.Last)
	}
	scan := "(" + w.Arg(scans) + "::uuid[])[c.t]"
	// The kept scans' weeks, as plain parameters: the other partitions are left out when the
	// query starts.
	lo, hi := span(times)
	return `SELECT c.scanner_id::text, c.address, c.port,
		COALESCE((SELECT max(h.observed_at) FROM observations h WHERE h.scan_id = ` + scan + ` AND h.scanner_id = c.scanner_id
			AND h.address = c.address AND h.port = c.port AND h.observed_at BETWEEN ` + w.Arg(lo) + ` AND ` + w.Arg(hi) + `), c.first_seen) AS last_seen,
		` + scan + `::text, c.first_seen
		FROM (SELECT o.address, o.port, o.scanner_id, min(o.first_seen) AS first_seen, min(array_position(` + w.Arg(templates) + `::uuid[], o.template_id)) AS t
		      FROM open_now o WHERE ` + w.SQL() + ` GROUP BY o.address, o.port, o.scanner_id) c`
}

// span is the earliest and latest of some times (nil when there are none).
func span(ts []*time.Time) (lo, hi *time.Time) {
	for _, t := range ts {
		if t != nil && (lo == nil || t.Before(*lo)) {
			lo = t
		}
		if t != nil && (hi == nil || t.After(*hi)) {
			hi = t
		}
	}
	return lo, hi
}

func scanOpen(row pgx.Row) (OpenPort, error) {
	var o OpenPort
	var addr netip.Addr
	var port int32
	if err := row.Scan(&o.ScannerID, &addr, &port, &o.LastSeen, &o.ScanID, &o.FirstSeen); err != nil {
		return o, err
	}
	o.Address, o.Port, o.Service = addr.Unmap().String(), int(port), ServiceName(uint16(port))
	o.FirstSeen, o.LastSeen = o.FirstSeen.UTC(), o.LastSeen.UTC()
	return o, nil
}

// currentScans are the scans whose findings are "now": each template's latest completed scan
// (one template's when the scope names one), the latest finished first.
func currentScans(ctx context.Context, config app.Querier, s OpenScope) ([]ScanRef, error) {
	refs, err := scanSource().Latest(ctx, config, s.Query.Template)
	slices.SortStableFunc(refs, func(a, b ScanRef) int { return b.At.Compare(a.At) })
	return refs, err
}

// openQuery is the query of what is open now in a scope, given each template's latest
// completed scan, and its arguments so far; the templates' rows are kept first where needed.
func openQuery(ctx context.Context, pool app.ResultsDB, s OpenScope, scans []ScanRef) (string, *app.Where, error) {
	if err := CheckOpenQuery(s.Query); err != nil {
		return "", nil, err
	}
	kept, err := keptScans(ctx, pool, scans)
	if err != nil {
		return "", nil, err
	}
	templates := make([]string, len(kept))
	for i, k := range kept {
		templates[i] = k.Template
	}
	w, err := openWhere(s, templates)
	if err != nil {
		return "", nil, err
	}
	return openSQL(w, kept), w, nil
}

// OpenNow returns one page of the ports open now in a scope.
func OpenNow(ctx context.Context, config app.Querier, pool app.ResultsDB, s OpenScope, l app.List) (app.Page[OpenPort], error) {
	scans, err := currentScans(ctx, config, s)
	if err != nil {
		return app.Page[OpenPort]{}, err
	}
	return OpenNowOf(ctx, pool, s, scans, l)
}

// OpenNowOf is OpenNow given each template's latest completed scan (the latest finished first).
func OpenNowOf(ctx context.Context, pool app.ResultsDB, s OpenScope, scans []ScanRef, l app.List) (app.Page[OpenPort], error) {
	sql, w, err := openQuery(ctx, pool, s, scans)
	if err != nil {
		return app.Page[OpenPort]{}, err
	}
	order := openOrder(l.Sort, l.Direction())
	rows, err := pool.Query(ctx, sql+` ORDER BY `+order+` LIMIT `+w.Arg(l.Limit+1)+` OFFSET `+w.Arg(l.Offset), w.Args()...)
	list, err := app.Collect(rows, err, scanOpen)
	if err != nil {
		return app.Page[OpenPort]{}, err
	}
	return app.Paginate(l, list), nil
}

// EachOpen streams every port open now in a scope, by address, port and scanner, for exports.
func EachOpen(ctx context.Context, config app.Querier, pool app.ResultsDB, s OpenScope, fn func(OpenPort) error) error {
	scans, err := currentScans(ctx, config, s)
	if err != nil {
		return err
	}
	sql, w, err := openQuery(ctx, pool, s, scans)
	if err != nil {
		return err
	}
	rows, err := pool.Query(ctx, sql+` ORDER BY `+openOrder("address", "ASC"), w.Args()...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOpen(rows)
		if err != nil {
			return err
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// openOrder is the ORDER BY of a whitelisted sort field, ties broken by address, port, scanner.
func openOrder(field, dir string) string {
	col := map[string]string{"address": "c.address", "port": "c.port", "scanner_id": "c.scanner_id", "first_seen": "first_seen", "last_seen": "last_seen"}[field]
	if col == "" {
		col = "c.address"
	}
	return col + " " + dir + ", c.address, c.port, c.scanner_id"
}
