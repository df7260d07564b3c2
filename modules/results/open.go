package results

import (
	"context"
	"net/netip"
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
	FirstSeen time.Time `json:"first_seen" doc:"The first time this scanner saw it open."`
	LastSeen  time.Time `json:"last_seen" doc:"The last time this scanner saw it open."`
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

// openWhere turns a scope into conditions on observations o, restricted to the given scans.
func openWhere(s OpenScope, scans []string) (*app.Where, error) {
	q := s.Query
	w := &app.Where{}
	if scans != nil {
		w.Add("o.scan_id = ANY (" + w.Arg(scans) + "::uuid[])")
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

// openSQL lists the ports open in the given scans, one row per scanner, address and port,
// with when that scanner first and last saw each open.
//
// It reads the observations history: "open now" is what the latest completed scan of each
// template found. Callers see only OpenNow and EachOpen, so a table of the latest state can
// replace this query without any of them changing.
func openSQL(w *app.Where) string {
	return `SELECT c.scanner_id::text, c.address, c.port, c.last_seen, c.scan_id::text,
		(SELECT min(h.observed_at) FROM observations h WHERE h.address = c.address AND h.port = c.port AND h.scanner_id = c.scanner_id) AS first_seen
		FROM (SELECT o.scanner_id, o.address, o.port, max(o.observed_at) AS last_seen, (array_agg(o.scan_id ORDER BY o.observed_at DESC))[1] AS scan_id
		      FROM observations o WHERE ` + w.SQL() + ` GROUP BY o.scanner_id, o.address, o.port) c`
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
// (one template's when the scope names one).
func currentScans(ctx context.Context, config app.Querier, s OpenScope) ([]string, error) {
	refs, err := scanSource().Latest(ctx, config, s.Query.Template)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(refs))
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	return ids, nil
}

// OpenNow returns one page of the ports open now in a scope.
func OpenNow(ctx context.Context, config app.Querier, pool app.ResultsDB, s OpenScope, l app.List) (app.Page[OpenPort], error) {
	scans, err := currentScans(ctx, config, s)
	if err != nil {
		return app.Page[OpenPort]{}, err
	}
	w, err := openWhere(s, scans)
	if err != nil {
		return app.Page[OpenPort]{}, err
	}
	order := openOrder(l.Sort, l.Direction())
	rows, err := pool.Query(ctx, openSQL(w)+` ORDER BY `+order+` LIMIT `+w.Arg(l.Limit+1)+` OFFSET `+w.Arg(l.Offset), w.Args()...)
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
	w, err := openWhere(s, scans)
	if err != nil {
		return err
	}
	rows, err := pool.Query(ctx, openSQL(w)+` ORDER BY `+openOrder("address", "ASC"), w.Args()...)
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
	col := map[string]string{"address": "c.address", "port": "c.port", "scanner_id": "c.scanner_id", "first_seen": "first_seen", "last_seen": "c.last_seen"}[field]
	if col == "" {
		col = "c.address"
	}
	return col + " " + dir + ", c.address, c.port, c.scanner_id"
}
