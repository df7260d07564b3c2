package results

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/netset"
)

// The latest state (latest_ports, sql/results/00101): each port open now, per scanner, with
// when it was first seen open in its current stretch, last seen, and by which scan. Ingest keeps
// it: every stored batch marks its ports seen (in the batch's own transaction), and every job
// that completes with its coverage removes the ports it probed and did not find open. So "what
// is open now" reads one small table, whatever the size of history.

// keepLatest marks a batch's observations seen, in the transaction that stores them.
func keepLatest(ctx context.Context, tx pgx.Tx, b Batch) error {
	if len(b.Observations) == 0 {
		return nil
	}
	sql, args := keepLatestSQL(b)
	_, err := tx.Exec(ctx, sql, args...)
	return err
}

// keepLatestSQL is keepLatest's statement: one row per port of the batch, with its first and
// last time in it, sent in key order, so two batches updating the same ports lock them in the
// same order. A port whose row the batch would not change (a late batch, older than what the
// row holds) is locked but not updated: no new row version, no dead one for vacuum.
func keepLatestSQL(b Batch) (string, []any) {
	type seen struct{ first, last time.Time }
	byKey := make(map[Key]seen, len(b.Observations))
	for _, o := range b.Observations {
		k := Key{Address: o.Address.Unmap(), Port: o.Port}
		s, ok := byKey[k]
		if !ok {
			s = seen{o.ObservedAt, o.ObservedAt}
		}
		if o.ObservedAt.Before(s.first) {
			s.first = o.ObservedAt
		}
		if o.ObservedAt.After(s.last) {
			s.last = o.ObservedAt
		}
		byKey[k] = s
	}
	keys := make([]Key, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int { return compareKeys(a, b, true, true) })
	firsts, lasts := make([]time.Time, len(keys)), make([]time.Time, len(keys))
	ports, addrs := make([]int32, len(keys)), make([]netip.Addr, len(keys))
	for i, k := range keys {
		s := byKey[k]
		firsts[i], lasts[i], ports[i], addrs[i] = s.first, s.last, int32(k.Port), k.Address
	}
	return `INSERT INTO latest_ports AS l (first_seen, last_seen, port, scanner_id, last_scan, address)
		SELECT t.f, t.l, t.p, $1, $2, t.a FROM unnest($3::timestamptz[], $4::timestamptz[], $5::int[], $6::inet[]) WITH ORDINALITY t(f, l, p, a, n) ORDER BY t.n
		ON CONFLICT (scanner_id, address, port) DO UPDATE SET
			first_seen = least(l.first_seen, excluded.first_seen),
			last_scan  = CASE WHEN excluded.last_seen >= l.last_seen THEN excluded.last_scan ELSE l.last_scan END,
			last_seen  = greatest(l.last_seen, excluded.last_seen)
		WHERE excluded.first_seen < l.first_seen OR excluded.last_seen > l.last_seen
		   OR (excluded.last_seen = l.last_seen AND excluded.last_scan <> l.last_scan)`,
		[]any{b.ScannerID, b.ScanID, firsts, lasts, ports, addrs}
}

// closeLatest removes, for a completed job's scanner, the ports inside the job's coverage that
// its scan did not see open: they closed. A port the scan saw (in this job or another of the
// same scan) has last_scan = the scan and stays.
func closeLatest(ctx context.Context, tx pgx.Tx, c Coverage) error {
	ranges := c.Targets.Intervals()
	ports := c.Ports.Ranges()
	if len(ranges) == 0 || len(ports) == 0 {
		return nil
	}
	firsts, lasts := make([]netip.Addr, len(ranges)), make([]netip.Addr, len(ranges))
	for i, r := range ranges {
		firsts[i], lasts[i] = r.First, r.Last
	}
	pFirst, pLast := make([]int32, len(ports)), make([]int32, len(ports))
	for i, r := range ports {
		pFirst[i], pLast[i] = int32(r.First), int32(r.Last)
	}
	_, err := tx.Exec(ctx, `DELETE FROM latest_ports l USING unnest($3::inet[], $4::inet[]) t(f, z)
		WHERE l.scanner_id = $1 AND l.address BETWEEN t.f AND t.z AND l.last_scan <> $2
		  AND EXISTS (SELECT 1 FROM unnest($5::int[], $6::int[]) p(a, b) WHERE l.port BETWEEN p.a AND p.b)`,
		c.ScannerID, c.ScanID, firsts, lasts, pFirst, pLast)
	return err
}

// LatestPort is a port open now as one scanner sees it.
type LatestPort struct {
	Address   string    `json:"address"`
	Port      int       `json:"port"`
	Service   string    `json:"service"`
	ScannerID string    `json:"scanner_id"`
	FirstSeen time.Time `json:"first_seen" doc:"When it was first seen open, since it last opened."`
	LastSeen  time.Time `json:"last_seen"`
	LastScan  string    `json:"last_scan" doc:"The scan that saw it last."`
}

// LatestQuery filters the current open ports. Every field is optional.
type LatestQuery struct {
	Subnet  netip.Prefix // only addresses inside it
	Scanner string       // only as this scanner (id) sees it
	Limit   int          // 1..10000, default 1000
	Cursor  string       // NextCursor of the previous page
}

type openCursor struct {
	Address string `json:"a"`
	Port    int    `json:"p"`
	Scanner string `json:"s"`
}

// CurrentOpen returns one page of the ports open now, in (address, port, scanner) order, from
// the latest-state table: an index range scan of the subnet, never history.
func CurrentOpen(ctx context.Context, pool app.ResultsDB, q LatestQuery) (app.Page[LatestPort], error) {
	sql, args, limit, err := currentOpenSQL(q)
	if err != nil {
		return app.Page[LatestPort]{}, err
	}
	rows, err := pool.Query(ctx, sql, args...)
	out, err := app.Collect(rows, err, func(row pgx.Row) (LatestPort, error) {
		var o LatestPort
		var addr netip.Addr
		var port int32
		err := row.Scan(&addr, &port, &o.ScannerID, &o.FirstSeen, &o.LastSeen, &o.LastScan)
		o.Address, o.Port, o.Service = addr.Unmap().String(), int(port), ServiceName(uint16(port))
		o.FirstSeen, o.LastSeen = o.FirstSeen.UTC(), o.LastSeen.UTC()
		return o, err
	})
	if err != nil {
		return app.Page[LatestPort]{}, err
	}
	return app.PageByKey(limit, out, func(last LatestPort) any {
		return openCursor{Address: last.Address, Port: last.Port, Scanner: last.ScannerID}
	}), nil
}

func currentOpenSQL(q LatestQuery) (string, []any, int, error) {
	limit := 1000
	if q.Limit != 0 {
		if q.Limit < 1 || q.Limit > 10_000 {
			return "", nil, 0, app.Invalid("limit", "invalid_limit", "limit must be a whole number from 1 to 10000")
		}
		limit = q.Limit
	}
	w := &app.Where{}
	if q.Subnet.IsValid() {
		// A range rather than <<=: the same index scan, and plain for the planner.
		set, err := netset.FromPrefix(q.Subnet.Masked())
		if err != nil {
			return "", nil, 0, app.Invalid("subnet", "invalid_cidr", err.Error())
		}
		r := set.Intervals()[0]
		w.Add("address BETWEEN " + w.Arg(r.First) + "::inet AND " + w.Arg(r.Last) + "::inet")
	}
	if q.Scanner != "" {
		if _, err := uuid.Parse(q.Scanner); err != nil {
			return "", nil, 0, app.Invalid("scanner", "invalid_id", "scanner must be an id")
		}
		w.Add("scanner_id = " + w.Arg(q.Scanner) + "::uuid")
	}
	if q.Cursor != "" {
		var c openCursor
		err := app.DecodeCursor(q.Cursor, &c)
		addr, aerr := netip.ParseAddr(c.Address)
		if _, serr := uuid.Parse(c.Scanner); err != nil || aerr != nil || serr != nil {
			return "", nil, 0, app.Invalid("cursor", "invalid_cursor", "cursor is not one this server handed out; start again without it")
		}
		w.Add("(address, port, scanner_id) > (" + w.Arg(addr) + "::inet, " + w.Arg(int32(c.Port)) + ", " + w.Arg(c.Scanner) + "::uuid)")
	}
	return `SELECT address, port, scanner_id::text, first_seen, last_seen, last_scan::text FROM latest_ports WHERE ` + w.SQL() +
		` ORDER BY address, port, scanner_id LIMIT ` + w.Arg(limit+1), w.Args(), limit, nil
}
